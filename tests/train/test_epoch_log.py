"""The per-epoch record: CSV rows, TensorBoard scalars, and what a resume keeps of both."""

import struct

import numpy as np
import pytest
from tensorboardX.proto import event_pb2

from eqpot.train.epoch_log import FIELDS, EpochLog, read_rows


def read_events(directory):
    """(step, tag, value) of every scalar, and the purge steps, from TFRecord event files
    (each record: u64 length, u32 crc, payload, u32 crc)."""
    scalars, purges = [], []
    for path in sorted(directory.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            if event.HasField("session_log") and event.session_log.status == 1:  # START
                purges.append(event.step)
            for value in event.summary.value:
                scalars.append((event.step, value.tag, value.simple_value))
    return scalars, purges


def _row(epoch, validated=True):
    row = dict(epoch=epoch, lr=0.01, train_loss=1.0 / epoch, epoch_time_s=2.0, graphs_per_s=5.0)
    if validated:  # no stress labels: the metric is NaN
        row.update(valid_loss=2.0 / epoch, valid_rmse_f=0.1 / epoch, valid_rmse_stress=np.nan)
    return row


def test_rows_and_scalars_match(tmp_path):
    log = EpochLog(tmp_path, tensorboard=True)
    log.write(_row(1, validated=False))
    log.write(_row(2))
    log.close()
    rows = read_rows(tmp_path / "metrics.csv")
    assert list(rows[0]) == FIELDS
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert rows[0]["valid_rmse_f"] == "" and float(rows[1]["valid_rmse_f"]) == 0.05
    assert rows[1]["valid_rmse_stress"] == "nan"  # not measured, not zero
    scalars, _ = read_events(tmp_path / "tensorboard")
    valid_f = [(step, v) for step, tag, v in scalars if tag == "valid/rmse_f"]
    assert valid_f == [(2, pytest.approx(0.05))]
    assert sorted(step for step, tag, _ in scalars if tag == "train/loss") == [1, 2]
    assert not [s for s in scalars if s[1] == "valid/rmse_stress"]  # NaN is left out


def test_resume_drops_the_epochs_the_checkpoint_lacks(tmp_path):
    log = EpochLog(tmp_path, tensorboard=True)
    for epoch in (1, 2, 3):  # epoch 3 logged, then killed before its checkpoint
        log.write(_row(epoch))
    log.close()
    log = EpochLog(tmp_path, after_epoch=2, tensorboard=True)
    log.write(_row(3))
    log.write(_row(4))
    log.close()
    assert [r["epoch"] for r in read_rows(tmp_path / "metrics.csv")] == ["1", "2", "3", "4"]
    assert not list(tmp_path.glob("*.tmp"))
    _, purges = read_events(tmp_path / "tensorboard")
    assert 3 in purges  # TensorBoard hides the killed run's events from epoch 3 on


def test_csv_only_without_tensorboard(tmp_path):
    log = EpochLog(tmp_path, tensorboard=False)
    log.write(_row(1))
    log.close()
    assert not (tmp_path / "tensorboard").exists()
    assert len(read_rows(tmp_path / "metrics.csv")) == 1


def test_a_log_from_before_the_replay_fields_gains_them_on_resume(tmp_path):
    """A run whose metrics.csv has fewer columns (written by an older eqpot) resumes with
    the current ones, its rows kept, the new fields empty."""
    older = [f for f in FIELDS if not f.startswith("replay_")]
    lines = [",".join(older), ",".join("1" if f == "epoch" else "0.5" for f in older)]
    (tmp_path / "metrics.csv").write_text("\n".join(lines) + "\n")
    log = EpochLog(tmp_path, after_epoch=1)
    log.write(dict(_row(2), replay_rmse_f=0.02))
    log.close()
    rows = read_rows(tmp_path / "metrics.csv")
    assert list(rows[0]) == FIELDS
    assert [(r["epoch"], r["train_loss"], r["replay_rmse_f"]) for r in rows] == [
        ("1", "0.5", ""),
        ("2", "0.5", "0.02"),
    ]
