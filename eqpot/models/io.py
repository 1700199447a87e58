"""The run and model directory, read and checked: the one owner of its layout below both
the calculator and the trainer (``train/checkpoint.py`` writes the training state).

A run or exported model directory holds ``model.json`` (model name, hyperparameters and data
statistics: enough to rebuild the model, :func:`build_from_record`) and
``checkpoints/{best,last}/<epoch>`` (orbax: arrays and JSON, never pickle), each with
``eqpot_sha256.json``, the SHA-256 of every file of that checkpoint. :func:`restore` checks
the files against it and the weights for finiteness: a missing, truncated or changed file
is a :class:`CheckpointError` naming it, never different weights. The writing protocol
and what each crash point leaves are in :mod:`eqpot.train.checkpoint`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from eqpot.atomic_write import atomic_write
from eqpot.models import MODELS, Potential, build

MODEL_FILE = "model.json"
MANIFEST = "eqpot_sha256.json"


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded as written: the message names it and what is
    wrong (``eqpot`` prints it as one line and exits with status 2). ``intact``: its files
    matched their manifest, so what failed is the fit to the templates given."""

    def __init__(self, message: str, intact: bool = False):
        super().__init__(message)
        self.intact = intact


def write_model_file(run_dir: Path, record: dict) -> None:
    """``record``: model, model_config, statistics, r_max, dtype, ema (bool)."""
    with atomic_write(run_dir / MODEL_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=1))


def read_model_file(run_dir: Path) -> dict:
    """The run's ``model.json`` record; a clear error when ``run_dir`` is not a run."""
    model_file = Path(run_dir) / MODEL_FILE
    if not model_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not an eqpot run directory (no {MODEL_FILE})")
    try:
        return json.loads(model_file.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{model_file}: not valid JSON ({error})") from None


def build_from_record(record: dict, dtype: str | None = None) -> Potential:
    """The model a ``model.json`` record describes (in ``dtype``, default the record's),
    with the data statistics it was trained with; a model whose hyperparameters include
    ``avg_num_neighbors`` (MACE's message normalisation) takes the data's value unless the
    record sets one."""
    stats = record["statistics"]
    config = dict(record["model_config"])
    if record["model"] in MODELS:
        hyperparameters = {f.name for f in dataclasses.fields(MODELS[record["model"]][1])}
        if "avg_num_neighbors" in hyperparameters:
            config.setdefault("avg_num_neighbors", stats["avg_num_neighbors"])
    model = build(
        record["model"],
        num_elements=len(stats["type_map"]),
        r_max=record["r_max"],
        dtype=dtype or record["dtype"],
        atomic_energies=stats["atomic_energies"],
        scale=stats["scale"],
        shift=stats["shift"],
        **config,
    )
    return Potential(model, heads=stats.get("heads"))


def manager(directory: Path, keep: int = 1) -> ocp.CheckpointManager:
    """Orbax's manager of one checkpoint directory; it removes the temporaries an
    interrupted write left (protocol step 2)."""
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, enable_async_checkpointing=False, cleanup_tmp_directories=True
    )
    return ocp.CheckpointManager(directory.absolute(), options=options)


def checkpoint_dir(mgr: ocp.CheckpointManager, step: int) -> Path:
    """The directory of step ``step`` of ``mgr``'s checkpoints."""
    return Path(str(mgr.directory)) / str(step)


