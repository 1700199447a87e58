"""``eqpot export``: one head of a trained run, weights only, as a model directory."""

import json

import ase.io
import numpy as np
import pytest

from eqpot import cli
from eqpot.calculator import EqpotCalculator
from eqpot.train.config import load_config
from eqpot.train.data import replay_file
from eqpot.train.export import export_model
from eqpot.train.trainer import fit
from tests.train.common import multihead_overrides, shifted_copy, tiny_config


def _energy_and_forces(atoms, calc) -> tuple[float, np.ndarray]:
    atoms = atoms.copy()
    atoms.calc = calc
    return atoms.get_potential_energy(), atoms.get_forces()


@pytest.fixture(scope="module")
def multihead_run(tmp_path_factory, data):
    """A two-head run fine-tuned (one epoch, learning rate on, so the heads' readouts
    differ) on ``data``'s structures with energies 5 eV/atom higher."""
    tmp_path = tmp_path_factory.mktemp("export")
    base = fit(tiny_config(tmp_path, data, "base", ["max_num_epochs=1"]), log=lambda *a: None)
    shifted = shifted_copy(data[0], tmp_path / "shifted.extxyz", 5.0)
    multihead = multihead_overrides(base.run_dir, shifted)
    tuned = fit(tiny_config(tmp_path, data, "mh", multihead), log=lambda *a: None)
    return tuned.run_dir, shifted


def test_each_exported_head_predicts_as_that_head_of_the_run(tmp_path, data, multihead_run):
    run_dir, _ = multihead_run
    frame = ase.io.read(data[1], 0)
    predicted = {}
    for head in ("foundation", "fine_tuned"):
        out = export_model(run_dir, tmp_path / head, head=head)
        record = json.loads((out / "model.json").read_text())
        assert record["statistics"]["heads"] is None
        assert "num_heads" not in record["model_config"]
        # the training state stays behind: one checkpoint, of weights
        assert [p.name for p in (out / "checkpoints").iterdir()] == ["best"]
        (step,) = [p for p in (out / "checkpoints" / "best").iterdir() if p.is_dir()]
        assert {p.name for p in step.iterdir() if p.is_dir()} == {"weights", "meta"}
        energy, forces = _energy_and_forces(frame, EqpotCalculator.from_checkpoint(out))
        ref_energy, ref_forces = _energy_and_forces(
            frame, EqpotCalculator.from_checkpoint(run_dir, head=head)
        )
        assert energy == pytest.approx(ref_energy, rel=1e-12), head
        np.testing.assert_allclose(forces, ref_forces, rtol=1e-10, atol=1e-12, err_msg=head)
        predicted[head] = energy, forces
    # the heads differ, so a head mixed up above fails: by the other calculation's offset in
    # energy, and in forces by what one epoch's training of each readout changed
    assert abs(predicted["fine_tuned"][0] - predicted["foundation"][0]) > 2.5 * len(frame)
    assert not np.allclose(predicted["fine_tuned"][1], predicted["foundation"][1], atol=1e-9)


def test_an_exported_head_names_its_own_training_data(tmp_path, data, multihead_run):
    """Its config.yaml is one-head, with the data that head was trained on: fine-tuning it
    again replays that by default."""
    run_dir, shifted = multihead_run
    for head, trained_on in (("foundation", data[0]), ("fine_tuned", shifted)):
        out = export_model(run_dir, tmp_path / head, head=head)
        config = load_config(out / "config.yaml")
        assert not config.multihead_finetuning and config.replay_file is None
        assert config.train_file == str(trained_on)
        again = [f"foundation_model={out}", "multihead_finetuning=true"]
        again = tiny_config(tmp_path, data, "again", again)
        assert replay_file(again, str(out)) == str(trained_on)


def test_export_from_the_command_line_and_its_errors(tmp_path, data, multihead_run, capsys):
    run_dir, _ = multihead_run
    out = tmp_path / "float64"
    argv = ["export", str(run_dir), str(out), "--head", "foundation", "--which", "last"]
    assert cli.main([*argv, "--dtype", "float64"]) == 0
    assert f"wrote {out}: mace in float64" in capsys.readouterr().out
    assert json.loads((out / "model.json").read_text())["dtype"] == "float64"
    # an existing directory is not overwritten; an unknown head is named with the others
    before = sorted(p.name for p in out.rglob("*"))
    assert cli.main(argv) == 2
    assert f"{out} exists; export writes a new directory" in capsys.readouterr().err
    assert sorted(p.name for p in out.rglob("*")) == before
    assert cli.main(["export", str(run_dir), str(tmp_path / "x"), "--head", "dft"]) == 2
    message = capsys.readouterr().err
    assert "no energy head 'dft'; this model's heads: foundation, fine_tuned" in message
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.glob(".x*"))  # nor a partial one
