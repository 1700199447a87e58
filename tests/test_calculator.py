"""The ASE calculator: finite differences, neighbour-list reuse, growing buckets, errors."""

import ase
import ase.build
import numpy as np
import pytest
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

from eqpot.calculator import EqpotCalculator
from tests.models.common import TYPE_MAP, molecule, potential, single_and_double


def _bulk():
    atoms = ase.build.bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 1, 1))
    atoms.numbers[[1, 4]] = 47
    atoms.rattle(0.1, seed=1)
    return atoms


def _slab():
    atoms = ase.build.fcc111("Cu", size=(2, 2, 2), vacuum=4.0, a=3.7)
    atoms.numbers[0] = 47
    atoms.rattle(0.1, seed=2)
    return atoms  # pbc (T, T, F), with a cell


def _cluster():
    atoms = ase.Atoms("Cu3Ag", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.6, 0], [0.3, 1.2, 2.2]])
    atoms.center(vacuum=4.0)  # pbc False, a box: stress as the strain derivative in it
    return atoms


def _calculator(variant="mace-cg", **kwargs):
    return EqpotCalculator(potential(variant), TYPE_MAP, **kwargs)


CASES = [("mace-cg", make) for make in (_bulk, _slab, _cluster)]
CASES += [("tensornet", _slab), ("escn", _slab)]  # slab: the known trouble spot (mace#1509)


@pytest.mark.parametrize(("variant", "make"), CASES, ids=lambda x: getattr(x, "__name__", x))
def test_forces_and_stress_match_ase_finite_differences(variant, make):
    atoms = make()
    atoms.calc = _calculator(variant)
    forces, stress = atoms.get_forces(), atoms.get_stress()
    numerical_forces = calculate_numerical_forces(atoms, 1e-4)
    numerical_stress = calculate_numerical_stress(atoms, 1e-5)
    assert np.abs(forces).max() > 1e-3 and np.abs(stress).max() > 1e-5  # not a vacuous check
    # central differences with step h have an O(h^2) error: ~1e-8 relative here
    assert np.abs(forces - numerical_forces).max() < 1e-6 * max(1.0, np.abs(forces).max())
    assert np.abs(stress - numerical_stress).max() < 1e-6 * max(1e-2, np.abs(stress).max())
    assert atoms.get_potential_energy() == pytest.approx(atoms.get_potential_energies().sum())
    assert atoms.calc.results["free_energy"] == atoms.get_potential_energy()


def test_skin_reuses_the_neighbour_list_without_changing_results():
    reused, rebuilt = _calculator(skin=1.0), _calculator(skin=0.0)
    atoms = _bulk()
    rng = np.random.default_rng(0)
    for _ in range(6):
        atoms.positions += rng.normal(scale=0.03, size=atoms.positions.shape)
        for calc in (reused, rebuilt):
            calc.calculate(atoms, ["energy", "forces", "stress"])
        for key in ("energy", "forces", "stress", "energies"):
            np.testing.assert_allclose(reused.results[key], rebuilt.results[key], atol=1e-10)
    assert rebuilt.neighbor_list_builds == 6
    assert reused.neighbor_list_builds < 6
    # an atom moving more than skin/2 forces a rebuild
    builds = reused.neighbor_list_builds
    atoms.positions[0] += [0.6, 0.0, 0.0]
    reused.calculate(atoms, ["energy"])
    assert reused.neighbor_list_builds == builds + 1


def test_edge_budget_only_grows_and_compiles_once_per_budget():
    calc = _calculator(skin=0.0)
    atoms = _bulk()
    calc.calculate(atoms, ["energy"])
    first = calc._budget
    compressed = atoms.copy()
    compressed.set_cell(atoms.cell * 0.85, scale_atoms=True)  # more neighbours
    calc.calculate(compressed, ["energy"])
    assert calc._budget.n_edge > first.n_edge and calc.compile_count == 2
    for atoms_now in (atoms, compressed, atoms):  # back and forth: no new shapes
        calc.calculate(atoms_now, ["energy"])
    assert calc.compile_count == 2


def test_bad_input_errors():
    calc = _calculator()
    water = ase.build.molecule("H2O")
    with pytest.raises(ValueError, match=r"\['H', 'O'\] not in the type map \['Cu', 'Ag'\]"):
        calc.calculate(water, ["energy"])
    molecule = ase.Atoms("Cu2", positions=[[0, 0, 0], [2.4, 0, 0]])  # no cell at all
    molecule.calc = calc
    assert np.isfinite(molecule.get_potential_energy())
    with pytest.raises(PropertyNotImplementedError, match="stress needs a cell"):
        molecule.get_stress()
    broken = _bulk()
    broken.positions[3, 1] = np.nan
    with pytest.raises(ValueError, match="atom 3 has a non-finite position"):
        calc.calculate(broken, ["energy"])
    # also when a skin would otherwise reuse the list built for the finite positions
    skinned = _calculator(skin=1.0)
    skinned.calculate(_bulk(), ["energy"])
    with pytest.raises(ValueError, match="atom 3 has a non-finite position"):
        skinned.calculate(broken, ["energy"])


def test_hessian_equals_finite_differences_of_forces():
    atoms = _cluster()
    atoms.calc = _calculator()
    hessian = atoms.calc.get_hessian(atoms)
    h = 1e-4
    columns = []
    checked = [0, 3]  # two atoms' columns: each costs two force evaluations
    for i in checked:
        for k in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[i, k] += h
            minus.positions[i, k] -= h
            f_plus = atoms.calc.get_forces(plus)
            f_minus = atoms.calc.get_forces(minus)
            columns.append(-(f_plus - f_minus).ravel() / (2 * h))
    numerical = np.array(columns).T
    analytic = hessian[:, [3 * i + k for i in checked for k in range(3)]]
    assert np.abs(hessian - hessian.T).max() < 1e-10
    assert np.abs(analytic - numerical).max() < 1e-6 * np.abs(hessian).max()


def test_pymatgen_structures_are_accepted():
    from eqpot.datasets import to_pymatgen

    atoms = _bulk()
    structure = to_pymatgen(atoms)
    converted = EqpotCalculator.atoms_from(structure)
    calc = _calculator()
    calc.calculate(converted, ["energy"])
    energy = calc.results["energy"]
    calc.calculate(atoms, ["energy"])
    assert energy == pytest.approx(calc.results["energy"], abs=1e-10)


def test_float32_energy_next_to_large_e0s_matches_float64():
    """The E0s reach the calculator's energy in float64 (eqpot.graph.batch): a float32
    potential's total differs from float64's by its interaction energy's rounding alone."""
    atoms = molecule()  # six atoms, -9200 eV of E0s: 1 meV is float32's resolution there
    double, single = (EqpotCalculator(p, TYPE_MAP) for p in single_and_double("mace"))
    e64, e32 = (calc.get_potential_energy(atoms) for calc in (double, single))
    assert abs(e32 - e64) < 2e-5
    energies = single.get_potential_energies(atoms)
    assert energies.sum() == pytest.approx(e32, abs=1e-4)
    assert energies.min() < -1000  # per-atom energies include the E0s
