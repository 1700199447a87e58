"""Execution of the Gaunt product on a Gauss-Legendre S2 grid (Xie et al. 2025).

For coefficient vectors ``x1, x2`` (degree <= L1, L2, layout ``l**2 + l + m``) the output is
the component-normalised projection of the pointwise product of the two spherical functions:

    out_{lm} = (1/4pi) \\int_{S2} f1(r) f2(r) Y^l_m(r) dOmega,    f = sum_{lm} x_{lm} Y^l_m

evaluated *separably* in O(L^3) per channel: synthesis per ``m`` over the Legendre factor,
then over the azimuth, a pointwise product, and the transposed steps with quadrature
weights. The grid comes from the caller and must integrate degree ``L1 + L2 + L3`` exactly.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl
from ._layout import MLLayout

__all__ = ["GridTables", "from_grid", "gaunt_s2grid", "to_grid"]


@dataclasses.dataclass(frozen=True, eq=False)
class GridTables(MLLayout):
    """Separable synthesis/analysis tables of one operand.

    ``gather[m, l]``: index into ``concat(x, [0])`` of coefficient ``(l, m)`` (the zero slot
    for ``l < |m|``); ``polar[t, m, l]``: Legendre factor at latitude ``t``;
    ``azimuth[m, a]``: ``Phi_m`` at azimuth ``a``. For analysis tables ``polar`` and
    ``azimuth`` already carry the quadrature weights and the ``1/4pi``.
    """

    polar: np.ndarray
    azimuth: np.ndarray


def to_grid(x: jnp.ndarray, tables: GridTables) -> jnp.ndarray:
    """Values ``(..., res_beta, res_alpha)`` of ``sum x_lm Y^l_m`` on the grid."""
    xml = tables.to_ml(x)
    f = jnp.einsum("...ml,tml->...tm", xml, jnp.asarray(tables.polar, x.dtype))
    return f @ jnp.asarray(tables.azimuth, x.dtype)


def from_grid(values: jnp.ndarray, tables: GridTables) -> jnp.ndarray:
    """Coefficients ``(..., dim)`` of grid values, with the weights inside ``tables``."""
    g = values @ jnp.asarray(tables.azimuth.T, values.dtype)
    return tables.from_ml(
        jnp.einsum("...tm,tml->...ml", g, jnp.asarray(tables.polar, values.dtype))
    )


def gaunt_s2grid(
    x1: jnp.ndarray,
    x2: jnp.ndarray,
    tables1: GridTables,
    tables2: GridTables,
    tables_out: GridTables,
    *,
    impl: str | None = None,
) -> jnp.ndarray:
    """Gaunt product of ``x1`` (``(..., dim1)``) and ``x2`` (``(..., dim2)``), broadcasting.

    ``impl``: ``xla`` (separable, O(L^3) per row) or ``pallas`` (one fused kernel on dense
    operators, :mod:`eqpot.kernels.s2grid_pallas`; interpret mode on a CPU).
    """
    if resolve_impl("gaunt_s2grid", impl, ("xla", "pallas")) == "pallas":
        from .s2grid_pallas import dense_operators, grid_bilinear

        return grid_bilinear(x1, x2, dense_operators(tables1, tables2, tables_out))
    return from_grid(to_grid(x1, tables1) * to_grid(x2, tables2), tables_out)
