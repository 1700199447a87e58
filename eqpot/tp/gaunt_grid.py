"""Gaunt product on a Gauss-Legendre S2 grid (Xie et al. 2025, "The Price of Freedom").

The pointwise product of the two spherical functions is sampled on the smallest
Gauss-Legendre grid that integrates degree ``L1 + L2 + L_out`` exactly
(:func:`eqpot.so3.s2_grid_for_product`), so the product is exact, not approximate. Cost
O(L^3) per channel (separable synthesis and analysis). See :mod:`eqpot.tp._gaunt` for the
math, layout and weights.
"""

from __future__ import annotations

import functools

import numpy as np

from eqpot import kernels, so3
from eqpot.tp._gaunt import GauntProduct


def ml_gather(lmax: int) -> np.ndarray:
    """``[m, l]`` -> index ``l^2 + l + m`` in a degree-``lmax`` vector, or the zero slot."""
    m = np.arange(-lmax, lmax + 1)[:, None]
    l = np.arange(lmax + 1)[None, :]
    return np.where(np.abs(m) <= l, l * l + l + m, (lmax + 1) ** 2)


@functools.cache
def grid_tables(lmax: int, res_beta: int, res_alpha: int, analysis: bool) -> kernels.GridTables:
    grid = so3.gauss_legendre_grid(res_beta, res_alpha)
    theta = so3.polar_part(lmax, grid.cos_beta)  # [t, l, |m|]
    polar = np.stack([theta[:, :, abs(m)] for m in range(-lmax, lmax + 1)], axis=1)  # [t,m,l]
    azimuth = so3.azimuthal_part(lmax, grid.alpha).T  # [m, a]
    if analysis:
        polar = polar * grid.weights[:, None, None]
        azimuth = azimuth * (2 * np.pi / grid.res_alpha) / (4 * np.pi)
    return kernels.GridTables(ml_gather(lmax), polar, azimuth)


class GauntGridProduct(GauntProduct):
    """Exact Gaunt product through a Gauss-Legendre S2 grid."""

    family = "gaunt_grid"

    def __init__(self, irreps_in1, irreps_in2, irreps_out=None, *, res_beta=None, res_alpha=None):
        super().__init__(irreps_in1, irreps_in2, irreps_out)
        degree = self.lmax1 + self.lmax2 + self.lmax_out
        min_beta, min_alpha = so3.grid_resolution(degree)
        self.res_beta = res_beta or min_beta
        self.res_alpha = res_alpha or min_alpha
        if self.res_beta < min_beta or self.res_alpha < min_alpha:
            raise ValueError(
                f"gaunt_grid: grid ({self.res_beta}, {self.res_alpha}) is too coarse for "
                f"degree {degree}; at least ({min_beta}, {min_alpha}) is needed to be exact"
            )
        grid = (self.res_beta, self.res_alpha)
        self.tables = (
            grid_tables(self.lmax1, *grid, False),
            grid_tables(self.lmax2, *grid, False),
            grid_tables(self.lmax_out, *grid, True),
        )

    def _gaunt(self, f1, f2, impl):
        return kernels.gaunt_s2grid(f1, f2, *self.tables, impl=impl)
