import shutil

import numpy as np
import pytest

from eqpot import datasets

COUNTS = {
    ("acac", "train"): 500,
    ("acac", "train_600K"): 500,
    ("acac", "test"): 650,
    ("3bpa", "train"): 500,
    ("3bpa", "train_mixedT"): 500,
    ("rmd17-ethanol", "train"): 1000,
    ("rmd17-ethanol", "test"): 1000,
    ("mlearn-si", "train"): 214,
    ("mlearn-si", "test"): 25,
    ("mlearn-ge", "train"): 228,
    ("mlearn-ge", "test"): 25,
    ("mlearn-li", "train"): 241,
    ("mlearn-li", "test"): 29,
}


@pytest.mark.parametrize("name,split", sorted(COUNTS))
def test_shared_datasets_load_with_documented_counts(shared_data, name, split):
    structures = datasets.load(name, split, require=("energy", "forces"))
    assert len(structures) == COUNTS[(name, split)]
    periodic = name.startswith("mlearn")
    for atoms in structures[:5]:
        assert bool(np.all(atoms.pbc)) == periodic and bool(np.any(atoms.pbc)) == periodic
        assert np.isfinite(atoms.info["REF_energy"])
        assert ("REF_stress" in atoms.info) == periodic


def test_isolated_atom_energies(shared_data):
    e0 = datasets.isolated_atom_energies("acac")
    assert e0 == {1: -13.568422178253735, 6: -1026.8538996116154, 8: -2037.796869412825}
    with pytest.raises(datasets.DataError, match="least squares"):
        datasets.isolated_atom_energies("mlearn-si")


def test_mlearn_stress_units(shared_data):
    structures = datasets.load("mlearn-si", "train", require=("stress",))
    stress = np.array([a.info["REF_stress"] for a in structures])
    assert 1e-4 < np.max(np.abs(stress)) < 1.0  # eV/Å^3, not kBar


def test_fetch_from_a_file_url_checks_sha256(shared_data, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    entry = datasets.spec("rmd17-ethanol")
    for filename in entry.splits.values():
        shutil.copy(shared_data / entry.directory / filename, mirror / filename)
    target = datasets.fetch("rmd17-ethanol", tmp_path / "data", base_url=mirror.as_uri())
    assert len(datasets.load("rmd17-ethanol", "test", data_dir=tmp_path / "data")) == 1000
    assert sorted(p.name for p in target.iterdir()) == sorted(entry.splits.values())
    # a corrupted mirror is refused and leaves nothing behind
    (mirror / "train.xyz").write_text("corrupted\n")
    (target / "train.xyz").unlink()
    with pytest.raises(datasets.DataError, match="sha256"):
        datasets.fetch("rmd17-ethanol", tmp_path / "data", base_url=mirror.as_uri())
    assert not (target / "train.xyz").exists() and not list(target.glob("*.part"))


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    assert datasets.data_dir() == tmp_path
    with pytest.raises(datasets.DataError, match="no such file"):
        datasets.load("acac", "test")
    # a relative one is resolved where it is read, so a process with another working
    # directory (the tests' notebook kernels) is handed the same directory
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv(datasets.DATA_ENV, "../data")
    assert datasets.data_dir() == tmp_path / "data"
    assert datasets.data_dir("../other") == tmp_path / "other"


def test_data_info_counts_labels_and_config_types(shared_data, capsys):
    from eqpot import cli

    assert (
        cli.main(["data", "info", "mlearn-si", "--split", "test", "--data-dir", str(shared_data)])
        == 0
    )
    out = capsys.readouterr().out
    assert "labels: energy 25, forces 25, stress 25" in out
    kinds = dict(part.rsplit(" ", 1) for part in out.split("config types: ")[1].strip().split(", "))
    assert sum(map(int, kinds.values())) == 25 and "Elastic" in kinds
