"""The fused Pallas S2-grid kernel (interpret mode on CPU) against the XLA reference:
forward, gradient and gradient of the gradient, float64 and float32, ragged batches."""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import eqpot.tp
from eqpot import kernels
from eqpot.kernels._pallas import lowering_for_gpu
from tests.helpers import derivative_orders, dot_precisions


def _functions(product):
    def value(impl):
        def f(x1, x2):
            out = product(
                e3nn.IrrepsArray(product.irreps_in1, x1),
                e3nn.IrrepsArray(product.irreps_in2, x2),
                impl=impl,
            ).array
            return jnp.sum(jnp.sin(out))  # a nonlinear loss: second derivatives are not trivial

        return f

    def first(impl):
        return jax.grad(value(impl), argnums=(0, 1))

    def second(impl):
        inner = jax.grad(value(impl), argnums=0)
        return jax.grad(lambda a, b: jnp.sum(inner(a, b) ** 2), argnums=(0, 1))

    def forward(impl):
        return lambda a, b: (
            product(
                e3nn.IrrepsArray(product.irreps_in1, a),
                e3nn.IrrepsArray(product.irreps_in2, b),
                impl=impl,
            ).array
        )

    return {"forward": forward, "grad": first, "grad_of_grad": second}


@pytest.mark.parametrize(
    ("dtype", "tolerance", "shape1", "shape2"),
    [
        (jnp.float64, 1e-10, (5,), (5,)),
        (jnp.float64, 1e-10, (70,), (70,)),  # a ragged last block of rows
        (jnp.float64, 1e-10, (3, 4), (3, 1)),  # channels broadcast against one operand
        (jnp.float32, 1e-5, (70,), (70,)),
    ],
    ids=["f64-5", "f64-70", "f64-broadcast", "f32-70"],
)
def test_pallas_equals_xla(dtype, tolerance, shape1, shape2):
    product = eqpot.tp.make("gaunt_grid", "0e+1o+2e", "0e+1o+2e+3o")
    x1 = e3nn.normal(product.irreps_in1, jax.random.PRNGKey(0), shape1, dtype=dtype).array
    x2 = e3nn.normal(product.irreps_in2, jax.random.PRNGKey(1), shape2, dtype=dtype).array
    for name, make in _functions(product).items():
        expected = jax.tree_util.tree_leaves(make("xla")(x1, x2))
        got = jax.tree_util.tree_leaves(make("pallas")(x1, x2))
        for e, g in zip(expected, got, strict=True):
            assert g.shape == e.shape and g.dtype == e.dtype
            scale = float(jnp.max(jnp.abs(e)))
            assert scale > 1e-3, name
            assert float(jnp.max(jnp.abs(g - e))) <= tolerance * scale, name


def test_dense_operators_reproduce_the_separable_tables():
    product = eqpot.tp.make("gaunt_grid", "0e+1o", "0e+1o+2e")
    from eqpot.kernels.s2grid_pallas import dense_operators

    ops = dense_operators(*product.tables)
    d1, d2, dout = ops.dims
    assert (d1, d2, dout) == (4, 9, product.tables[2].dim)
    # padding is zero and the operators are powers of two wide
    for a in (ops.a1, ops.a2, ops.a3):
        assert all(n & (n - 1) == 0 for n in a.shape)
    assert np.all(ops.a1[d1:] == 0) and np.all(ops.a3[:, dout:] == 0)


def test_impl_is_chosen_by_environment(monkeypatch):
    product = eqpot.tp.make("gaunt_grid", "0e+1o", "0e+1o")
    x = e3nn.normal(product.irreps_in1, jax.random.PRNGKey(0), (3,), dtype=jnp.float64)
    monkeypatch.setenv(kernels.ENV_VAR, "pallas")
    via_env = product(x, x).array
    monkeypatch.setenv(kernels.ENV_VAR, "cueq")  # a preference this kernel lacks: XLA runs
    via_fallback = product(x, x).array
    monkeypatch.delenv(kernels.ENV_VAR)
    reference = product(x, x, impl="xla").array
    np.testing.assert_allclose(via_env, reference, atol=1e-12)
    np.testing.assert_array_equal(via_fallback, reference)
    with pytest.raises(ValueError, match="no 'cueq' implementation"):
        product(x, x, impl="cueq")  # an argument is strict


def test_first_call_inside_jit():
    """The dense operators are built eagerly even when the first call is being traced."""
    from eqpot.kernels.s2grid_pallas import dense_operators

    product = eqpot.tp.make("gaunt_grid", "0e+1o", "0e+1o")
    dense_operators.cache_clear()
    x = jnp.ones((3, 4))
    out = jax.jit(lambda a, b: product(a, b, impl="pallas").array)(x, x)
    np.testing.assert_allclose(out, product(x, x, impl="xla").array, rtol=1e-10, atol=1e-12)


def test_kernel_products_follow_the_traced_matmul_precision():
    """The kernel's in-kernel dots carry the precision they were traced under, which
    Pallas's Triton lowering maps to ``input_precision``: HIGHEST (what
    ``eqpot.models.predict`` traces float32 models under) to IEEE float32, JAX's DEFAULT to
    TensorFloat32. Checked on the kernel traced for a GPU, at every derivative order."""
    product = eqpot.tp.make("gaunt_grid", e3nn.s2_irreps(2), e3nn.s2_irreps(2))
    args = (jnp.ones((5, 9), jnp.float32), jnp.ones((5, 9), jnp.float32))

    def fn(x1, x2):
        return product(x1, x2, impl="pallas").array

    highest = (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)
    for order, f in derivative_orders(fn).items():
        with lowering_for_gpu():
            with jax.default_matmul_precision("float32"):
                chosen = dot_precisions(jax.make_jaxpr(f)(*args).jaxpr, "pallas_call")
            with jax.default_matmul_precision(None):  # JAX's default (the suite sets one)
                default = dot_precisions(jax.make_jaxpr(f)(*args).jaxpr, "pallas_call")
        assert chosen and all(p == highest for p in chosen), (order, set(chosen))
        assert default and all(p is None for p in default), (order, set(default))
