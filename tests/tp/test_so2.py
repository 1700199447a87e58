import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import eqpot.tp as tp
from tests.helpers import equivariance_error, random_o3

AXES = np.concatenate([np.eye(3), -np.eye(3)]) * 1.7


def _edges(seed, n=6):
    random = np.random.default_rng(seed).normal(size=(n, 3))
    return jnp.asarray(np.concatenate([AXES, random]))


def _cg_convolution(cg, x, r, w, so2):
    """``cg(x, Y(r), w)`` with the uvu outputs of equal irreps summed (so2's layout)."""
    out = cg(x, e3nn.spherical_harmonics(so2.sh_irreps(), r, True), w)
    if cg.mode == "uvw":
        return out.array
    summed = {}
    for (_, ir), chunk in zip(cg.irreps_out, out.chunks, strict=True):
        summed[ir] = summed.get(ir, 0) + chunk
    return jnp.concatenate([summed[ir].reshape(r.shape[0], -1) for _, ir in so2.irreps_out], -1)


CASES = [
    ("uvw", "3x0e+3x1o+3x2e", "2x0e+2x1o+2x1e+2x2e+2x3o"),
    ("uvu", "2x0e+2x1o+2x2e+2x3o", "2x0e+2x1e+2x1o+2x2e+2x3o+2x3e"),
]


@pytest.mark.parametrize("mode,irreps_in,irreps_out", CASES)
def test_equals_cg_convolution_with_edge_harmonics(mode, irreps_in, irreps_out):
    so2 = tp.make("so2", irreps_in, "1x1o", irreps_out, mode=mode)
    cg = tp.make("cg", irreps_in, so2.sh_irreps(), irreps_out, mode=mode)
    r = _edges(0)
    n = r.shape[0]
    x = e3nn.normal(so2.irreps_in1, jax.random.PRNGKey(1), (n,))
    w = jax.random.normal(jax.random.PRNGKey(2), (n, cg.num_weights))  # per-edge weights
    ws = so2.weights_from_cg(cg, w)
    out = so2(x, e3nn.IrrepsArray("1o", r), ws).array
    assert float(jnp.max(jnp.abs(out - _cg_convolution(cg, x, r, w, so2)))) < 1e-10


def test_gradients_on_axes_are_finite_and_match_cg():
    so2 = tp.make("so2", "2x0e+2x1o+2x2e", "1x1o", "2x0e+2x1o+2x2e", mode="uvw")
    cg = tp.make("cg", so2.irreps_in1, so2.sh_irreps(), so2.irreps_out)
    x = e3nn.normal(so2.irreps_in1, jax.random.PRNGKey(3), ())
    w = jax.random.normal(jax.random.PRNGKey(4), (cg.num_weights,))
    ws = so2.weights_from_cg(cg, w)
    target = jax.random.normal(jax.random.PRNGKey(5), (so2.irreps_out.dim,))

    def loss_so2(r):
        return jnp.dot(so2(x, e3nn.IrrepsArray("1o", r), ws).array, target)

    def loss_cg(r):
        return jnp.dot(cg(x, e3nn.spherical_harmonics(so2.sh_irreps(), r, True), w).array, target)

    for r in AXES:
        r = jnp.asarray(r)
        g, g_ref = jax.grad(loss_so2)(r), jax.grad(loss_cg)(r)
        assert np.all(np.isfinite(g))
        assert float(jnp.max(jnp.abs(g - g_ref))) < 1e-9
        assert np.all(np.isfinite(jax.hessian(loss_so2)(r)))


@pytest.mark.parametrize("m_max", [0, 1, 2])
def test_truncation_stays_equivariant_and_shrinks_weights(m_max):
    full = tp.make("so2", "2x0e+2x1o+2x2e+2x3o", "1x1o", m_max=None)
    cut = tp.make("so2", "2x0e+2x1o+2x2e+2x3o", "1x1o", m_max=m_max)
    assert cut.num_weights < full.num_weights
    for inversion in (False, True):
        assert equivariance_error(cut, random_o3(m_max, inversion)) < 1e-10


def test_so2_errors():
    with pytest.raises(ValueError, match="edge vector"):
        tp.make("so2", "0e+1o", "0e+1o")
    with pytest.raises(ValueError, match="C_out == C_in"):
        tp.make("so2", "2x0e", "1o", "3x0e", mode="uvu")
    with pytest.raises(ValueError, match="weights are required"):
        product = tp.make("so2", "0e+1o", "1o")
        product(e3nn.zeros("0e+1o", ()), e3nn.zeros("1o", ()))
