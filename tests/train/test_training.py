"""Training end to end at tiny size: quickstart, exact resume after SIGKILL, NaN guard."""

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from eqpot import cli
from eqpot.train import ConfigError, TrainingDivergedError, load_potential
from eqpot.train.config import load_config
from eqpot.train.epoch_log import read_rows
from eqpot.train.trainer import fit
from tests.train.common import TINY, multihead_overrides, shifted_copy, tiny_config


def test_quickstart_learns_forces(quickstart_run):
    """The README's main job: held-out force RMSE far below the RMS force."""
    result = quickstart_run
    test = next(v for k, v in result.metrics.items() if k not in ("train", "valid"))
    # measured on the 2-core CPU: held-out force RMSE 0.0275-0.029 eV/Å against an RMS
    # force of 0.517 eV/Å (1/19-1/18; 88-146 s); 1/8 leaves room for platform noise and
    # still fails for a model that has not learned the forces
    assert test["rmse_f"] < test["rms_f_ref"] / 8, test
    for name in ("config.yaml", "model.json", "metrics.csv", "metrics.json", "learning_curve.png"):
        assert (result.run_dir / name).is_file()
    assert "epoch 40/40" in (result.run_dir / "train.log").read_text()
    assert list(result.run_dir.glob("parity_*.png"))
    assert list((result.run_dir / "tensorboard").glob("events.out.tfevents.*"))
    # best holds the weights only (it is evaluated, never resumed); last can resume.
    # Written every 10 epochs, best is still the epoch with the lowest validation loss
    rows = read_rows(result.run_dir / "metrics.csv")
    lowest = min(rows, key=lambda r: float(r["valid_loss"]))["epoch"]
    best = result.run_dir / "checkpoints" / "best"
    assert [p.name for p in best.iterdir() if p.name.isdigit()] == [lowest]
    for which, items in (("best", {"weights", "meta"}), ("last", {"weights", "meta", "train"})):
        (step,) = [p for p in (result.run_dir / "checkpoints" / which).iterdir() if p.is_dir()]
        assert {p.name for p in step.iterdir() if p.is_dir()} == items, which
    # the checkpoint reloads without the trainer
    pot = load_potential(result.run_dir, "best")
    assert pot.num_parameters > 0


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, data):
    # checkpoints every second epoch: the best weights found between two checkpoints are
    # written with the next one, and the run is killed after the first
    every_second = ["max_num_epochs=6", "checkpoint_interval=2"]
    reference = fit(tiny_config(tmp_path, data, "straight", every_second), log=lambda *a: None)
    train, test = data
    args = [
        f"train_file={train}",
        f"test_files=[{test}]",
        f"run_dir={tmp_path}",
        "name=killed",
        *TINY,
        *every_second,
    ]
    from eqpot.train.quickstart import RECIPE

    proc = subprocess.Popen(
        [sys.executable, "-m", "eqpot.cli", "train", str(RECIPE), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = tmp_path / "killed" / "checkpoints" / "last"
    deadline = time.time() + 600
    while time.time() < deadline:  # kill once the first epoch's checkpoint exists
        if last.exists() and any(p.name.isdigit() for p in last.iterdir()):
            break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    steps = [int(p.name) for p in last.iterdir() if p.name.isdigit()]
    assert steps and max(steps) < 6, "the run finished before it could be killed"
    resumed_run = subprocess.run(  # a fresh process, as after a real crash
        [
            sys.executable,
            "-m",
            "eqpot.cli",
            "train",
            "--resume",
            str(tmp_path / "killed"),
            "progress=false",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "JAX_LOG_COMPILES": "1"},
    )
    assert resumed_run.returncode == 0, resumed_run.stderr[-2000:]
    assert "resuming" in resumed_run.stdout
    text_log = (tmp_path / "killed" / "train.log").read_text()
    assert "resuming" in text_log and "epoch 6/6" in text_log
    # the restored state has the signature of a new run's: one compilation per batch shape
    steps = re.findall(
        r"Compiling jit\(_step\) with global shapes and types (.*?)\. Argument", resumed_run.stderr
    )
    assert steps and len(steps) == len(set(steps)), "the resumed step compiled twice per shape"
    resumed = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    for split, values in reference.metrics.items():
        for key, value in values.items():
            if isinstance(value, float) and not math.isnan(value):
                assert resumed[split][key] == pytest.approx(value, rel=1e-10, abs=1e-14), key
    # the per-epoch record lists each epoch once, with the uninterrupted run's values
    straight_rows = read_rows(tmp_path / "straight" / "metrics.csv")
    killed_rows = read_rows(tmp_path / "killed" / "metrics.csv")
    assert [r["epoch"] for r in killed_rows] == [r["epoch"] for r in straight_rows]
    for a, b in zip(killed_rows, straight_rows, strict=True):
        assert float(a["valid_rmse_f"]) == pytest.approx(float(b["valid_rmse_f"]), rel=1e-10)


def test_sigterm_stops_after_the_epoch_and_checkpoints_it(tmp_path, data):
    """A batch system's time limit (SIGTERM) or Ctrl-C between checkpoints loses nothing:
    the run checkpoints the epoch it finishes, says how to continue, and resumes there."""
    from eqpot.train.quickstart import RECIPE

    train, test = data
    rare = ["max_num_epochs=100", "checkpoint_interval=1000"]  # no checkpoint but the last
    overrides = [f"train_file={train}", f"test_files=[{test}]", f"run_dir={tmp_path}"]
    command = [sys.executable, "-m", "eqpot.cli", "train", str(RECIPE), *overrides]
    with open(tmp_path / "stderr.txt", "w") as err:  # a file: a full pipe would block it
        proc = subprocess.Popen(
            [*command, "name=term", *TINY, *rare], stdout=subprocess.DEVNULL, stderr=err
        )
    csv = tmp_path / "term" / "metrics.csv"
    deadline = time.time() + 600
    while time.time() < deadline and (not csv.exists() or len(read_rows(csv)) < 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=300)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    epochs = len(read_rows(csv))
    assert 2 <= epochs < 100
    assert f"SIGTERM after epoch {epochs}, which is checkpointed" in stderr
    assert f"--resume {tmp_path / 'term'}" in stderr
    last = tmp_path / "term" / "checkpoints" / "last"
    assert [p.name for p in last.iterdir() if p.name.isdigit()] == [str(epochs)]
    best = tmp_path / "term" / "checkpoints" / "best"
    assert len([p for p in best.iterdir() if p.name.isdigit()]) == 1  # written with last
    assert "stopped: TrainingInterruptedError" in (tmp_path / "term" / "train.log").read_text()
    assert not (tmp_path / "term" / "metrics.json").exists()  # no final evaluation
    config = tiny_config(tmp_path, data, "term", [*rare[1:], f"max_num_epochs={epochs + 1}"])
    assert fit(config, resume=True, log=lambda *a: None).epochs == epochs + 1


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, data):
    config = tiny_config(tmp_path, data, "nan", ["max_num_epochs=2"])
    fit(config, log=lambda *a: None)
    last = tmp_path / "nan" / "checkpoints" / "last"
    before = sorted(p.name for p in last.iterdir())
    config = tiny_config(tmp_path, data, "nan", ["max_num_epochs=4", "lr=1e300"])
    with pytest.raises(TrainingDivergedError, match="last good checkpoint"):
        fit(config, resume=True, log=lambda *a: None)
    assert "stopped: TrainingDivergedError" in (tmp_path / "nan" / "train.log").read_text()
    assert sorted(p.name for p in last.iterdir()) == before
    pot = load_potential(tmp_path / "nan", "last")
    leaves = [np.asarray(x) for x in __import__("jax").tree_util.tree_leaves(pot.params)]
    assert all(np.all(np.isfinite(x)) for x in leaves)


def test_resume_that_changes_the_optimiser_state_names_the_key_and_keeps_the_run(tmp_path, data):
    """An override on resume that the saved optimiser state cannot take (AMSGrad's extra
    moment) is an error naming the key, and writes nothing: the run resumes as before."""
    fit(tiny_config(tmp_path, data, "keep", ["max_num_epochs=1"]), log=lambda *a: None)
    run = tmp_path / "keep"
    written = {f: (run / f).read_bytes() for f in ("config.yaml", "model.json")}
    changed = tiny_config(tmp_path, data, "keep", ["max_num_epochs=2", "amsgrad=false"])
    with pytest.raises(ConfigError, match=r"amsgrad: True -> False.*cannot change on resume"):
        fit(changed, resume=True, log=lambda *a: None)
    assert {f: (run / f).read_bytes() for f in written} == written
    same = tiny_config(tmp_path, data, "keep", ["max_num_epochs=2"])
    assert fit(same, resume=True, log=lambda *a: None).epochs == 2


def test_stage_two_switches_rate_and_weights_and_restarts_the_best(tmp_path, data):
    """From start_stage_two on: the constant stage_two_lr, and a best checkpoint chosen
    among stage-two epochs only (their losses use other weights than stage one's)."""
    stages = ["stage_two=true", "start_stage_two=2", "lr=0.004", "stage_two_lr=0.001"]
    fit(tiny_config(tmp_path, data, "two", stages), log=lambda *a: None)
    rows = read_rows(tmp_path / "two" / "metrics.csv")
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.004, 0.004, 0.001, 0.001])
    stage_one, stage_two = [float(r["valid_loss"]) for r in rows[:2]], rows[2:]
    assert min(float(r["valid_loss"]) for r in stage_two) > max(stage_one)  # lambda_E = 1000
    best = [int(p.name) for p in (tmp_path / "two" / "checkpoints" / "best").iterdir()]
    assert max(best) in (3, 4)


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert cli.main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["eval", str(tmp_path), "x.xyz"]) == 2
    assert "not an eqpot run directory" in capsys.readouterr().err
    assert cli.main(["train", "--resume", str(tmp_path / "gone")]) == 2
    assert "gone: not an eqpot run directory (no config.yaml)" in capsys.readouterr().err


