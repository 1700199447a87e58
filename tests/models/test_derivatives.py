"""Forces, stress and Hessians equal finite differences; padding changes nothing."""

import numpy as np
import pytest

from tests.models import common

MODELS = ["mace-cg", "mace-so2", "tensornet", "escn"]


def _relative(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


@pytest.mark.parametrize("structure", list(common.STRUCTURES))
@pytest.mark.parametrize("variant", MODELS)
def test_forces_and_stress_match_finite_differences(variant, structure):
    pot = common.potential(variant)
    atoms = common.STRUCTURES[structure]()
    budget = common.fixed_budget(atoms)
    out = pot(common.graph(atoms, budget=budget))
    n = len(atoms)
    assert _relative(out.forces[:n], common.numerical_forces(pot, atoms, budget)) <= 1e-6
    stress = common.numerical_stress(pot, atoms, budget)
    analytic = np.asarray(out.stress[0])  # slab: the strain also scales the vacuum axis
    assert np.max(np.abs(stress)) > 1e-4, "degenerate test: stress vanishes"
    assert _relative(analytic, stress) <= 1e-6
    volume = atoms.get_volume()
    np.testing.assert_allclose(out.virials[0], -out.stress[0] * volume, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("variant", ["mace-cg", "tensornet", "escn"])
@pytest.mark.parametrize("structure", ["molecule", "small_cell"])
def test_hessian_is_symmetric_and_matches_finite_differences_of_forces(variant, structure):
    pot = common.potential(variant)
    atoms = common.molecule() if structure == "molecule" else common.small_cell()
    budget = common.fixed_budget(atoms)
    n = len(atoms)
    h = np.asarray(pot.hessian(common.graph(atoms, budget=budget)))[:n, :, :n, :]
    flat = h.reshape(3 * n, 3 * n)
    assert np.max(np.abs(flat)) > 1e-3
    np.testing.assert_allclose(flat, flat.T, atol=1e-10 * np.max(np.abs(flat)))
    numerical = np.zeros_like(h)
    for i in range(n):
        for k in range(3):

            def forces(t, i=i, k=k):
                a = atoms.copy()
                a.positions[i, k] += t
                return np.asarray(pot(common.graph(a, budget=budget)).forces[:n])

            numerical[i, k] = -common.derivative(forces)
    assert _relative(h, numerical) <= 1e-6


@pytest.mark.parametrize("variant", ["mace-cg", "tensornet", "escn"])
def test_padded_batch_equals_single_graphs(variant):
    pot = common.potential(variant)
    structures = [common.bulk(), common.slab(), common.small_cell(), common.molecule()]
    batch = pot(common.graph(*structures))
    start = 0
    for g, atoms in enumerate(structures):
        alone = pot(common.graph(atoms))
        n = len(atoms)
        np.testing.assert_allclose(batch.energy[g], alone.energy[0], rtol=1e-12)
        np.testing.assert_allclose(
            batch.forces[start : start + n], alone.forces[:n], rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(batch.stress[g], alone.stress[0], rtol=1e-10, atol=1e-12)
        start += n
    assert np.all(np.asarray(batch.forces[start:]) == 0)  # padding rows
