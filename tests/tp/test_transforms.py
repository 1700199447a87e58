"""jit, grad, grad-of-grad and vmap through every product."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import eqpot.tp as tp
from tests.helpers import random_inputs, random_weights

PRODUCTS = {
    "cg-uvw": lambda: tp.make("cg", "2x0e+2x1o", "0e+1o", "2x0e+2x1o+1x1e"),
    "cg-uvu": lambda: tp.make("cg", "2x0e+2x1o", "0e+1o", mode="uvu"),
    "cg-uv": lambda: tp.make("cg", "2x0e+2x1o", "0e+1o"),
    "gaunt_grid": lambda: tp.make("gaunt_grid", "2x0e+2x1o+2x2e", "0e+1o"),
    "gaunt_fourier": lambda: tp.make("gaunt_fourier", "2x0e+2x1o+2x2e", "0e+1o"),
    "so2": lambda: tp.make("so2", "2x0e+2x1o+2x2e", "1o", mode="uvu"),
    "cp": lambda: tp.make("cp", "2x0e+2x1o", "0e+1o", rank=6),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_jit_grad_hessian_vmap(name):
    product = PRODUCTS[name]()
    x1, x2 = random_inputs(product, 0, batch=3)
    w = random_weights(product, 1)

    def energy(a, b, weights):
        out = product(a, b, weights).array
        return jnp.sum(jnp.sin(out) * out)

    eager = energy(x1.array, x2.array, w)
    assert abs(float(jax.jit(energy)(x1.array, x2.array, w)) - float(eager)) < 1e-10

    # first and second derivatives (as force training needs), checked by finite differences
    g = jax.grad(energy, argnums=1)(x1.array, x2.array, w)
    direction = jax.random.normal(jax.random.PRNGKey(7), x2.shape)
    eps = 1e-6
    fd = (
        energy(x1.array, x2.array + eps * direction, w)
        - energy(x1.array, x2.array - eps * direction, w)
    ) / (2 * eps)
    assert abs(float(jnp.sum(g * direction)) - float(fd)) < 1e-6 * max(1.0, abs(float(fd)))
    h = jax.jit(jax.hessian(energy, argnums=1))(x1.array, x2.array, w)
    g_plus = jax.grad(energy, argnums=1)(x1.array, x2.array + eps * direction, w)
    g_minus = jax.grad(energy, argnums=1)(x1.array, x2.array - eps * direction, w)
    hv = jnp.einsum("...ij,ij->...", h, direction)
    assert np.max(np.abs(hv - (g_plus - g_minus) / (2 * eps))) < 1e-5
    if w is not None:  # force training: d/dw |dE/dx2|^2, against finite differences

        def force_loss(weights):
            return jnp.sum(jax.grad(energy, argnums=1)(x1.array, x2.array, weights) ** 2)

        dw = jax.random.normal(jax.random.PRNGKey(8), w.shape)
        fd_w = (force_loss(w + eps * dw) - force_loss(w - eps * dw)) / (2 * eps)
        analytic = jnp.sum(jax.grad(force_loss)(w) * dw)
        assert abs(float(analytic) - float(fd_w)) < 1e-6 * max(1.0, abs(float(fd_w)))

    batched = jax.vmap(lambda a, b: product(a, b, w).array)(x1.array, x2.array)
    assert np.max(np.abs(batched - product(x1, x2, w).array)) < 1e-12
