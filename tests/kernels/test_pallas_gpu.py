"""The Pallas kernels compiled for the GPU (Triton), and eqpot's message and contraction run
by cuEquivariance's CUDA kernel (method uniform_1d), at MACE-like sizes, against XLA on the
same device: forward, gradient and gradient of the gradient in float32. Skipped without a
GPU (the CPU tests run the same kernels in interpret mode, and cuEquivariance's pure-JAX
method, on tiny shapes)."""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import pytest

import eqpot.tp
from eqpot.models.mace import spherical_irreps
from eqpot.nn.symmetric_contraction import SymmetricContractionSpec, symmetric_contraction
from tests.helpers import CUEQ
from tests.helpers import assert_close as _assert_close
from tests.helpers import derivative_orders as _orders

pytestmark = pytest.mark.gpu
TOLERANCE = 1e-4  # float32, relative to the largest entry


def _random(key, *shapes):
    keys = jax.random.split(jax.random.PRNGKey(key), len(shapes))
    return [jax.random.normal(k, s, jnp.float32) for k, s in zip(keys, shapes, strict=True)]


def _compare(fn, args, impl="pallas"):
    other, xla = _orders(lambda *a: fn(impl, *a)), _orders(lambda *a: fn("xla", *a))
    for order in other:
        _assert_close(jax.jit(other[order])(*args), jax.jit(xla[order])(*args), TOLERANCE)


@pytest.mark.parametrize("impl", ["pallas", CUEQ])
def test_message_on_gpu(impl):
    channels, nodes, edges = 64, 300, 6000
    irreps = e3nn.Irreps("0e+1o+2e") * channels
    product = eqpot.tp.make(
        "cg", irreps, spherical_irreps(3), spherical_irreps(3, channels), mode="uvu"
    )
    senders = jax.random.randint(jax.random.PRNGKey(1), (edges,), 0, nodes)
    receivers = jax.random.randint(jax.random.PRNGKey(2), (edges,), 0, nodes - 7)
    args = _random(0, (nodes, irreps.dim), (edges, 16), (edges, product.num_weights))

    def fn(impl, x, y, w):
        x, y = e3nn.IrrepsArray(irreps, x), e3nn.IrrepsArray(spherical_irreps(3), y)
        return product.message(x, y, w, senders, receivers, impl=impl).array

    _compare(fn, args, impl)


@pytest.mark.parametrize("impl", ["pallas", CUEQ])
def test_symmetric_contraction_on_gpu(impl):
    spec = SymmetricContractionSpec.build("0e+1o+2e+3o", "0e+1o", 3, "ordered")
    channels, nodes, elements = 64, 500, 3
    (x,) = _random(3, (nodes, channels, 16))
    species = jax.random.randint(jax.random.PRNGKey(4), (nodes,), 0, elements)
    shapes = spec.weight_shapes(elements, channels)
    weights = dict(zip(shapes, _random(5, *shapes.values()), strict=True))

    def fn(impl, a, w):
        return symmetric_contraction(spec, a, species, w, impl=impl)

    _compare(fn, (x, weights), impl)


def test_s2grid_on_gpu():
    product = eqpot.tp.make("gaunt_grid", e3nn.s2_irreps(6), e3nn.s2_irreps(6), e3nn.s2_irreps(12))
    args = _random(6, (2000, product.irreps_in1.dim), (2000, product.irreps_in2.dim))

    def fn(impl, a, b):
        return product(a, b, impl=impl).array

    _compare(fn, args)


def test_so2_linear_on_gpu():
    irreps = e3nn.Irreps("0e+1o+2e") * 64
    product = eqpot.tp.make("so2", irreps, "1x1o", irreps, mode="uvu")
    vectors = jax.random.normal(jax.random.PRNGKey(7), (3000, 3), jnp.float32)
    args = _random(8, (3000, irreps.dim), (3000, product.num_weights))

    def fn(impl, x, w):
        return product(x, vectors, w, impl=impl).array

    _compare(fn, args)
