"""The fused message (XLA loops, the Pallas kernels in interpret mode on CPU, and
cuEquivariance's segmented polynomial with eqpot's coefficients) against the
definition (gather, the CG product, scatter-sum): forward, gradient and gradient of the
gradient for every input, on graphs with receivers that have no edges, ragged edge counts
and edges in random order."""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import eqpot.tp
from eqpot import kernels
from tests.helpers import CUEQ, derivative_orders
from tests.helpers import assert_close as _assert_close

NUM_NODES = 5


def _product(channels):
    irreps = e3nn.Irreps("0e+1o") * channels
    return eqpot.tp.make("cg", irreps, "0e+1o+2e", e3nn.Irreps("0e+1o+2e") * channels, mode="uvu")


def _graph():
    # node 4 receives nothing, node 0 receives four edges, node 2 one: ragged, unsorted
    senders = jnp.array([1, 3, 0, 4, 2, 1, 0])
    receivers = jnp.array([0, 2, 0, 1, 0, 3, 0])
    return senders, receivers


def _inputs(product, dtype, seed=0):
    senders, _ = _graph()
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    x = jax.random.normal(k1, (NUM_NODES, product.irreps_in1.dim), dtype)
    y = jax.random.normal(k2, (senders.shape[0], product.irreps_in2.dim), dtype)
    w = jax.random.normal(k3, (senders.shape[0], product.num_weights), dtype)
    return x, y, w


def _message(product, impl):
    """``impl="reference"``: the generic gather-product-scatter of the base class."""
    senders, receivers = _graph()
    message = eqpot.tp.TensorProduct.message if impl == "reference" else type(product).message
    impl = None if impl == "reference" else impl

    def f(x, y, w):
        irreps_x = e3nn.IrrepsArray(product.irreps_in1, x)
        irreps_y = e3nn.IrrepsArray(product.irreps_in2, y)
        return message(product, irreps_x, irreps_y, w, senders, receivers, impl=impl).array

    return f


def _orders(product, impl):
    return derivative_orders(_message(product, impl), argnums=(0, 1, 2))


@pytest.mark.parametrize(
    ("dtype", "tolerance", "channels", "orders"),
    [
        (jnp.float64, 1e-10, 2, ("forward", "grad", "grad_of_grad")),
        (jnp.float32, 1e-5, 2, ("forward", "grad")),
        (jnp.float64, 1e-10, 3, ("forward", "grad")),  # channels padded to a power of two
    ],
)
@pytest.mark.parametrize("impl", ["xla", "pallas", CUEQ])
def test_fused_message_matches_the_definition(impl, dtype, tolerance, channels, orders):
    product = _product(channels)
    inputs = _inputs(product, dtype)
    fused, reference = _orders(product, impl), _orders(product, "reference")
    for order in orders:
        _assert_close(jax.jit(fused[order])(*inputs), reference[order](*inputs), tolerance)


@pytest.mark.parametrize("impl", ["xla", "pallas", CUEQ])
def test_message_equals_gather_product_scatter(impl):
    product = _product(2)
    x, y, w = _inputs(product, jnp.float64)
    senders, receivers = _graph()
    per_edge = product(x[senders], y, w).array
    expected = jax.ops.segment_sum(per_edge, receivers, num_segments=NUM_NODES)
    got = _message(product, impl)(x, y, w)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert float(jnp.max(jnp.abs(got[4]))) == 0.0  # the node with no incoming edge


def test_kernel_checks_shapes_and_implementation():
    table = _product(2).message_table
    x = jnp.zeros((NUM_NODES, table.dim_in, 2))
    y = jnp.zeros((3, table.dim_edge))
    w = jnp.zeros((3, table.num_paths, 2))
    edges = jnp.zeros(3, int)
    with pytest.raises(ValueError, match="y has trailing shape"):
        kernels.channelwise_message(table, x, y[:, :2], w, edges, edges)
    with pytest.raises(ValueError, match="one row per edge"):
        kernels.channelwise_message(table, x, y, w, edges[:2], edges)
    with pytest.raises(ValueError, match="no 'pallas' implementation"):
        product = eqpot.tp.make("cg", "0e+1o", "0e+1o", "0e+1o", mode="uvw")
        product.message(
            jnp.ones((2, 4)), jnp.ones((1, 4)), None, edges[:1], edges[:1], impl="pallas"
        )
