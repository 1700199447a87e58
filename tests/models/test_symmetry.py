"""Energy invariance and force equivariance of every model (float64)."""

import numpy as np
import pytest

from eqpot import models
from tests.helpers import random_o3
from tests.models import common


def _transformed(atoms, q, translation, permutation):
    out = atoms[permutation]
    out.set_cell(atoms.cell @ q.T)
    out.positions = atoms.positions[permutation] @ q.T + translation
    return out


@pytest.mark.parametrize("variant", list(common.VARIANTS))
@pytest.mark.parametrize("inversion", [False, True])
def test_invariance_and_equivariance(variant, inversion):
    pot = common.potential(variant)
    atoms = common.bulk()
    budget = common.fixed_budget(atoms)
    ref = pot(common.graph(atoms, budget=budget))
    q = np.asarray(random_o3(11, inversion))
    permutation = np.random.default_rng(2).permutation(len(atoms))
    moved = _transformed(atoms, q, np.array([0.3, -1.2, 2.0]), permutation)
    out = pot(common.graph(moved, budget=budget))
    n = len(atoms)
    energy, forces = float(ref.energy[0]), np.asarray(ref.forces[:n])
    assert np.max(np.abs(forces)) > 1e-3, "degenerate test: forces vanish"
    if inversion and variant.endswith("so3"):  # SO(3) TensorNet is chiral by design
        # measured 9e-7 relative; 100 times the tolerance of the equivariant variants
        assert abs(float(out.energy[0]) - energy) > 1e-7 * abs(energy)
        return
    assert abs(float(out.energy[0]) - energy) <= 1e-9 * abs(energy)
    expected = forces[permutation] @ q.T
    assert np.max(np.abs(np.asarray(out.forces[:n]) - expected)) <= 1e-9 * np.max(np.abs(forces))
    # stress is a rank-2 tensor: sigma' = Q sigma Q^T
    stress = np.asarray(ref.stress[0])
    assert np.max(np.abs(np.asarray(out.stress[0]) - q @ stress @ q.T)) <= 1e-9 * np.max(
        np.abs(stress)
    )


def _mace_cp_rank20():
    return models.build(
        "mace",
        num_elements=2,
        dtype="float64",
        message_product="cp",
        product_options={"rank": 20},
        **common.TINY["mace"],
    )


def test_cp_product_below_full_rank_is_approximately_invariant():
    """A rank-20 CP message product is not exact; its error is small and nonzero."""
    pot = models.Potential(_mace_cp_rank20())
    atoms = common.bulk()
    budget = common.fixed_budget(atoms)
    q = np.asarray(random_o3(12, False))
    ref = float(pot(common.graph(atoms, budget=budget)).energy[0])
    rotated = _transformed(atoms, q, np.zeros(3), np.arange(len(atoms)))
    error = abs(float(pot(common.graph(rotated, budget=budget)).energy[0]) - ref) / abs(ref)
    assert 1e-12 < error < 1e-3


def test_cp_message_product_inside_mace_stays_within_its_stated_bound():
    """Per edge, the rank-20 CP message's equivariance error is below CPProduct's bound."""
    import e3nn_jax as e3nn
    import jax

    from eqpot.graph import edge_vectors
    from eqpot.nn import radial_embedding

    layer = _mace_cp_rank20().layers[1]  # features with l > 0
    graph = common.graph(common.bulk())
    vectors = edge_vectors(graph)
    h = e3nn.normal(layer.irreps_in, jax.random.PRNGKey(0), (graph.senders.shape[0],))
    y = e3nn.spherical_harmonics(layer.sh_irreps, vectors, normalize=True)
    w = layer.radial(radial_embedding(np.linalg.norm(vectors, axis=-1), common.CUTOFF))
    q = np.asarray(random_o3(13, True))
    out = layer.product(h, y, w)
    rotated = layer.product(h.transform_by_matrix(q), y.transform_by_matrix(q), w)
    error = np.linalg.norm(np.asarray(rotated.array - out.transform_by_matrix(q).array), axis=-1)
    bound = np.asarray(layer.product.equivariance_bound(h, y, w))
    real = np.asarray(graph.edge_mask)
    assert np.max(error[real]) > 1e-10  # the rank-20 product is really approximate
    assert np.all(error[real] <= bound[real])
