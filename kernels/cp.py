"""Execution of the CP-decomposed tensor product (TDN; Lin et al. 2025).

The whole coupling tensor ``M[i, j, k]`` (all paths at once) is replaced by a rank-``R`` CP
approximation ``M ~ sum_r A[i, r] B[j, r] C[k, r]``:

    "uvw": out[w, k] = sum_{u v r} W[u, v, w] (x1[u] A)_r (x2[v] B)_r C[k, r]
    "uvu": out[u, k] = sum_{v r}   W[u, v]    (x1[u] A)_r (x2[v] B)_r C[k, r]

at cost O(R d) per channel pair instead of O(d^3); all paths share the channel weight.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl

__all__ = ["cp_product"]


def cp_product(
    x1: jnp.ndarray,
    x2: jnp.ndarray,
    factors: tuple[np.ndarray, np.ndarray, np.ndarray],
    weights: jnp.ndarray,
    mode: str,
    *,
    impl: str | None = None,
) -> jnp.ndarray:
    """``x1`` (``(..., U, d1)``), ``x2`` (``(..., V, d2)``), weights ``([...,] U, V[, W])``.

    Returns ``(..., W or U, d_out)``.
    """
    resolve_impl("cp_product", impl)
    a, b, c = (jnp.asarray(f, x1.dtype) for f in factors)
    p1 = x1 @ a
    p2 = x2 @ b
    batched = "..." if weights.ndim > (3 if mode == "uvw" else 2) else ""
    if mode == "uvw":
        t = jnp.einsum(f"...ur,...vr,{batched}uvw->...wr", p1, p2, weights, optimize=True)
    else:
        t = jnp.einsum(f"...ur,...vr,{batched}uv->...ur", p1, p2, weights, optimize=True)
    return t @ c.T
