"""Checkpoints: orbax for arrays, JSON for everything else; never pickle.

A run directory holds::

    config.yaml            the resolved training configuration
    model.json             model name, hyperparameters and data statistics (type map, E0s,
                           scale, shift, avg_num_neighbors): enough to rebuild the model
    checkpoints/last/<epoch>   training state after the last finished epoch (for --resume)
    checkpoints/best/<epoch>   the weights (and EMA) with the lowest validation loss
    metrics.csv, metrics.json, parity_*.png, learning_curve.png
    tensorboard/           TensorBoard event files (the per-epoch metrics; tensorboard=true)
    train.log              the text log: summary, epochs, resumes, final table, why it stopped

Orbax writes each checkpoint into a temporary directory and renames it when complete, so
an interrupted write never replaces a good checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from eqpot import models
from eqpot.atomic_write import atomic_write

MODEL_FILE = "model.json"


def write_model_file(run_dir: Path, record: dict) -> None:
    """``record``: model, model_config, statistics, r_max, dtype, ema (bool)."""
    with atomic_write(run_dir / MODEL_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=1))


def read_model_file(run_dir: Path) -> dict:
    """The run's ``model.json`` record; a clear error when ``run_dir`` is not a run."""
    model_file = Path(run_dir) / MODEL_FILE
    if not model_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not an eqpot run directory (no {MODEL_FILE})")
    return json.loads(model_file.read_text())


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
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False)
    return ocp.CheckpointManager(directory.absolute(), options=options)


def save(
    mgr: ocp.CheckpointManager, step: int, weights: dict, train: dict | None, meta: dict
) -> None:
    """One checkpoint: ``weights`` (params, EMA), ``train`` (optimiser state; None: weights
    only, enough to evaluate but not to resume), ``meta`` (JSON)."""
    items = {"weights": ocp.args.StandardSave(weights), "meta": ocp.args.JsonSave(meta)}
    if train is not None:
        items["train"] = ocp.args.StandardSave(train)
    mgr.save(step, args=ocp.args.Composite(**items), force=True)
    mgr.wait_until_finished()


def restore(mgr: ocp.CheckpointManager, weights: dict, train: dict | None = None):
    """``(weights, train, meta)`` of the latest checkpoint, shaped like the templates given
    (``train`` is None when no template is given: evaluation needs the weights only)."""
    step = mgr.latest_step()
    if step is None:
        raise FileNotFoundError(f"no checkpoint in {mgr.directory}")
    items = {"weights": ocp.args.StandardRestore(weights), "meta": ocp.args.JsonRestore()}
    if train is not None:
        items["train"] = ocp.args.StandardRestore(train)
    out = mgr.restore(step, args=ocp.args.Composite(**items))
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