def test_run_directory_is_not_overwritten(tmp_path, data):
    config = tiny_config(tmp_path, data, "once", ["max_num_epochs=1"])
    fit(config, log=lambda *a: None)
    with pytest.raises(FileExistsError, match="--resume"):
        fit(config, log=lambda *a: None)
    assert Path(tmp_path / "once" / "metrics.json").is_file()


def test_a_start_that_trained_nothing_may_be_repeated_under_its_name(tmp_path, data):
    """A run that failed before its first epoch (here: a weight_decay_on pattern matching
    no parameter) leaves its log, and the corrected command may reuse the name."""
    bad = tiny_config(tmp_path, data, "retry", ["weight_decay_on=[nothing/*]"])
    with pytest.raises(ConfigError, match="'nothing/\\*' matches no parameter"):
        fit(bad, log=lambda *a: None)
    still_bad = tiny_config(tmp_path, data, "retry", ["weight_decay_on=[layers/*/linear/*]"])
    with pytest.raises(ConfigError, match="'layers/\\*/linear/\\*' matches no parameter"):
        fit(still_bad, log=lambda *a: None)  # not FileExistsError: nothing was trained
    log = (tmp_path / "retry" / "train.log").read_text()
    assert log.count("stopped: ConfigError") == 2


def test_finished_quickstart_run_is_reused_only_when_current(quickstart_run, tmp_path):
    import shutil

    from eqpot.train.quickstart import finished_run

    assert finished_run(tmp_path) is None  # nothing there
    copy = tmp_path / "runs" / "quickstart"
    shutil.copytree(quickstart_run.run_dir, copy)
    found = finished_run(tmp_path)
    assert found is not None and found.run_dir == copy and found.epochs == quickstart_run.epochs
    assert found.metrics == json.loads((copy / "metrics.json").read_text())
    config = copy / "config.yaml"
    config.write_text(config.read_text().replace("lr: 0.01", "lr: 0.02"))
    assert finished_run(tmp_path) is None  # trained with another recipe


