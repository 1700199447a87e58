import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.calculators.fd import calculate_numerical_stress

from eqpot import datasets


def test_kinds_labels_and_stress_equals_strain_derivative():
    frames = datasets.generate(("Cu", "Ag"), num_per_kind=3, seed=4)
    kinds = {a.info["config_type"].split("_")[0] for a in frames}
    assert {"bulk", "surface", "strained", "md", "alloy"} <= kinds
    assert all(np.all(a.pbc) for a in frames)
    temperatures = {a.info["config_type"] for a in frames if a.info["config_type"].startswith("md")}
    assert temperatures
    for atoms in frames[::4]:
        probe = atoms.copy()
        probe.calc = EMT()
        numerical = calculate_numerical_stress(probe, eps=1e-5)
        stored = atoms.info["REF_stress"]
        assert np.max(np.abs(stored - numerical)) <= 1e-6 * np.max(np.abs(stored))
        np.testing.assert_allclose(atoms.arrays["REF_forces"], probe.get_forces(), atol=1e-12)


def test_same_seed_same_file(tmp_path):
    a = datasets.synthesize(tmp_path / "a.xyz", ("Cu",), num_per_kind=3, seed=7)
    b = datasets.synthesize(tmp_path / "b.xyz", ("Cu",), num_per_kind=3, seed=7)
    c = datasets.synthesize(tmp_path / "c.xyz", ("Cu",), num_per_kind=3, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    loaded = datasets.load(a, require=("energy", "forces", "stress"))
    assert len(loaded) == 12


def test_rejects_elements_without_emt_parameters():
    with pytest.raises(ValueError, match="EMT has no parameters"):
        datasets.generate(("Si",))


def test_rejects_fewer_than_one_structure_per_kind():
    with pytest.raises(ValueError, match="num_per_kind must be >= 1, got 0"):
        datasets.generate(("Cu",), num_per_kind=0)