def _file_digests(step_dir: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in step_dir.rglob("*") if p.is_file() and p.name != MANIFEST):
        out[str(path.relative_to(step_dir))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def write_manifest(step_dir: Path) -> None:
    """``eqpot_sha256.json``: the SHA-256 of every file of the checkpoint ``step_dir``."""
    with atomic_write(step_dir / MANIFEST) as tmp:
        tmp.write_text(json.dumps(_file_digests(step_dir), indent=0))


def verify(step_dir: Path) -> bool:
    """Check the files of ``step_dir`` against its manifest (a :class:`CheckpointError`
    naming the first that differs); False when it has no manifest yet."""
    manifest = step_dir / MANIFEST
    if not manifest.is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text())
    except ValueError as error:
        raise CheckpointError(f"checkpoint {step_dir}: {MANIFEST} is damaged ({error})") from None
    present = _file_digests(step_dir)
    for name, digest in recorded.items():
        if name not in present:
            raise CheckpointError(f"checkpoint {step_dir}: file {name} is missing")
        if present[name] != digest:
            raise CheckpointError(
                f"checkpoint {step_dir}: file {name} has changed since it was written "
                "(SHA-256 differs: corrupted or truncated)"
            )
    extra = sorted(set(present) - set(recorded))
    if extra:
        raise CheckpointError(f"checkpoint {step_dir}: unexpected file {extra[0]}")
    return True


def restore(
    mgr: ocp.CheckpointManager, weights: dict, train: dict | None = None, adopt: bool = False
):
    """``(weights, train, meta)`` of the latest checkpoint, shaped like the templates given
    (``train`` is None when no template is given: evaluation needs the weights only),
    verified against its manifest. A checkpoint without one (a crash between orbax's rename
    and the manifest, or one written before manifests existed) is loaded and checked; with
    ``adopt`` (the training process, which owns the directory) its manifest is written."""
    step = mgr.latest_step()
    if step is None:
        raise CheckpointError(f"no checkpoint in {mgr.directory}")
    step_dir = checkpoint_dir(mgr, step)
    verified = verify(step_dir)
    items = {"weights": ocp.args.StandardRestore(weights), "meta": ocp.args.JsonRestore()}
    if train is not None:
        items["train"] = ocp.args.StandardRestore(train)
    try:
        out = mgr.restore(step, args=ocp.args.Composite(**items))
    except Exception as error:  # orbax and tensorstore raise many types for a bad file
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise CheckpointError(
            f"checkpoint {step_dir} cannot be loaded ({type(error).__name__}: {first})",
            intact=verified,
        ) from None
    finite = all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(out["weights"]))
    if not finite:
        raise CheckpointError(f"checkpoint {step_dir} holds non-finite weights")
    if adopt and not verified:
        write_manifest(step_dir)
    return (
        _uncommitted(out["weights"]),
        _uncommitted(out["train"]) if train is not None else None,
        out["meta"],
    )


def _uncommitted(tree):
    """Orbax returns arrays committed to a device; a new run's state is uncommitted. A jitted
    step fed the restored state once and its own (then committed) outputs after would see two
    argument signatures and compile twice (~2 min for the AcAc step on the 2-core CPU), and
    the restored run would miss the persistent compilation cache of the run it continues."""
    return jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), tree)


def load_potential(
    path: str | Path, which: str = "best", dtype: str | None = None, use_ema: bool = True
) -> Potential:
    """A :class:`~eqpot.Potential` with the parameters of a run's checkpoint.

    ``path`` is a run directory; ``which`` is ``"best"`` or ``"last"``; the EMA parameters
    are used when the run kept them (``use_ema``). ``dtype`` defaults to the run's; float64
    switches on ``jax_enable_x64``, which JAX leaves off.
    """
    return restore_potential(path, which, dtype, use_ema)[0]


def restore_potential(
    path: str | Path, which: str = "best", dtype: str | None = None, use_ema: bool = True
) -> tuple[Potential, dict]:
    """:func:`load_potential` and the checkpoint's ``meta`` (its ``epoch`` among others)."""
    run_dir = Path(path)
    record = read_model_file(run_dir)
    if (dtype or record["dtype"]) == "float64":
        jax.config.update("jax_enable_x64", True)
    pot = build_from_record(record, dtype)
    pure = nnx.to_pure_dict(pot.params)
    template = {"params": pure, "ema": pure} if record.get("ema") else {"params": pure}
    weights, _, meta = restore(manager(run_dir / "checkpoints" / which), template)
    chosen = weights["ema"] if use_ema and "ema" in weights else weights["params"]
    state = pot.params
    nnx.replace_by_pure_dict(state, chosen)
    pot.params = state
    return pot, meta
