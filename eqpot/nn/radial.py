"""Radial embedding of edge lengths (MACE; Batatia et al. 2022, §3 and Klicpera et al. 2020).

    B_n(r) = sqrt(2 / r_c) sin(n pi r / r_c) / r,        n = 1..N          (Bessel basis)
    u(x)   = 1 - (p+1)(p+2)/2 x^p + p(p+2) x^(p+1) - p(p+1)/2 x^(p+2),   x = r / r_c < 1
    u(x)   = 0 for x >= 1                                                (polynomial envelope)

The envelope and its first two derivatives vanish at ``r_c``, so an edge at or beyond the
cutoff (e.g. a padding edge of :mod:`eqpot.graph`) contributes exactly zero with finite
gradients. Lengths in Å.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def bessel_basis(r: jax.Array, r_max: float, num_basis: int = 8) -> jax.Array:
    """``(..., num_basis)`` Bessel functions of ``r`` (``(...)``, Å); safe at ``r = 0``."""
    n = jnp.arange(1, num_basis + 1, dtype=r.dtype)
    safe = jnp.where(r > 0, r, 1.0)[..., None]
    values = jnp.sqrt(2.0 / r_max) * jnp.sin(n * jnp.pi * safe / r_max) / safe
    limit = jnp.sqrt(2.0 / r_max) * n * jnp.pi / r_max  # sin(a r)/r -> a as r -> 0
    return jnp.where(r[..., None] > 0, values, limit)


def polynomial_envelope(r: jax.Array, r_max: float, p: int = 5) -> jax.Array:
    """``u(r / r_max)`` with ``u = 0`` beyond the cutoff (shape of ``r``)."""
    x = r / r_max
    inside = jnp.where(x < 1.0, x, 0.0)  # keep the polynomial finite outside, then mask
    u = (
        1.0
        - (p + 1) * (p + 2) / 2 * inside**p
        + p * (p + 2) * inside ** (p + 1)
        - p * (p + 1) / 2 * inside ** (p + 2)
    )
    return jnp.where(x < 1.0, u, 0.0)


def radial_embedding(r: jax.Array, r_max: float, num_basis: int = 8, p: int = 5) -> jax.Array:
    """MACE's edge embedding ``B_n(r) u(r / r_max)``, shape ``(..., num_basis)``."""
    return bessel_basis(r, r_max, num_basis) * polynomial_envelope(r, r_max, p)[..., None]
