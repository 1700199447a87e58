"""The sparse-polynomial Pallas kernel (interpret mode on CPU): a hand-written polynomial
against its jnp definition, and MACE's symmetric contraction against the XLA
implementation — forward, gradient and gradient of the gradient."""

import jax
import jax.numpy as jnp
import pytest

from eqpot import kernels
from eqpot.nn.symmetric_contraction import SymmetricContractionSpec, symmetric_contraction
from tests.helpers import CUEQ
from tests.helpers import assert_close as _assert_close
from tests.helpers import derivative_orders as _orders

# out[0] = 2 x0^2 y1 - x1,  out[1] = 0.5 x0 x1 y0   (inputs x: 2 components, y: 2)
POLY = kernels.Polynomial(
    [
        (0, 2.0, ((0, 0), (0, 0), (1, 1))),
        (0, -1.0, ((0, 1),)),
        (1, 0.5, ((0, 0), (0, 1), (1, 0))),
    ],
    input_dims=(2, 2),
    out_dim=3,  # out[2] has no terms: zero
)


def _reference(x, y):
    out0 = 2 * x[:, 0] ** 2 * y[:, 1] - x[:, 1]
    out1 = 0.5 * x[:, 0] * x[:, 1] * y[:, 0]
    return jnp.stack([out0, out1, jnp.zeros_like(out0)], axis=1)


def test_polynomial_and_its_derivatives_match_the_definition():
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(k1, (11, 2, 3), jnp.float64)  # 11 nodes: a ragged node block
    y = jax.random.normal(k2, (11, 2, 3), jnp.float64)
    mine = _orders(lambda a, b: kernels.evaluate_polynomial(POLY, a, b))
    reference = _orders(_reference)
    for order in mine:
        _assert_close(mine[order](x, y), reference[order](x, y), 1e-12)


def test_table_input_gathered_in_the_kernel_matches_gathering_first():
    """Input 1 as a table read through per-node rows; its gradient sums into the rows
    (rows 1 and 3 are shared, row 2 unused: its gradient must be zero)."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(2))
    x = jax.random.normal(k1, (11, 2, 3), jnp.float64)
    table = jax.random.normal(k2, (4, 2, 3), jnp.float64)
    rows = jnp.array([1, 3, 0, 1, 1, 3, 0, 0, 1, 3, 1])
    mine = _orders(lambda a, t: kernels.evaluate_polynomial(POLY, a, t, rows={1: rows}))
    reference = _orders(lambda a, t: _reference(a, t[rows]))
    for order in mine:
        _assert_close(mine[order](x, table), reference[order](x, table), 1e-12)
    grad_table = jax.grad(lambda t: mine["forward"](x, t).sum())(table)
    assert jnp.all(grad_table[2] == 0) and jnp.any(grad_table[1] != 0)


def test_derivative_polynomial_is_symbolic():
    d = POLY.derivative(0)  # d/dx0 of 2 x0^2 y1 is 4 x0 y1: the power comes down
    assert (0, 4.0, ((0, 0), (1, 1), (2, 0))) in d.terms
    assert d.input_dims == (2, 2, 3) and d.out_dim == 2
    assert POLY.derivative(0) is d  # built once


def _contraction_inputs(dtype, channels=3, num_elements=2):
    spec = SymmetricContractionSpec.build("0e+1o", "0e+1o", 3, "ordered")
    k1, k2 = jax.random.split(jax.random.PRNGKey(1))
    x = jax.random.normal(k1, (5, channels, spec.irreps_in.dim), dtype)
    species = jnp.array([0, 1, 1, 0, 1])
    shapes = spec.weight_shapes(num_elements, channels)
    weights = {
        key: jax.random.normal(jax.random.fold_in(k2, i), shape, dtype)
        for i, (key, shape) in enumerate(shapes.items())
    }
    return spec, x, species, weights


@pytest.mark.parametrize(
    ("dtype", "tolerance", "orders"),
    [
        (jnp.float64, 1e-10, ("forward", "grad", "grad_of_grad")),
        (jnp.float32, 1e-5, ("forward", "grad")),
    ],
)
@pytest.mark.parametrize("impl", ["pallas", CUEQ])
def test_symmetric_contraction_polynomial_matches_xla(impl, dtype, tolerance, orders):
    """The sparse polynomial, run by the Pallas kernel or by cuEquivariance, against XLA."""
    spec, x, species, weights = _contraction_inputs(dtype)

    def run(impl):
        return _orders(lambda a, w: symmetric_contraction(spec, a, species, w, impl=impl))

    polynomial, xla = run(impl), run("xla")
    for order in orders:
        _assert_close(jax.jit(polynomial[order])(x, weights), xla[order](x, weights), tolerance)


def test_polynomial_checks_its_terms():
    with pytest.raises(ValueError, match="at least one factor"):
        kernels.Polynomial([(0, 1.0, ())], input_dims=(2,), out_dim=1)
    with pytest.raises(ValueError, match="component < its dimension"):
        kernels.Polynomial([(0, 1.0, ((0, 5),))], input_dims=(2,), out_dim=1)


def test_polynomial_checks_inputs():
    x = jnp.ones((4, 2, 3))
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        kernels.evaluate_polynomial(POLY, x)
    with pytest.raises(ValueError, match=r"input 1 has shape \(4, 3, 3\), expected \(4, 2, 3\)"):
        kernels.evaluate_polynomial(POLY, x, jnp.ones((4, 3, 3)))
    with pytest.raises(ValueError, match=r"rows\[1\] has 5 entries for 4 nodes"):
        kernels.evaluate_polynomial(POLY, x, x, rows={1: jnp.zeros(5, jnp.int32)})
    with pytest.raises(ValueError, match=r"rows\[1\] must be a 1-D integer array"):
        kernels.evaluate_polynomial(POLY, x, x, rows={1: jnp.zeros(4)})
