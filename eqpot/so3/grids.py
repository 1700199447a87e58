"""Gauss-Legendre quadrature grids on the sphere, sized by the exactness rule.

A grid of ``res_beta`` Gauss-Legendre nodes in ``cos(beta)`` (beta measured from the y
axis) times ``res_alpha`` equispaced azimuths integrates every spherical polynomial of
degree ``<= degree`` exactly when

    res_beta >= (degree + 1) / 2      (Gauss-Legendre: exact to polynomial degree 2n - 1)
    res_alpha >= degree + 1           (trapezoid rule: exact for |frequency| < res_alpha)

For the Gaunt product of degrees ``L1 x L2 -> L3`` the integrand ``f1 f2 Y^{L3}`` has degree
``L1 + L2 + L3``; :func:`s2_grid_for_product` applies the rule to that degree. (Xie et al.
2025 use the larger ``res_beta = 2L+1``, ``res_alpha = 2(2L+1)`` for ``L x L -> 2L``.)
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np


@dataclasses.dataclass(frozen=True)
class S2Grid:
    """A product grid: ``cos_beta`` (res_beta,), ``alpha`` (res_alpha,), ``weights`` (res_beta,).

    The full quadrature weight of node ``(i, j)`` is ``weights[i] * 2 pi / res_alpha``; all
    weights sum to ``4 pi``.
    """

    cos_beta: np.ndarray
    alpha: np.ndarray
    weights: np.ndarray

    @property
    def res_beta(self) -> int:
        return self.cos_beta.shape[0]

    @property
    def res_alpha(self) -> int:
        return self.alpha.shape[0]

    @property
    def num_points(self) -> int:
        return self.res_beta * self.res_alpha


def grid_resolution(degree: int) -> tuple[int, int]:
    """Smallest ``(res_beta, res_alpha)`` integrating spherical polynomials of ``degree``."""
    if degree < 0:
        raise ValueError(f"degree must be >= 0, got {degree}")
    return degree // 2 + 1, degree + 1


@functools.cache
def _gauss_legendre_grid(res_beta: int, res_alpha: int) -> S2Grid:
    x, w = np.polynomial.legendre.leggauss(res_beta)
    alpha = 2 * np.pi * np.arange(res_alpha) / res_alpha
    return S2Grid(cos_beta=x, alpha=alpha, weights=w)


def gauss_legendre_grid(res_beta: int, res_alpha: int) -> S2Grid:
    """Gauss-Legendre grid with the given resolution (cached, read-only arrays)."""
    if res_beta < 1 or res_alpha < 1:
        raise ValueError(f"grid resolution must be positive, got ({res_beta}, {res_alpha})")
    return _gauss_legendre_grid(res_beta, res_alpha)


def s2_grid_for_product(l1: int, l2: int, l3: int) -> S2Grid:
    """The smallest grid on which the Gaunt product ``L1 x L2 -> L3`` is exact."""
    return gauss_legendre_grid(*grid_resolution(l1 + l2 + l3))


def s2_quadrature(degree: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flattened-friendly ``(alpha, beta, weight)`` arrays ``(res_beta, res_alpha)``."""
    grid = gauss_legendre_grid(*grid_resolution(degree))
    beta, alpha = np.meshgrid(np.arccos(grid.cos_beta), grid.alpha, indexing="ij")
    weight = np.repeat(grid.weights[:, None], grid.res_alpha, axis=1) * 2 * np.pi / grid.res_alpha
    return alpha, beta, weight
