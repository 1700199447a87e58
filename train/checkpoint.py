"""Checkpoints: orbax for arrays, JSON for everything else; never pickle.

A run directory holds::

    config.yaml            the resolved training configuration
    model.json             model name, hyperparameters and data statistics (type map, E0s,
                           scale, shift, avg_num_neighbors): enough to rebuild the model
    checkpoints/last/<epoch>   training state after the last finished epoch (for --resume)
    checkpoints/best/<epoch>   the weights (and EMA) with the lowest finite validation loss
    checkpoints/*/<epoch>/eqpot_sha256.json   the SHA-256 of every file of that checkpoint
    metrics.csv, metrics.json, parity_*.png, learning_curve.png
    tensorboard/           TensorBoard event files (the per-epoch metrics; tensorboard=true)
    train.log              the text log: summary, epochs, resumes, final table, why it stopped
    .lock                  held (``fcntl.flock``) by the process training into the directory

The protocol, in the order the trainer writes (every step atomic; each crash point
resumable, as ``tests/train/test_faults.py`` checks by killing a run at each of them):

1. ``metrics.csv`` gains the epoch's row (an atomic rewrite). A crash here leaves a row the
   checkpoint lacks: the resume drops rows after the restored epoch and replays them.
2. On a checkpoint epoch, ``best/<n>`` (the best state since the last checkpoint, if any):
   orbax writes ``best/<n>.orbax-checkpoint-tmp-*`` and renames it into place; then the
   manifest is written (atomically). A crash before the rename leaves a temporary, removed
   when the run resumes (``cleanup_tmp_directories``); a crash between the rename and the
   manifest leaves a complete checkpoint without one, which is loaded, checked and then
   hashed (:func:`restore` adopts it on resume). The replayed epoch finds ``best/<n>`` already there
   and keeps it (:func:`save` is idempotent: the same epoch's state).
3. ``last/<n>``, the same way. Orbax deletes the older step of each only after the new one
   is complete, so a loadable ``last`` exists at every point once the first is written.
4. ``checkpoints/completed.json`` records epoch ``n`` (atomically). Before the first one a
   resume starts the run over (the replay meets its own ``best/<n>``); after it, a run
   without a loadable ``last`` has lost trained work, and ``--resume`` refuses to start
   over (it names ``--from best`` and a new name instead), writing nothing.

A state is "best" only if its validation loss is finite (a non-finite validation stops the
run as diverged, before anything is saved). Loading verifies every file against the
manifest; a missing, truncated or changed file, or weights that are not finite, is a
:class:`CheckpointError` naming the checkpoint and the file: one line, never changed
weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from eqpot import models
from eqpot.atomic_write import atomic_write

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


def build_from_record(record: dict, dtype: str | None = None) -> models.Potential:
    stats = record["statistics"]
    config = dict(record["model_config"])
    if record["model"] in ("mace",):
        config.setdefault("avg_num_neighbors", stats["avg_num_neighbors"])
    model = models.build(
        record["model"],
        num_elements=len(stats["type_map"]),
        r_max=record["r_max"],
        dtype=dtype or record["dtype"],
        atomic_energies=stats["atomic_energies"],
        scale=stats["scale"],
        shift=stats["shift"],
        **config,
    )
    return models.Potential(model, heads=stats.get("heads"))


def manager(directory: Path, keep: int = 1) -> ocp.CheckpointManager:
    """Orbax's manager of one checkpoint directory; it removes the temporaries an
    interrupted write left (protocol step 2)."""
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, enable_async_checkpointing=False, cleanup_tmp_directories=True
    )
    return ocp.CheckpointManager(directory.absolute(), options=options)


def save(
    mgr: ocp.CheckpointManager, step: int, weights: dict, train: dict | None, meta: dict
) -> None:
    """One checkpoint: ``weights`` (params, EMA), ``train`` (optimiser state; None: weights
    only, enough to evaluate but not to resume), ``meta`` (JSON); then its manifest. A step
    already there is the same epoch's state, written before a crash: it is kept."""
    if step in mgr.all_steps():  # orbax lists complete (renamed) steps only
        if not (_step_dir(mgr, step) / MANIFEST).is_file():
            write_manifest(_step_dir(mgr, step))
        return
    fault_point("checkpoint_started")
    items = {"weights": ocp.args.StandardSave(weights), "meta": ocp.args.JsonSave(meta)}
    if train is not None:
        items["train"] = ocp.args.StandardSave(train)
    mgr.save(step, args=ocp.args.Composite(**items), force=True)
    mgr.wait_until_finished()
    fault_point("checkpoint_renamed")
    write_manifest(_step_dir(mgr, step))


def _step_dir(mgr: ocp.CheckpointManager, step: int) -> Path:
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
    step_dir = _step_dir(mgr, step)
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


COMPLETED = "completed.json"  # checkpoints/completed.json: the last epoch fully checkpointed


def mark_completed(run_dir: Path, epoch: int) -> None:
    """Record that epoch ``epoch``'s checkpoint (best, then last) is complete."""
    with atomic_write(Path(run_dir) / "checkpoints" / COMPLETED) as tmp:
        tmp.write_text(json.dumps({"epoch": epoch}))


def completed_epoch(run_dir: Path) -> int | None:
    """The last epoch :func:`mark_completed` recorded (None: no checkpoint completed yet)."""
    path = Path(run_dir) / "checkpoints" / COMPLETED
    return json.loads(path.read_text())["epoch"] if path.is_file() else None


def fault_point(name: str) -> None:
    """Fault injection for the tests: ``EQPOT_FAULT_AT=name:k`` kills this process
    (SIGKILL) the k-th time it passes the point ``name`` (1-based)."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted or wanted.rpartition(":")[0] != name:
        return
    _FAULT_COUNTS[name] = _FAULT_COUNTS.get(name, 0) + 1
    if _FAULT_COUNTS[name] == int(wanted.rpartition(":")[2]):
        os.kill(os.getpid(), signal.SIGKILL)


FAULT_ENV = "EQPOT_FAULT_AT"
_FAULT_COUNTS: dict[str, int] = {}


def _uncommitted(tree):
    """Orbax returns arrays committed to a device; a new run's state is uncommitted. A jitted
    step fed the restored state once and its own (then committed) outputs after would see two
    argument signatures and compile twice (~2 min for the AcAc step on the 2-core CPU), and
    the restored run would miss the persistent compilation cache of the run it continues."""
    return jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), tree)


def load_potential(
    path: str | Path, which: str = "best", dtype: str | None = None, use_ema: bool = True
) -> models.Potential:
    """A :class:`~eqpot.models.Potential` with the parameters of a run's checkpoint.

    ``path`` is a run directory; ``which`` is ``"best"`` or ``"last"``; the EMA parameters
    are used when the run kept them (``use_ema``). ``dtype`` defaults to the run's; float64
    switches on ``jax_enable_x64``, which JAX leaves off.
    """
    return restore_potential(path, which, dtype, use_ema)[0]


def restore_potential(
    path: str | Path, which: str = "best", dtype: str | None = None, use_ema: bool = True
) -> tuple[models.Potential, dict]:
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
