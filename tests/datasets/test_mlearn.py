"""mlearn's JSON files: structures, energies, forces and VASP's virial stress (kBar,
compressive positive, per-element component order) read into ASE's convention, checked
against finite differences of EMT energies with respect to strain."""

import json

import ase.build
import numpy as np
import pytest
from ase.calculators.emt import EMT

from eqpot.datasets import DataError, load_file, to_pymatgen
from eqpot.datasets.mlearn import VASP_ORDER, read_mlearn
from eqpot.graph import voigt_to_matrix

KBAR_PER_EV_A3 = 1602.1766208  # 1 eV/Å³ = 160.21766208 GPa = 1602.18 kBar
STRAINS = {
    "normal": np.diag([0.02, -0.01, 0.015]),
    "shear": np.array([[0.0, 0.012, -0.008], [0.012, 0.0, 0.02], [-0.008, 0.02, 0.0]]),
}
# the component order mlearn's Cu file uses (benchmarks/results/mlearn_stress_order.json),
# written out here rather than taken from the reader
CU_ORDER = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
VASP = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2))


def _strained_cu(strain: np.ndarray) -> ase.Atoms:
    atoms = ase.build.bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    atoms.rattle(0.03, seed=1)
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    atoms.calc = EMT()
    return atoms


def _entry(atoms: ase.Atoms, order, element: str, description: str) -> dict:
    """One entry as mlearn writes it: total energy, forces, and the stress in kBar with
    VASP's sign (positive under compression), its components in ``order``."""
    stress = atoms.get_stress(voigt=False)  # ASE: eV/Å³, positive under tension
    return {
        "structure": to_pymatgen(atoms).as_dict(),
        "outputs": {
            "energy": atoms.get_potential_energy(),
            "forces": atoms.get_forces().tolist(),
            "virial_stress": [-KBAR_PER_EV_A3 * stress[i, j] for i, j in order],
        },
        "num_atoms": len(atoms),
        "group": "Elastic",
        "element": element,
        "description": description,
        "tag": "test",
    }


def _write(path, order, element="Cu"):
    frames = [_strained_cu(strain) for strain in STRAINS.values()]
    entries = [_entry(a, order, element, name) for a, name in zip(frames, STRAINS, strict=True)]
    path.write_text(json.dumps(entries))
    return frames


def _finite_difference_stress(atoms: ase.Atoms, h: float = 1e-5) -> np.ndarray:
    """``(1/V) dE/d eps`` from EMT energies of strained copies (no stress from EMT used)."""
    out = np.zeros((3, 3))
    for i in range(3):
        for j in range(i, 3):
            direction = np.zeros((3, 3))
            direction[i, j] = direction[j, i] = 1.0 if i == j else 0.5

            def energy(step, direction=direction):
                strained = atoms.copy()
                strained.set_cell(atoms.cell.array @ (np.eye(3) + step * direction), True)
                strained.calc = EMT()
                return strained.get_potential_energy()

            out[i, j] = out[j, i] = (energy(h) - energy(-h)) / (2 * h) / atoms.get_volume()
    return out


def test_mlearn_json_reads_with_ase_sign_units_and_order(tmp_path):
    path = tmp_path / "training.json"
    frames = _write(path, CU_ORDER)
    loaded = load_file(path)
    assert len(loaded) == len(frames)
    for atoms, reference in zip(loaded, frames, strict=True):
        expected = _finite_difference_stress(reference)
        assert np.abs(expected).max() > 1e-3  # strained: the stress is far from zero
        np.testing.assert_allclose(
            voigt_to_matrix(atoms.info["REF_stress"]), expected, atol=1e-7, rtol=0
        )
        assert atoms.info["REF_energy"] == pytest.approx(reference.get_potential_energy())
        np.testing.assert_allclose(atoms.arrays["REF_forces"], reference.get_forces())
        np.testing.assert_allclose(atoms.positions, reference.positions, atol=1e-10)
        np.testing.assert_allclose(atoms.cell.array, reference.cell.array, atol=1e-10)
        assert atoms.pbc.all()
        assert atoms.info["config_type"] == "Elastic"
    assert [a.info["description"] for a in loaded] == list(STRAINS)
    assert len(load_file(path, index="1:")) == 1


def test_an_element_of_unknown_order_needs_the_order_given(tmp_path):
    path = tmp_path / "other.json"
    frames = _write(path, VASP, element="Xx")
    with pytest.raises(DataError, match=r"other.json:0: the order of virial_stress for 'Xx'"):
        load_file(path)
    shear = read_mlearn(path, stress_order=VASP_ORDER)[1]
    np.testing.assert_allclose(
        voigt_to_matrix(shear.info["REF_stress"]),
        _finite_difference_stress(frames[1]),
        atol=1e-7,
    )
    with pytest.raises(ValueError, match="stress_order must order"):
        read_mlearn(path, stress_order=("xx", "yy", "zz", "xy", "xy", "zx"))


def test_malformed_mlearn_entries_are_named(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([{"structure": {"lattice": 1}, "outputs": {}}]))
    with pytest.raises(DataError, match=r"broken.json:0: 'structure' is not a pymatgen"):
        load_file(path)
