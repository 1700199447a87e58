"""Checkpoints written by the trainer: orbax for arrays, JSON for everything else; never
pickle. Reading and checking them is :mod:`eqpot.models.io` (re-exported here).

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

import json
import os
import signal
from pathlib import Path

import orbax.checkpoint as ocp

from eqpot.atomic_write import atomic_write
from eqpot.models.io import (  # noqa: F401  (the run directory's reader, re-exported)
    MANIFEST,
    MODEL_FILE,
    CheckpointError,
    build_from_record,
    checkpoint_dir,
    load_potential,
    manager,
    read_model_file,
    restore,
    restore_potential,
    verify,
    write_manifest,
    write_model_file,
)


def save(
    mgr: ocp.CheckpointManager, step: int, weights: dict, train: dict | None, meta: dict
) -> None:
    """One checkpoint: ``weights`` (params, EMA), ``train`` (optimiser state; None: weights
    only, enough to evaluate but not to resume), ``meta`` (JSON); then its manifest. A step
    already there is the same epoch's state, written before a crash: it is kept."""
    if step in mgr.all_steps():  # orbax lists complete (renamed) steps only
        if not (checkpoint_dir(mgr, step) / MANIFEST).is_file():
            write_manifest(checkpoint_dir(mgr, step))
        return
    fault_point("checkpoint_started")
    items = {"weights": ocp.args.StandardSave(weights), "meta": ocp.args.JsonSave(meta)}
    if train is not None:
        items["train"] = ocp.args.StandardSave(train)
    mgr.save(step, args=ocp.args.Composite(**items), force=True)
    mgr.wait_until_finished()
    fault_point("checkpoint_renamed")
    write_manifest(checkpoint_dir(mgr, step))


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