def test_eval_reproduces_the_runs_test_errors_by_config_type(quickstart_run, tmp_path, capsys):
    run_dir = quickstart_run.run_dir
    test_file = load_config(run_dir / "config.yaml").test_files[0]
    out = tmp_path / "eval.json"
    args = ["eval", str(run_dir), test_file, "--by-config-type", "--json", str(out)]
    assert cli.main([*args, "--plots", str(tmp_path)]) == 0
    rows = json.loads(out.read_text())
    assert "E meV" in capsys.readouterr().out
    # the whole file: the numbers the run's own final evaluation wrote
    trained = next(v for k, v in quickstart_run.metrics.items() if k not in ("train", "valid"))
    for key in ("rmse_e_per_atom", "rmse_f", "rmse_stress"):
        assert rows[test_file][key] == pytest.approx(trained[key], rel=1e-6), key
    parts = {k: v for k, v in rows.items() if k.startswith(f"{test_file} [")}
    assert len(parts) > 1  # the EMT data has bulk, vacancy, surface, strained, MD structures
    assert sum(v["num_structures"] for v in parts.values()) == rows[test_file]["num_structures"]
    total_sq = sum(v["rmse_f"] ** 2 * v["num_force_components"] for v in parts.values())
    assert np.sqrt(total_sq / rows[test_file]["num_force_components"]) == pytest.approx(
        rows[test_file]["rmse_f"], rel=1e-9
    )
    plots = sorted(p.name for p in tmp_path.glob("parity_*.png"))
    assert len(plots) == len(rows) and all(" " not in p and "[" not in p for p in plots)


