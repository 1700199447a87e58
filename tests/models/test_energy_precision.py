"""Float32 models next to large isolated-atom energies: the E0s travel as the batch's
reference energies, so the total energy keeps float64's digits (``eqpot.graph.batch``)."""

import jax
import numpy as np
import pytest

from eqpot.graph import batch_graphs, graph_from_atoms, reference_totals
from tests.helpers import dot_precisions
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


@pytest.mark.parametrize("name", ["mace", "escn", "tensornet"])
def test_float32_products_run_in_true_float32_unless_the_caller_asks_otherwise(name):
    """JAX lets a GPU compute float32 products in TensorFloat32 by default: every product of
    the predictions, their force derivatives and the training gradient through them must ask
    for float32, and follow the caller's jax_default_matmul_precision when one is set."""
    pot = single_and_double(name)[1]
    batch = batch_graphs(_structures()[:2])

    def predictions(params):
        return pot.predict_with(params, batch)

    def force_loss_grad(params):
        return jax.grad(lambda p: (pot.predict_with(p, batch).forces ** 2).sum())(params)

    highest = (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)
    for fn in (predictions, force_loss_grad):
        with jax.default_matmul_precision(None):  # JAX's default (the test suite sets one)
            precisions = dot_precisions(jax.make_jaxpr(fn)(pot.params).jaxpr)
        assert precisions and all(p == highest for p in precisions), set(precisions)
        with jax.default_matmul_precision("tensorfloat32"):
            chosen = dot_precisions(jax.make_jaxpr(fn)(pot.params).jaxpr)
        # (symmetric_contraction's index picks ask for float32 themselves)
        assert (jax.lax.Precision.HIGH, jax.lax.Precision.HIGH) in chosen, set(chosen)
