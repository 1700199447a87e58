"""Every Pallas kernel lowers to Triton for a CUDA target, from this CPU host: forward,
gradient and gradient of the gradient, exported with ``jax.export(platforms=["cuda"])``.
This checks the Pallas → Triton lowering (the load/store shapes, loops, scalar indexing);
compiling the Triton IR to PTX and running it happens on the GPU
(``tests/kernels/test_pallas_gpu.py``)."""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import pytest

import eqpot.tp
from eqpot.kernels._pallas import lowering_for_gpu
from eqpot.nn.symmetric_contraction import SymmetricContractionSpec, symmetric_contraction

TRITON_CALL = "__gpu$xla.gpu.triton"


def _message():
    irreps = e3nn.Irreps("0e+1o+2e") * 4
    product = eqpot.tp.make("cg", irreps, "0e+1o+2e+3o", e3nn.Irreps("0e+1o+2e+3o") * 4, mode="uvu")
    senders, receivers = jnp.array([0, 1, 2, 2]), jnp.array([1, 2, 0, 0])

    def fn(x, w):
        x = e3nn.IrrepsArray(irreps, x)
        y = e3nn.spherical_harmonics("0e+1o+2e+3o", jnp.ones((4, 3)), True)
        return product.message(x, y, w, senders, receivers, impl="pallas").array

    return fn, (jnp.ones((3, irreps.dim)), jnp.ones((4, product.num_weights)))


def _symmetric_contraction():
    spec = SymmetricContractionSpec.build("0e+1o+2e+3o", "0e+1o", 3, "ordered")
    shapes = spec.weight_shapes(2, 4)
    species = jnp.array([0, 1, 1])

    def fn(x, w):
        weights = {key: w * jnp.ones(shape) for key, shape in shapes.items()}
        return symmetric_contraction(spec, x, species, weights, impl="pallas")

    return fn, (jnp.ones((3, 4, 16)), jnp.ones(()))


def _s2grid():
    product = eqpot.tp.make("gaunt_grid", e3nn.s2_irreps(2), e3nn.s2_irreps(2))
    return lambda a, b: product(a, b, impl="pallas").array, (jnp.ones((5, 9)), jnp.ones((5, 9)))


def _so2():
    irreps = e3nn.Irreps("0e+1o+2e") * 4
    product = eqpot.tp.make("so2", irreps, "1x1o", irreps, mode="uvu")
    vectors = jnp.array([[0.3, 1.0, -0.2], [1.0, 0.1, 0.4]])

    def fn(x, w):
        return product(x, vectors, w, impl="pallas").array

    return fn, (jnp.ones((2, irreps.dim)), jnp.ones((2, product.num_weights)))


CASES = {"message": _message, "symmetric_contraction": _symmetric_contraction}
CASES |= {"s2grid": _s2grid, "so2_linear": _so2}


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_lowers_to_triton_at_every_order(name):
    fn, args = CASES[name]()

    def loss(*a):
        return jnp.sum(jnp.sin(fn(*a)))

    inner = jax.grad(loss)
    orders = {
        "forward": fn,
        "grad": jax.grad(loss, argnums=(0, 1)),
        "grad_of_grad": jax.grad(lambda *a: jnp.sum(inner(*a) ** 2), argnums=(0, 1)),
    }
    allow = [jax.export.DisabledSafetyCheck.custom_call(TRITON_CALL)]
    for order, f in orders.items():
        with lowering_for_gpu():
            exported = jax.export.export(jax.jit(f), platforms=["cuda"], disabled_checks=allow)(
                *args
            )
        assert TRITON_CALL in exported.mlir_module(), (name, order)
