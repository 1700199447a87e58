"""Float32 models next to large isolated-atom energies: the E0s travel as the batch's
reference energies, so the total energy keeps float64's digits (``eqpot.graph.batch``)."""

import numpy as np
import pytest

from eqpot.graph import batch_graphs, graph_from_atoms, reference_totals
from tests.models.common import CUTOFF, TYPE_MAP, molecule, single_and_double


def _structures() -> list:
    out = []
    for seed in range(6):
        atoms = molecule()
        atoms.rattle(0.05, seed=seed)
        out.append(graph_from_atoms(atoms, CUTOFF, TYPE_MAP))
    return out  # six atoms, -9200 eV each: float32's ulp there is 1 meV


@pytest.mark.parametrize("name", ["mace", "tensornet"])
def test_float32_total_energies_match_float64_to_far_below_a_meV(name):
    pot64, pot32 = single_and_double(name)
    data = _structures()

    def totals(pot, references):
        batch = batch_graphs(data, reference_energies=references)
        energy = np.asarray(pot(batch).energy, np.float64) + reference_totals(batch)
        return energy[: len(data)]

    exact = totals(pot64, pot64.atomic_energies)
    np.testing.assert_allclose(totals(pot64, None), exact, rtol=0, atol=1e-9)
    with_references = np.abs(totals(pot32, pot32.atomic_energies) - exact)
    assert with_references.max() < 2e-5, with_references
    # without references the float32 sum rounds at the totals' ulp, as it used to
    without = np.abs(totals(pot32, None) - exact)
    assert without.max() > 1e-4, without
