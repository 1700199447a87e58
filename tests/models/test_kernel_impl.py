"""MACE through the Pallas kernels (interpret mode on CPU) or through cuEquivariance equals
MACE through XLA on a molecule: energies, forces, and the parameter gradient of a force
loss (a second derivative, as in training)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eqpot import models
from eqpot.train.losses import weighted_loss
from tests.helpers import CUEQ
from tests.models import common

SMALL = dict(
    common.TINY["mace"], num_channels=2, max_ell=2, max_L=1, correlation=2, num_interactions=1
)


def _potential(kernel_impl):
    model = models.build(
        "mace", num_elements=2, seed=0, dtype="float64", kernel_impl=kernel_impl, **SMALL
    )
    return models.Potential(model)


@pytest.mark.parametrize("impl", ["pallas", CUEQ])
def test_mace_with_other_kernels_equals_xla(impl):
    other, xla = _potential(impl), _potential("xla")
    graph = common.graph(common.molecule()[:4])  # 12 edges: interpret mode is slow
    got, want = other(graph), xla(graph)
    for name in ("energy", "forces"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-10, atol=1e-12)

    def force_loss(pot):
        def loss(params):
            pred = pot.predict_with(params, graph)
            return weighted_loss(pred, graph, energy_weight=0.0, forces_weight=1.0)[1]["forces"]

        return jax.grad(loss)(pot.params)

    g_other, g_xla = force_loss(other), force_loss(xla)
    for a, b in zip(jax.tree.leaves(g_other), jax.tree.leaves(g_xla), strict=True):
        scale = max(float(jnp.max(jnp.abs(b))), 1e-12)
        assert float(jnp.max(jnp.abs(a - b))) <= 1e-9 * scale


def test_kernel_impl_is_checked():
    with pytest.raises(ValueError, match="kernel_impl='fast' is not one of"):
        _potential("fast")
