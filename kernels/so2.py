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
import functools

import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl
from .polynomial_pallas import Polynomial, evaluate_polynomial

__all__ = ["SO2Block", "SO2Layout", "so2_convolution", "so2_linear_polynomial"]


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


@functools.lru_cache(maxsize=64)
def so2_linear_polynomial(layout: SO2Layout, d_in: int, d_out: int) -> Polynomial:
    """The channel-wise ("uvu") SO(2) linear as a sparse polynomial of ``(x_rot, w)``, with
    ``x_rot`` ``(E, d_in, C)`` and ``w`` the weights as ``(E, num_weights / C, C)`` rows.

    Raises:
        ValueError: the layout is "uvw" (it mixes channels: a dense matrix product per
            ``|m|``, which XLA's GEMMs already run well).
    """
    if layout.mode != "uvu":
        raise ValueError("so2_convolution: the Pallas kernel covers the channel-wise ('uvu') mode")
    channels = layout.blocks[0].real.shape[-1]
    position_to_out = {int(pos): q for q, pos in enumerate(layout.out_gather)}
    terms, position = [], 0

    def add(out_position, weight_index, x_index, sign):
        out = position_to_out.get(out_position)
        if out is not None and weight_index < layout.num_weights:
            factors = ((0, int(x_index)), (1, int(weight_index) // channels))
            terms.append((out, sign, factors))

    for block in layout.blocks:
        n_out = block.real.shape[1]
        for a in range(block.real.shape[0]):
            for b in range(n_out):
                real = block.real[a, b, 0]
                add(position + b, real, block.plus_in[a], 1.0)
                if block.imag is None:
                    continue
                imag = block.imag[a, b, 0]
                add(position + b, imag, block.minus_in[a], -1.0)
                add(position + n_out + b, real, block.minus_in[a], 1.0)
                add(position + n_out + b, imag, block.plus_in[a], 1.0)
        position += n_out if block.imag is None else 2 * n_out
    return Polynomial(terms, (d_in, layout.num_weights // channels), d_out)


def _so2_linear(x, layout, weights, impl):
    """``x`` ``(..., C, d_in)`` in the edge frame -> ``(..., C, d_out)``."""
    if impl == "pallas":
        channels, d_out = x.shape[-2], layout.out_gather.shape[0]
        poly = so2_linear_polynomial(layout, x.shape[-1], d_out)
        batch = jnp.broadcast_shapes(x.shape[:-2], weights.shape[:-1])
        rows = jnp.broadcast_to(x, (*batch, *x.shape[-2:])).reshape(-1, *x.shape[-2:])
        w = jnp.broadcast_to(weights, (*batch, weights.shape[-1])).reshape(-1, weights.shape[-1])
        w = w.reshape(w.shape[0], -1, channels)
        y = evaluate_polynomial(poly, jnp.swapaxes(rows, -1, -2), w)
        return jnp.swapaxes(y, -1, -2).reshape(*batch, channels, d_out)
    padded = jnp.concatenate([weights, jnp.zeros((*weights.shape[:-1], 1), weights.dtype)], -1)
    pieces = []
    for block in layout.blocks:
        w_r = padded[..., block.real]
        xp = x[..., block.plus_in]
        if block.minus_in is None:
            pieces.append(_apply(xp, w_r, layout.mode))
            continue
        w_i = padded[..., block.imag]
        xm = x[..., block.minus_in]
        pieces.append(_apply(xp, w_r, layout.mode) - _apply(xm, w_i, layout.mode))
        pieces.append(_apply(xm, w_r, layout.mode) + _apply(xp, w_i, layout.mode))
    y = jnp.concatenate(pieces, axis=-1)
    y = jnp.concatenate([y, jnp.zeros((*y.shape[:-1], 1), y.dtype)], axis=-1)
    return y[..., layout.out_gather]


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
        impl: ``xla``, or ``pallas`` for the channel-wise mode (the SO(2) linear through the
            sparse-polynomial kernel; the rotations stay XLA matrix products).

    Returns:
        ``(..., C_out, d_out)``.
    """
    available = ("xla", "pallas") if layout.mode == "uvu" else ("xla",)
    impl = resolve_impl("so2_convolution", impl, available)
    xr = jnp.einsum("...ij,...cj->...ci", d_in, x)
    y = _so2_linear(xr, layout, weights, impl)
    return jnp.einsum("...ji,...cj->...ci", d_out, y)
