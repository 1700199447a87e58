"""Shared test helpers: random O(3) elements and the equivariance error of a product."""

from __future__ import annotations

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eqpot import kernels

#: ``impl="cueq"`` as a test parameter, skipped (with the reason) where cuEquivariance-JAX is
#: not installed; the ``test`` extra installs it, so CI runs it (method "naive" on a CPU)
CUEQ = pytest.param(
    "cueq",
    marks=pytest.mark.skipif(
        not kernels.cueq_installed(), reason="cuEquivariance-JAX not installed (eqpot[cueq])"
    ),
)


def random_o3(seed: int, inversion: bool) -> jnp.ndarray:
    """A random rotation, times -1 (an improper rotation) when ``inversion``."""
    q = e3nn.rand_matrix(jax.random.PRNGKey(seed), (), dtype=jnp.float64)
    return -q if inversion else q


def random_inputs(product, seed: int, batch: int = 3):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    x1 = e3nn.normal(product.irreps_in1, k1, (batch,), dtype=jnp.float64)
    x2 = e3nn.normal(product.irreps_in2, k2, (batch,), dtype=jnp.float64)
    return x1, x2


def random_weights(product, seed: int, batch=()):
    if product.num_weights == 0:
        return None
    return jax.random.normal(jax.random.PRNGKey(seed), (*batch, product.num_weights), jnp.float64)


def equivariance_error(product, q, seed: int = 0, weights=None) -> float:
    """max |T(Q x1, Q x2) - Q T(x1, x2)| relative to max |T(x1, x2)|."""
    x1, x2 = random_inputs(product, seed)
    if weights is None:
        weights = random_weights(product, seed + 1)
    out = product(x1, x2, weights)
    rotated = product(x1.transform_by_matrix(q), x2.transform_by_matrix(q), weights)
    expected = out.transform_by_matrix(q)
    scale = float(jnp.max(jnp.abs(out.array)))
    assert scale > 1e-3, "degenerate test: the product output is (nearly) zero"
    return float(jnp.max(jnp.abs(rotated.array - expected.array))) / scale


def np_max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def assert_close(got, want, tolerance: float) -> None:
    """Every leaf of ``got`` within ``tolerance`` of ``want``, relative to want's largest entry."""
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        scale = max(float(jnp.max(jnp.abs(r))), 1e-30)
        assert float(jnp.max(jnp.abs(g - r))) <= tolerance * scale


def derivative_orders(fn, argnums=(0, 1)) -> dict:
    """``fn``, the gradient of a nonlinear loss of it, and the gradient of the squared
    gradient with respect to the first argument (forces inside a loss, as in training)."""

    def loss(*args):
        return jnp.sum(jnp.sin(fn(*args)))

    inner = jax.grad(loss, argnums=0)
    return {
        "forward": fn,
        "grad": jax.grad(loss, argnums=argnums),
        "grad_of_grad": jax.grad(lambda *a: jnp.sum(inner(*a) ** 2), argnums=argnums),
    }


def dot_precisions(jaxpr, within: str | None = None) -> list:
    """The ``precision`` of every dot_general in ``jaxpr`` and its sub-jaxprs; with
    ``within`` (a primitive's name, e.g. ``"pallas_call"``), only those inside its equations."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general" and within is None:
            found.append(eqn.params["precision"])
        inside = None if eqn.primitive.name == within else within
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found += dot_precisions(inner, inside)
    return found
