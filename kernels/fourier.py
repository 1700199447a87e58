"""Execution of the Gaunt product through the 2D Fourier basis (Luo et al. 2024).

Three steps, each O(L^3) or less per channel:

1. ``sh -> Fourier``: ``F[u, v] = sum_m A[m, v] sum_l x_{lm} T[m, l, u]`` (exact tables of
   :mod:`eqpot.so3.fourier`), a ``(2L+1) x (2L+1)`` complex grid;
2. the product of the two functions is the 2D linear convolution of their grids, done by
   zero-padded FFTs of size ``2(L1+L2)+1``;
3. ``Fourier -> sh``: the closed-form projection integrals, keeping the real part.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl
from ._layout import MLLayout

__all__ = ["FourierOperand", "gaunt_fourier"]


@dataclasses.dataclass(frozen=True, eq=False)
class FourierOperand(MLLayout):
    """Tables of one operand: ``gather[m, l]`` as in :class:`kernels.s2grid.GridTables`,
    ``beta[m, l, u]`` and ``alpha`` (``[m, v]`` for inputs, ``[v, m]`` for the output)."""

    beta: np.ndarray
    alpha: np.ndarray


def _complex_dtype(dtype) -> jnp.dtype:
    return jnp.complex128 if jnp.dtype(dtype) == jnp.float64 else jnp.complex64


def _to_fourier(x: jnp.ndarray, op: FourierOperand) -> jnp.ndarray:
    cdtype = _complex_dtype(x.dtype)
    xml = op.to_ml(x).astype(cdtype)
    g = jnp.einsum("...ml,mlu->...um", xml, jnp.asarray(op.beta, cdtype))
    return g @ jnp.asarray(op.alpha, cdtype)  # (..., u, v)


def _from_fourier(h: jnp.ndarray, op: FourierOperand, dtype) -> jnp.ndarray:
    g = h @ jnp.asarray(op.alpha, h.dtype)  # (..., u, m)
    return op.from_ml(
        jnp.einsum("...um,mlu->...ml", g, jnp.asarray(op.beta, h.dtype)).real.astype(dtype)
    )


def gaunt_fourier(
    x1: jnp.ndarray,
    x2: jnp.ndarray,
    op1: FourierOperand,
    op2: FourierOperand,
    op_out: FourierOperand,
    *,
    impl: str | None = None,
) -> jnp.ndarray:
    """Gaunt product of ``x1`` (``(..., dim1)``) and ``x2`` (``(..., dim2)``), broadcasting."""
    resolve_impl("gaunt_fourier", impl)
    dtype = jnp.result_type(x1, x2)
    f1, f2 = _to_fourier(x1, op1), _to_fourier(x2, op2)
    size = (f1.shape[-2] + f2.shape[-2] - 1, f1.shape[-1] + f2.shape[-1] - 1)
    h = jnp.fft.ifft2(jnp.fft.fft2(f1, s=size) * jnp.fft.fft2(f2, s=size))
    return _from_fourier(h, op_out, dtype)
