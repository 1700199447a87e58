"""How a run ends: ``max_time`` leaves room for the final evaluation, a SIGTERM during that
evaluation keeps what it finished, and the epoch log and the eval outputs say what they
hold (units, whole file names, strict JSON, the input's own info keys)."""

import json
import os
import re
import signal
import threading

import ase.io
import pytest

from eqpot import cli
from eqpot.train import trainer
from eqpot.train.epoch_log import read_rows
from eqpot.train.interrupt import TrainingInterruptedError
from eqpot.train.trainer import fit
from tests.train.common import tiny_config


def _strict(text: str):
    """``json.loads`` that refuses NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_max_time_stops_training_early_enough_to_write_the_final_metrics(tmp_path, data):
    config = tiny_config(tmp_path, data, "timed", ["max_num_epochs=10000", "max_time=15"])
    result = fit(config, log=lambda *a: None)
    assert 1 <= result.epochs < 10000
    log = (tmp_path / "timed" / "train.log").read_text()
    assert f"max_time 15 s: stopping after epoch {result.epochs} (" in log
    assert re.search(r"valid rmse_f [\d.]+ meV/Å \([\d.]+ s\)", log)  # the unit is stated
    metrics = _strict((tmp_path / "timed" / "metrics.json").read_text())
    assert set(metrics) >= {"train", "valid"} and len(metrics) == 3  # and the test file
    assert len(read_rows(tmp_path / "timed" / "metrics.csv")) == result.epochs


def test_sigterm_during_the_final_evaluation_writes_what_is_finished(tmp_path, data, monkeypatch):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")  # else SIGTERM ends the runner
    plotted = []

    def plot_then_terminate(values, title, path):  # the batch system's time limit, here
        plotted.append(title)
        if len(plotted) == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(trainer, "parity_plot", plot_then_terminate)
    config = tiny_config(tmp_path, data, "cut", ["max_num_epochs=2"])
    with pytest.raises(TrainingInterruptedError) as stopped:
        fit(config, log=lambda *a: None)
    assert stopped.value.signum == signal.SIGTERM
    message = str(stopped.value)
    assert "SIGTERM during the final evaluation, after epoch 2 (checkpointed)" in message
    assert "metrics.json holds train; not evaluated: valid, " in message
    assert f"eqpot eval {tmp_path / 'cut'}" in message
    assert list(_strict((tmp_path / "cut" / "metrics.json").read_text())) == ["train"]
    assert len(plotted) == 1
    assert (
        "stopped: FinalEvaluationInterruptedError: SIGTERM during"
        in (tmp_path / "cut" / "train.log").read_text()
    )


def test_eval_keeps_info_keys_whole_names_and_writes_strict_json(quickstart_run, tmp_path, capsys):
    from eqpot.train.config import load_config

    run_dir = quickstart_run.run_dir
    frames = ase.io.read(load_config(run_dir / "config.yaml").test_files[0], ":4")
    for k, atoms in enumerate(frames):
        atoms.info.update(dihedral_angle=15.0 * k, scan_id=f"scan-{k}")
        atoms.info.pop("REF_stress", None)  # no stress labels: the stress errors are undefined
        atoms.calc = None
    source = tmp_path / "a_scan_with_a_long_descriptive_file_name.extxyz"
    ase.io.write(source, frames, format="extxyz")
    out, table = tmp_path / "predicted.extxyz", tmp_path / "eval.json"
    args = ["eval", str(run_dir), str(source), "--output", str(out), "--json", str(table)]
    assert cli.main(args) == 0
    assert str(source) in capsys.readouterr().out  # the whole name, however long
    row = _strict(table.read_text())[str(source)]
    assert row["rmse_stress"] is None and row["mae_stress"] is None
    assert row["rmse_f"] > 0
    predicted = ase.io.read(out, ":")
    assert [a.info["dihedral_angle"] for a in predicted] == [0.0, 15.0, 30.0, 45.0]
    assert [a.info["scan_id"] for a in predicted] == [f"scan-{k}" for k in range(4)]
