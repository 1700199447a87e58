"""Runs that survive any kill (train/checkpoint.py's protocol): a training process killed at
every point of the checkpoint protocol resumes to the uninterrupted run's result, and
damaged, missing or non-finite checkpoints, a second writer and a second SIGTERM each give
a clear error and lose nothing."""

import hashlib
import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from eqpot import cli
from eqpot.train import checkpoint
from eqpot.train.checkpoint import CheckpointError, load_potential
from eqpot.train.epoch_log import read_rows
from eqpot.train.lock import RunLock
from eqpot.train.quickstart import RECIPE
from eqpot.train.trainer import TrainingDivergedError, fit
from tests.train.common import TINY, tiny_config

EPOCHS = ["max_num_epochs=24", "checkpoint_interval=1", "tensorboard=false"]
# each run of the chain is a fresh process that traces its training step again: the
# smallest MACE keeps that to ~7 s on the 2-core CPU (9.5 s at the TINY size)
EPOCHS += ["model_config.num_interactions=1", "model_config.max_L=0", "model_config.max_ell=1"]
# each run of the chain is killed (SIGKILL, by the trainer itself) the k-th time it passes
# the named point: between the epoch's log row and its checkpoints, as a checkpoint write
# starts, between orbax's rename and the manifest, between best and last, after last
FAULTS = [
    ("epoch_logged", 1),
    ("checkpoint_started", 1),
    ("checkpoint_renamed", 1),
    ("best_written", 1),
    ("checkpoint_started", 2),
    ("checkpoint_renamed", 2),
    ("last_written", 1),
    ("epoch_logged", 2),
    ("checkpoint_renamed", 3),
    ("best_written", 2),
    ("checkpoint_started", 3),
    ("last_written", 2),
    ("epoch_logged", 1),
    ("checkpoint_renamed", 1),
    ("checkpoint_started", 4),
    ("best_written", 1),
    ("last_written", 1),
    ("checkpoint_renamed", 2),
    ("epoch_logged", 3),
    ("checkpoint_started", 2),
]


def _command(tmp_path: Path, data, name: str, resume: bool) -> list[str]:
    train, test = data
    if resume:
        return [sys.executable, "-m", "eqpot.cli", "train", "--resume", str(tmp_path / name)]
    overrides = [f"train_file={train}", f"test_files=[{test}]", f"run_dir={tmp_path}"]
    return [
        sys.executable, "-m", "eqpot.cli", "train", str(RECIPE), *overrides,
        f"name={name}", *TINY, *EPOCHS,
    ]  # fmt: skip


def _started_run(command, env=None):
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _epochs_logged(run_dir: Path) -> int:
    log = run_dir / "train.log"
    text = log.read_text() if log.is_file() else ""
    return len(re.findall(r"^\S+ \S+ epoch \d+/", text, re.MULTILINE))


def _tree_digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.mark.timeout(1500)
def test_a_run_killed_at_every_point_of_the_protocol_resumes_to_the_same_result(tmp_path, data):
    import os

    reference = fit(tiny_config(tmp_path, data, "straight", EPOCHS), log=lambda *a: None)
    run_dir = tmp_path / "killed"
    kills, started, rng = [], False, random.Random(0)
    plan = [("named", f) for f in FAULTS] + [("random", None)] * 2
    for kind, fault in plan:
        env = dict(os.environ)
        if kind == "named":
            env[checkpoint.FAULT_ENV] = f"{fault[0]}:{fault[1]}"
        proc = _started_run(_command(tmp_path, data, "killed", resume=started), env)
        started = True
        if kind == "random":  # at a random moment of an epoch, orbax's writes included
            before = _epochs_logged(run_dir)
            deadline = time.time() + 300
            while _epochs_logged(run_dir) == before and proc.poll() is None:
                assert time.time() < deadline
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.4))
            proc.kill()
        _, stderr = proc.communicate(timeout=600)
        if proc.returncode == 0:
            break  # the run finished before this fault's point
        assert proc.returncode == -signal.SIGKILL, stderr[-3000:]
        kills.append(fault or "random")
    assert len(kills) >= 20, kills
    final = subprocess.run(
        _command(tmp_path, data, "killed", resume=True), capture_output=True, text=True
    )
    assert final.returncode == 0, final.stderr[-3000:]
    rows = read_rows(run_dir / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, 25))  # one row per epoch
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics.keys() == reference.metrics.keys()
    for name, expected in reference.metrics.items():
        for key, value in expected.items():
            assert metrics[name][key] == pytest.approx(value, rel=1e-10, nan_ok=True), (name, key)
    for which in ("best", "last"):
        assert checkpoint.verify(next((run_dir / "checkpoints" / which).glob("[0-9]*")))
        load_potential(run_dir, which)