def test_eval_writes_each_structures_predictions(quickstart_run, tmp_path):
    import ase.io

    from eqpot.calculator import EqpotCalculator
    from eqpot.train.evaluate import parity_file_name

    run_dir = quickstart_run.run_dir
    test_file = load_config(run_dir / "config.yaml").test_files[0]
    out, table = tmp_path / "predictions.extxyz", tmp_path / "eval.json"
    args = ["eval", str(run_dir), test_file, "--output", str(out), "--json", str(table)]
    plots = tmp_path / "new" / "plots"
    # a fresh process, as from the shell: the float64 run must switch on x64 by itself
    command = [sys.executable, "-m", "eqpot.cli", *args, "--plots", str(plots)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"written to {out}" in done.stdout
    assert (plots / parity_file_name(test_file)).is_file()
    frames = ase.io.read(out, ":")
    row = json.loads(table.read_text())[test_file]
    assert len(frames) == row["num_structures"]
    # the file's forces give the table's force RMSE (extended XYZ keeps 8 decimals) ...
    diff = np.concatenate([f.arrays["eqpot_forces"] - f.arrays["REF_forces"] for f in frames])
    assert np.sqrt(np.mean(diff**2)) == pytest.approx(row["rmse_f"], rel=1e-6)
    # ... and each structure's predictions are what the ASE calculator gives for it
    calc = EqpotCalculator.from_checkpoint(run_dir, "best")
    for frame in frames[:3]:
        atoms = frame.copy()
        atoms.calc = calc
        assert atoms.get_potential_energy() == pytest.approx(frame.info["eqpot_energy"], abs=1e-7)
        np.testing.assert_allclose(atoms.get_forces(), frame.arrays["eqpot_forces"], atol=1e-7)
        np.testing.assert_allclose(atoms.get_stress(), frame.info["eqpot_stress"], atol=1e-7)


def test_fine_tuning_starts_from_the_foundation_models_weights(tmp_path, data):
    import ase
    import ase.io

    from eqpot import datasets
    from eqpot.train.config import ConfigError
    from eqpot.train.data import (
        BaseModel,
        fine_tuned_e0s,
        graphs_from_structures,
        statistics_from_record,
    )
    from eqpot.train.evaluate import predict_structures

    base = fit(tiny_config(tmp_path, data, "base", ["max_num_epochs=2"]), log=lambda *a: None)
    foundation = ["lr=0", "scheduler=constant", f"foundation_model={base.run_dir}"]
    frozen = [*foundation, "E0s=foundation"]
    # fewer training structures: statistics fitted to them would differ from the foundation's
    config = tiny_config(tmp_path, data, "tuned", ["max_num_epochs=1", "max_train=5", *frozen])
    tuned = fit(config, log=lambda *a: None)
    # with a zero learning rate the fine-tuned model is the foundation's best (EMA) model;
    # a fresh initialisation would be far off
    for split, values in base.metrics.items():
        if split == "train":  # another training set
            continue
        for key in ("rmse_e_per_atom", "rmse_f"):
            assert tuned.metrics[split][key] == pytest.approx(values[key], rel=1e-9), (split, key)
    tuned_record = json.loads((tuned.run_dir / "model.json").read_text())
    assert (
        tuned_record["statistics"]
        == json.loads((base.run_dir / "model.json").read_text())["statistics"]
    )
    other = tiny_config(tmp_path, data, "other", [*frozen, "model_config.num_channels=8"])
    with pytest.raises(ConfigError, match=r"another model; model_config.num_channels: 8 here, 4"):
        fit(other, log=lambda *a: None)
    with pytest.raises(ConfigError, match=r"knows the atomic numbers \[29\].*also has \[1\]"):
        statistics_from_record(config, BaseModel("here", tuned_record), [ase.Atoms("H")])
    # E0s=estimated absorbs another reference calculation's per-atom offset exactly: the
    # frozen model fine-tuned on shifted energies has the E0 shifted by the offset and
    # energy errors far below it (the foundation's E0s would be off by all of it)
    offset, frames = 5.0, ase.io.read(data[0], ":")  # eV per atom
    for atoms in frames:
        atoms.info["REF_energy"] += offset * len(atoms)
    ase.io.write(tmp_path / "shifted.extxyz", frames, format="extxyz")
    estimated = [*foundation, "E0s=estimated", f"train_file={tmp_path / 'shifted.extxyz'}"]
    config = tiny_config(tmp_path, data, "shifted", ["max_num_epochs=1", *estimated])
    shifted = fit(config, log=lambda *a: None)
    (e0,) = json.loads((shifted.run_dir / "model.json").read_text())["statistics"][
        "atomic_energies"
    ]
    train, _ = datasets.split(datasets.load(data[0]), config.valid_fraction, config.seed)
    unshifted = fine_tuned_e0s(
        config,
        BaseModel("here", json.loads((base.run_dir / "model.json").read_text()), base.run_dir),
        train,
        {},
    )
    assert e0 == pytest.approx(unshifted[0] + offset, abs=1e-9)
    assert shifted.metrics["valid"]["rmse_e_per_atom"] < offset / 20, shifted.metrics["valid"]
    # ... fitted to the energies minus the foundation's interaction energies: the fine-tuned
    # model's training residuals satisfy the normal equation (fitting the energies alone, as
    # E0s=average does, leaves the interaction energies' count-weighted sum in it)
    shifted_train, _ = datasets.split(frames, config.valid_fraction, config.seed)
    predicted = predict_structures(
        load_potential(shifted.run_dir, "best"),
        graphs_from_structures(shifted_train, config.r_max, [29]),
        batch_size=8,
    )
    pairs = zip(shifted_train, predicted, strict=True)
    residuals = [a.info["REF_energy"] - p.energy for a, p in pairs]
    counts = [len(a) for a in shifted_train]
    assert abs(np.dot(counts, residuals)) < 1e-9 * np.dot(counts, np.abs(residuals))
    # a fine-tuned run resumes from its own model record: its foundation may have moved
    base.run_dir.rename(tmp_path / "moved")
    longer = tiny_config(tmp_path, data, "tuned", ["max_num_epochs=2", "max_train=5", *frozen])
    assert fit(longer, resume=True, log=lambda *a: None).epochs == 2


def test_fine_tuning_with_frozen_layers_keeps_them_at_the_foundations_weights(tmp_path, data):
    """``freeze`` with ``foundation_model``: after training, the frozen parameters are the
    foundation's (its best EMA weights) bit for bit, and every other parameter has moved."""
    import jax

    from eqpot.train.optim import parameter_path

    base = fit(tiny_config(tmp_path, data, "base", ["max_num_epochs=1"]), log=lambda *a: None)
    tuned_config = [
        "max_num_epochs=1",
        f"foundation_model={base.run_dir}",
        "E0s=foundation",
        "freeze=[embedding/*, layers/0/*]",
    ]
    tuned = fit(tiny_config(tmp_path, data, "tuned", tuned_config), log=lambda *a: None)
    start = load_potential(base.run_dir, "best").params
    trained = load_potential(tuned.run_dir, "last", use_ema=False).params
    before = dict(jax.tree_util.tree_flatten_with_path(start)[0])
    for path, value in jax.tree_util.tree_flatten_with_path(trained)[0]:
        unchanged = bool(np.array_equal(np.asarray(value), np.asarray(before[path])))
        frozen = parameter_path(path).startswith(("embedding/", "layers/0/"))
        assert unchanged == frozen, parameter_path(path)


def test_multihead_finetuning_keeps_the_foundation_head_and_fits_the_new_one(tmp_path, data):
    """``multihead_finetuning``: a two-head model whose foundation head (trained on replay
    structures of the foundation's data) predicts as the foundation did, and whose
    fine-tuned head fits another reference calculation; it resumes without the foundation."""
    import ase.io

    from eqpot import datasets
    from eqpot.calculator import EqpotCalculator
    from eqpot.train.data import graphs_from_structures
    from eqpot.train.evaluate import evaluate, evaluate_run

    base = fit(tiny_config(tmp_path, data, "base", ["max_num_epochs=1"]), log=lambda *a: None)
    offset = 5.0  # eV per atom: another DFT setting
    shifted = shifted_copy(data[0], tmp_path / "shifted.extxyz", offset)
    frames = ase.io.read(shifted, ":")
    multihead = multihead_overrides(base.run_dir, shifted)
    # with a zero learning rate the foundation head is the foundation model
    frozen = tiny_config(tmp_path, data, "mh", [*multihead, "lr=0", "scheduler=constant"])
    tuned = fit(frozen, log=lambda *a: None)
    record = json.loads((tuned.run_dir / "model.json").read_text())
    assert record["statistics"]["heads"] == ["foundation", "fine_tuned"]
    assert record["model_config"]["num_heads"] == 2
    # the replay data is named in the run's config: a resume does not need the foundation
    assert load_config(tuned.run_dir / "config.yaml").replay_file == str(data[0])
    # the held-out replay structures (the seeded split of the foundation's data; 27 x 1/9)
    _, held_out = datasets.split(datasets.load(data[0]), frozen.valid_fraction, frozen.seed)
    graphs = graphs_from_structures(held_out[:3], frozen.r_max, [29])
    foundation = load_potential(base.run_dir, "best")
    expected = evaluate(foundation, foundation.params, graphs)
    replay = tuned.metrics["replay test"]
    # the final table keeps the new data's training errors apart from the replay's
    new_train, _ = datasets.split(frames, frozen.valid_fraction, frozen.seed)
    assert tuned.metrics["train"]["num_structures"] == len(new_train)
    assert tuned.metrics["replay train"]["num_structures"] == 27
    for key in ("rmse_e_per_atom", "rmse_f"):
        assert replay[key] == pytest.approx(expected[key], rel=1e-9), key
    # each validation logs the foundation head on the held-out replay structures too
    (row,) = read_rows(tuned.run_dir / "metrics.csv")
    for key in ("rmse_e_per_atom", "rmse_f"):  # the energy tells the heads apart at lr 0
        assert float(row[f"replay_{key}"]) == pytest.approx(expected[key], rel=1e-9), key
    assert "replay rmse_f" in (tuned.run_dir / "train.log").read_text()
    assert read_rows(base.run_dir / "metrics.csv")[0]["replay_rmse_f"] == ""
    # eval and the calculator pick a head by name; the default is the fine-tuned one
    on_test = evaluate_run(tuned.run_dir, [str(data[1])], head="foundation")[str(data[1])]
    assert on_test["rmse_f"] == pytest.approx(base.metrics[str(data[1])]["rmse_f"], rel=1e-9)
    # on the other calculation's energies the foundation head is off by about the offset,
    # the fine-tuned head (E0s estimated for it) is not
    errors = {
        head: evaluate_run(tuned.run_dir, [str(shifted)], head=head)[str(shifted)]
        for head in ("foundation", None)
    }
    assert errors["foundation"]["rmse_e_per_atom"] > offset / 2
    assert errors[None]["rmse_e_per_atom"] < offset / 20
    atoms = frames[0].copy()
    atoms.calc = EqpotCalculator.from_checkpoint(tuned.run_dir, head="foundation")
    reference = frames[0].copy()
    reference.calc = EqpotCalculator.from_checkpoint(base.run_dir)
    assert atoms.get_potential_energy() == pytest.approx(reference.get_potential_energy(), 1e-12)
    with pytest.raises(ValueError, match="no energy head 'dft'; this model's heads: foundation"):
        EqpotCalculator.from_checkpoint(tuned.run_dir, head="dft")
    # the run continues from its own record and config.yaml (as `eqpot train --resume`),
    # its foundation moved away
    base.run_dir.rename(tmp_path / "moved")
    longer = load_config(tuned.run_dir / "config.yaml", ["max_num_epochs=2", "lr=0.001"])
    assert fit(longer, resume=True, log=lambda *a: None).epochs == 2
    single = load_config(tuned.run_dir / "config.yaml", ["multihead_finetuning=false"])
    with pytest.raises(ConfigError, match=r"has the energy heads \['foundation', 'fine_tuned'\]"):
        fit(single, resume=True, log=lambda *a: None)
