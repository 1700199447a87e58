"""The channel-wise SO(2) linear through the sparse-polynomial Pallas kernel (interpret mode
on CPU) equals the XLA implementation: forward, gradient, gradient of the gradient."""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import pytest

import eqpot.tp
from tests.helpers import assert_close as _assert_close
from tests.helpers import derivative_orders as _orders


@pytest.mark.parametrize("m_max", [None, 1])
def test_so2_uvu_pallas_matches_xla(m_max):
    irreps = e3nn.Irreps("0e+1o+2e") * 2
    product = eqpot.tp.make("so2", irreps, "1x1o", irreps, mode="uvu", m_max=m_max)
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(k1, (4, irreps.dim), jnp.float64)
    vectors = jax.random.normal(k2, (4, 3), jnp.float64)
    w = jax.random.normal(k3, (4, product.num_weights), jnp.float64)

    def run(impl):
        return _orders(lambda a, b: product(a, vectors, b, impl=impl).array)

    pallas, xla = run("pallas"), run("xla")
    for order in pallas:
        _assert_close(pallas[order](x, w), xla[order](x, w), 1e-10)


def test_so2_uvw_has_no_pallas_kernel():
    product = eqpot.tp.make("so2", "0e+1o", "1x1o", "0e+1o", mode="uvw")
    with pytest.raises(ValueError, match="no 'pallas' implementation"):
        product(jnp.ones((1, 4)), jnp.ones((1, 3)), jnp.ones(product.num_weights), impl="pallas")