def test_resume_without_a_loadable_last_after_training_changes_nothing(tmp_path, data, capsys):
    fit(tiny_config(tmp_path, data, "emptied", ["max_num_epochs=3"]), log=lambda *a: None)
    run_dir = tmp_path / "emptied"
    for step in (run_dir / "checkpoints" / "last").iterdir():
        __import__("shutil").rmtree(step)
    before = _tree_digest(run_dir)
    assert cli.main(["train", "--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "no complete checkpoint in" in err and "the run has trained (3 epochs" in err
    assert f"eqpot train --resume {run_dir} --from best" in err and "another name" in err
    assert _tree_digest(run_dir) == before  # every file byte-identical, nothing added
    # the way on that it names: continue from the best weights
    assert cli.main(["train", "--resume", str(run_dir), "--from", "best"]) == 0
    assert "(from best)" in (run_dir / "train.log").read_text()


def test_a_diverged_epoch_is_never_best_and_non_finite_weights_do_not_load(tmp_path, data):
    fit(tiny_config(tmp_path, data, "wild", ["max_num_epochs=1"]), log=lambda *a: None)
    run_dir = tmp_path / "wild"
    best_before = _tree_digest(run_dir / "checkpoints")
    config = tiny_config(tmp_path, data, "wild", ["max_num_epochs=3", "lr=1e12", "clip_grad=1e30"])
    with pytest.raises(TrainingDivergedError, match=r"loss is (nan|inf)"):
        fit(config, resume=True, log=lambda *a: None)
    assert _tree_digest(run_dir / "checkpoints") == best_before
    # a checkpoint that holds NaN weights (written by hand) is refused where it is read
    pot = load_potential(run_dir, "best")
    pure = __import__("flax").nnx.to_pure_dict(pot.params)
    poisoned = __import__("jax").tree.map(lambda x: np.full_like(x, np.nan), pure)
    bad = tmp_path / "poisoned"
    __import__("shutil").copytree(run_dir, bad, ignore=lambda d, names: ["checkpoints"])
    weights = {"params": poisoned, "ema": poisoned}  # the run keeps an EMA
    checkpoint.save(checkpoint.manager(bad / "checkpoints" / "best"), 1, weights, None, {})
    with pytest.raises(CheckpointError, match="holds non-finite weights"):
        load_potential(bad, "best")


def _damaged_copies(run_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """A copy of ``run_dir`` with its largest best-checkpoint array file truncated, and one
    with a bit flipped in it."""
    import shutil

    out = {}
    for kind in ("truncated", "flipped"):
        copy = tmp_path / kind
        shutil.copytree(run_dir, copy)
        step = next((copy / "checkpoints" / "best").glob("[0-9]*"))
        files = [p for p in step.rglob("*") if p.is_file() and p.name != checkpoint.MANIFEST]
        victim = max(files, key=lambda p: p.stat().st_size)
        data = bytearray(victim.read_bytes())
        if kind == "truncated":
            data = data[: len(data) // 2]
        else:
            data[len(data) // 3] ^= 0x10
        victim.write_bytes(bytes(data))
        out[kind] = copy
    return out


def test_truncated_or_flipped_checkpoints_are_one_line_errors_everywhere(tmp_path, data, capsys):
    from eqpot.calculator import EqpotCalculator

    fit(tiny_config(tmp_path, data, "good", ["max_num_epochs=2"]), log=lambda *a: None)
    train, _ = data
    for kind, copy in _damaged_copies(tmp_path / "good", tmp_path).items():
        assert cli.main(["eval", str(copy), str(train)]) == 2, kind
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "checkpoints/best/" in err, err
        assert "has changed since it was written" in err, err
        with pytest.raises(CheckpointError, match=r"best/\d+: file .* has changed"):
            EqpotCalculator.from_checkpoint(copy)
        last = next((copy / "checkpoints" / "last").glob("[0-9]*"))
        victim = max((p for p in last.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
        victim.write_bytes(victim.read_bytes()[:-7])
        assert cli.main(["train", "--resume", str(copy)]) == 2, kind
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "checkpoints/last/" in err, err


def test_a_second_writer_fails_naming_the_holder_and_a_dead_holder_is_taken_over(
    tmp_path, data, capsys
):
    fit(tiny_config(tmp_path, data, "busy", ["max_num_epochs=1"]), log=lambda *a: None)
    run_dir = tmp_path / "busy"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom eqpot.train.lock import RunLock\n"
         f"with RunLock({str(run_dir)!r}):\n    print('held', flush=True)\n    time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    rows = len(read_rows(run_dir / "metrics.csv"))
    assert cli.main(["train", "--resume", str(run_dir), "max_num_epochs=2"]) == 2
    err = capsys.readouterr().err
    assert f"is in use by pid {holder.pid} on " in err
    assert len(read_rows(run_dir / "metrics.csv")) == rows
    holder.kill()
    holder.wait()
    with RunLock(run_dir) as lock:  # the kernel dropped the dead holder's lock
        assert lock.previous.startswith(f"pid {holder.pid} on ")


def test_a_second_sigterm_stops_at_once_and_leaves_the_run_resumable(tmp_path, data):
    command = _command(tmp_path, data, "twice", resume=False)
    command = [*command, "max_num_epochs=1000", "checkpoint_interval=1000"]
    proc = _started_run(command)
    run_dir = tmp_path / "twice"
    deadline = time.time() + 300
    while _epochs_logged(run_dir) < 2:
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "SIGTERM" in stderr.strip().splitlines()[-1]
    result = fit(
        tiny_config(tmp_path, data, "twice", [*EPOCHS, "max_num_epochs=4"]),
        resume=True,
        log=lambda *a: None,
    )
    assert result.epochs == 4
    assert [int(r["epoch"]) for r in read_rows(run_dir / "metrics.csv")] == [1, 2, 3, 4]


def test_a_damaged_model_file_is_an_error_naming_it(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.json").write_text('{"model": "mace", "model_config": {')
    assert cli.main(["eval", str(run_dir), "x.xyz"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{run_dir / 'model.json'}: not valid JSON" in err
