"""Execution of the SO(2)-reduced convolution of eSCN (Passaro & Zitnick 2023).

Inputs are per-channel coefficient vectors ``x`` (``(..., C_in, d_in)``) and the Wigner
matrices ``D_in``, ``D_out`` of a rotation that takes each edge to +y. In that frame the
convolution with the edge's spherical harmonics is block-diagonal in ``|m|``:

    y_{+m} = W_r^m x_{+m} - W_i^m x_{-m},    y_{-m} = W_r^m x_{-m} + W_i^m x_{+m},    m >= 1
    y_0 = W_r^0 x_0

where ``x_{+-m}`` stacks the coefficients ``(l, +-m)`` for ``l >= m`` (and channels). Then
``y`` is rotated back with ``D_out^T``. Components with ``|m| > m_max`` are dropped, which
keeps the map exactly equivariant.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl

__all__ = ["SO2Block", "SO2Layout", "so2_convolution"]


@dataclasses.dataclass(frozen=True, eq=False)
class SO2Block:
    """Indices of one ``|m|``: ``plus_in``/``minus_in`` (``(n_in,)`` positions in ``d_in``;
    ``minus_in`` is ``None`` for m = 0) and gathers ``real``/``imag`` into
    ``concat(weights, [0])`` shaped ``(n_in, C_in, n_out, C_out)`` ("uvw") or
    ``(n_in, n_out, C)`` ("uvu"); ``imag`` is ``None`` for m = 0."""

    m: int
    plus_in: np.ndarray
    minus_in: np.ndarray | None
    real: np.ndarray
    imag: np.ndarray | None


@dataclasses.dataclass(frozen=True, eq=False)
class SO2Layout:
    """All ``|m|`` blocks, the connection mode, and ``out_gather``: for each output
    coefficient, its index in the concatenation of the blocks' outputs ``[y_0, y_{+1},
    y_{-1}, y_{+2}, ...]`` plus one zero slot (for ``|m| > m_max``)."""

    blocks: tuple[SO2Block, ...]
    mode: str
    out_gather: np.ndarray
    num_weights: int


def _apply(x: jnp.ndarray, w: jnp.ndarray, mode: str) -> jnp.ndarray:
    if mode == "uvw":
        return jnp.einsum("...cl,...lcLd->...dL", x, w)
    return jnp.einsum("...cl,...lLc->...cL", x, w)


def so2_convolution(
    x: jnp.ndarray,
    d_in: jnp.ndarray,
    d_out: jnp.ndarray,
    layout: SO2Layout,
    weights: jnp.ndarray,
    *,
    impl: str | None = None,
) -> jnp.ndarray:
    """Rotate to the edge frame, apply the per-``|m|`` SO(2) linears, rotate back.

    Args:
        x: ``(..., C_in, d_in)`` per-channel coefficients.
        d_in, d_out: ``(..., d, d)`` block-diagonal Wigner matrices of the edge rotation.
        weights: ``(num_weights,)`` shared or ``(..., num_weights)`` per edge.

    Returns:
        ``(..., C_out, d_out)``.
    """
    resolve_impl("so2_convolution", impl)
    xr = jnp.einsum("...ij,...cj->...ci", d_in, x)
    padded = jnp.concatenate([weights, jnp.zeros((*weights.shape[:-1], 1), weights.dtype)], -1)
    pieces = []
    for block in layout.blocks:
        w_r = padded[..., block.real]
        xp = xr[..., block.plus_in]
        if block.minus_in is None:
            pieces.append(_apply(xp, w_r, layout.mode))
            continue
        w_i = padded[..., block.imag]
        xm = xr[..., block.minus_in]
        pieces.append(_apply(xp, w_r, layout.mode) - _apply(xm, w_i, layout.mode))
        pieces.append(_apply(xm, w_r, layout.mode) + _apply(xp, w_i, layout.mode))
    y = jnp.concatenate(pieces, axis=-1)
    y = jnp.concatenate([y, jnp.zeros((*y.shape[:-1], 1), y.dtype)], axis=-1)
    y = y[..., layout.out_gather]
    return jnp.einsum("...ji,...cj->...ci", d_out, y)
