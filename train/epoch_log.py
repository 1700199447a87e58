"""The per-epoch record of a run: ``metrics.csv`` and, optionally, TensorBoard event files.

One row per epoch with the fields of :data:`FIELDS` (validation fields empty on epochs
without validation; the ``replay_`` fields, the foundation head's errors on the held-out
replay structures of a multi-head fine-tuning, empty for other runs). Rows are written
before the epoch's checkpoint, so a run killed between the two has logged an epoch its
checkpoint lacks; on resume after epoch N the rows of later epochs are dropped and
TensorBoard is told to hide its events from step N + 1 on (``purge_step``), so the record
always describes exactly the epochs of the restored state.

TensorBoard scalars (``tensorboard/`` in the run directory; ``tensorboard --logdir RUN``)
use the epoch as the step and group the fields as ``train/…``, ``valid/…``, ``replay/…``,
``time/…``; they need ``tensorboardX`` (a dependency of eqpot; ``tensorboard=false`` skips them).

``train.log`` is the run's text log (:func:`append_text`): what the run printed (model
summary, data, resumes, one line per epoch, the final table) and why it stopped, each line
time-stamped, across every process that worked on the run.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

from eqpot.atomic_write import atomic_write

FIELDS = [
    "epoch",
    "lr",
    "train_loss",
    "valid_loss",
    "valid_rmse_e_per_atom",
    "valid_rmse_f",
    "valid_rmse_stress",
    "replay_rmse_e_per_atom",
    "replay_rmse_f",
    "epoch_time_s",
    "graphs_per_s",
]
TENSORBOARD_TAGS = {
    "lr": "train/lr",
    "train_loss": "train/loss",
    "valid_loss": "valid/loss",
    "valid_rmse_e_per_atom": "valid/rmse_e_per_atom",
    "valid_rmse_f": "valid/rmse_f",
    "valid_rmse_stress": "valid/rmse_stress",
    "replay_rmse_e_per_atom": "replay/rmse_e_per_atom",
    "replay_rmse_f": "replay/rmse_f",
    "epoch_time_s": "time/epoch_s",
    "graphs_per_s": "time/graphs_per_s",
}


TEXT_LOG = "train.log"


def append_text(run_dir: Path, message: str) -> None:
    """Append ``message`` to ``run_dir/train.log``, each line prefixed with the local time."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(Path(run_dir) / TEXT_LOG, "a") as f:
        f.writelines(f"{stamp} {line}\n" for line in message.splitlines() or [""])


def read_rows(path: Path) -> list[dict]:
    """The rows of a ``metrics.csv`` as dicts of strings (empty string: not measured)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_rows(path: Path, rows: list[dict]) -> None:
    """The whole file, atomically: a kill never leaves half a row."""
    with atomic_write(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)


class EpochLog:
    """Appends one row per epoch to ``run_dir/metrics.csv`` (and TensorBoard when asked).

    ``after_epoch`` is the epoch the run starts after (0 for a new run, N when resuming
    after epoch N): later rows a killed run left behind are dropped.
    """

    def __init__(self, run_dir: Path, after_epoch: int = 0, tensorboard: bool = False):
        self.path = Path(run_dir) / "metrics.csv"
        previous = read_rows(self.path) if self.path.exists() else []
        self.rows = [r for r in previous if int(r["epoch"]) <= after_epoch]
        _write_rows(self.path, self.rows)
        self.writer = None
        if tensorboard:
            try:
                from tensorboardX import SummaryWriter
            except ImportError as err:  # a partial install, e.g. --no-deps on a GPU image
                raise ImportError(
                    "tensorboard=true needs the tensorboardX package (pip install tensorboardX);"
                    " or set tensorboard=false"
                ) from err
            purge = after_epoch + 1 if after_epoch else None
            self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=purge)

    def write(self, row: dict) -> None:
        """Add ``row`` (keys from :data:`FIELDS`; ``epoch`` required, others optional); the
        file is rewritten atomically, so it always holds whole rows."""
        self.rows.append({k: "" if row.get(k) is None else row[k] for k in FIELDS})
        _write_rows(self.path, self.rows)
        if self.writer is not None:
            for key, tag in TENSORBOARD_TAGS.items():
                value = row.get(key)
                if value is not None and math.isfinite(value):  # NaN: not measured (no stress)
                    self.writer.add_scalar(tag, float(value), row["epoch"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
