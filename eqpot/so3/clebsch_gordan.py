"""Clebsch-Gordan and Gaunt coefficients of the real irreps of SO(3), float64, cached.

* ``su2_clebsch_gordan(j1, j2, j3)`` — the complex Condon-Shortley coefficients
  ``<j1 m1 j2 m2 | j3 m3>`` from Racah's closed formula, summed in exact rational arithmetic.
* ``complex_to_real(l)`` — the unitary ``Q`` with ``Y_real = Q @ Y_complex`` for the
  harmonics of :mod:`eqpot.so3.spherical_harmonics`, times the phase ``i**l`` that makes
  every real coupling tensor real (the same phase convention as e3nn-jax).
* ``clebsch_gordan(l1, l2, l3)`` — the real intertwiner ``C[a, b, c]`` with
  ``sum_ab C_abc (D1 x)_a (D2 y)_b = (D3 sum_ab C x y)_c`` and Frobenius norm 1,
  equal to ``e3nn.clebsch_gordan``.
* ``gaunt(l1, l2, l3)`` — the textbook Gaunt coefficient ``\\int Y Y Y dOmega`` for the
  orthonormal real harmonics (``\\int Y^2 = 1``), integrated exactly by Gauss-Legendre
  quadrature (the integrand is a polynomial of degree ``l1+l2+l3``). It vanishes when
  ``l1+l2+l3`` is odd and is otherwise proportional to ``clebsch_gordan``.

Every function returns a fresh copy of a cached table.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from eqpot.so3.grids import s2_quadrature
from eqpot.so3.spherical_harmonics import spherical_harmonics_from_angles


def _racah(j1: int, m1: int, j2: int, m2: int, j3: int, m3: int) -> float:
    """<j1 m1 j2 m2 | j3 m3> for integer spins (Racah's formula, Condon-Shortley phase)."""
    if m1 + m2 != m3 or not abs(j1 - j2) <= j3 <= j1 + j2:
        return 0.0
    if abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 0.0
    f = math.factorial
    prefactor = Fraction(
        (2 * j3 + 1) * f(j3 + j1 - j2) * f(j3 - j1 + j2) * f(j1 + j2 - j3),
        f(j1 + j2 + j3 + 1),
    ) * (f(j3 + m3) * f(j3 - m3) * f(j1 - m1) * f(j1 + m1) * f(j2 - m2) * f(j2 + m2))
    total = Fraction(0)
    for k in range(0, j1 + j2 - j3 + 1):
        denominators = (
            k,
            j1 + j2 - j3 - k,
            j1 - m1 - k,
            j2 + m2 - k,
            j3 - j2 + m1 + k,
            j3 - j1 - m2 + k,
        )
        if min(denominators) < 0:
            continue
        total += Fraction((-1) ** k, math.prod(f(d) for d in denominators))
    # sqrt of the exact rational prefactor, then the exact rational sum: one rounding each.
    return math.sqrt(prefactor) * float(total) if total else 0.0


@functools.cache
def _su2_clebsch_gordan(j1: int, j2: int, j3: int) -> np.ndarray:
    out = np.zeros((2 * j1 + 1, 2 * j2 + 1, 2 * j3 + 1))
    for m1 in range(-j1, j1 + 1):
        for m2 in range(-j2, j2 + 1):
            if abs(m1 + m2) <= j3:
                out[j1 + m1, j2 + m2, j3 + m1 + m2] = _racah(j1, m1, j2, m2, j3, m1 + m2)
    return out


def su2_clebsch_gordan(j1: int, j2: int, j3: int) -> np.ndarray:
    """Complex-basis CG ``<j1 m1 j2 m2 | j3 m3>`` as an array ``(2j1+1, 2j2+1, 2j3+1)``."""
    return _su2_clebsch_gordan(j1, j2, j3).copy()


@functools.cache
def _complex_to_real(l: int) -> np.ndarray:
    # Real Y_{+m} = sqrt2 N P cos(m a) and Y_{-m} = sqrt2 N P sin(m a) written through the
    # Condon-Shortley complex harmonics Y^m = (-1)^m N P e^{i m a} (azimuth a about y).
    q = np.zeros((2 * l + 1, 2 * l + 1), dtype=np.complex128)
    s = 1.0 / np.sqrt(2.0)
    q[l, l] = 1.0
    for m in range(1, l + 1):
        q[l + m, l + m] = (-1) ** m * s
        q[l + m, l - m] = s
        q[l - m, l - m] = 1j * s
        q[l - m, l + m] = -1j * (-1) ** m * s
    return (1j) ** l * q


def complex_to_real(l: int) -> np.ndarray:
    """Unitary ``Q`` (``(2l+1, 2l+1)`` complex) with real coefficients ``x = conj(Q) @ c``."""
    return _complex_to_real(l).copy()


@functools.cache
def _clebsch_gordan(l1: int, l2: int, l3: int) -> np.ndarray:
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        return np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1))
    c = np.einsum(
        "am,bn,cM,mnM->abc",
        _complex_to_real(l1),
        _complex_to_real(l2),
        np.conj(_complex_to_real(l3)),
        _su2_clebsch_gordan(l1, l2, l3),
    )
    if np.abs(c.imag).max() > 1e-12:  # pragma: no cover - a convention bug, not user input
        raise AssertionError(f"real CG ({l1},{l2},{l3}) has an imaginary part")
    c = c.real
    return c / np.linalg.norm(c)


def clebsch_gordan(l1: int, l2: int, l3: int) -> np.ndarray:
    """Real Clebsch-Gordan tensor ``(2l1+1, 2l2+1, 2l3+1)`` with Frobenius norm 1.

    Zero unless ``|l1-l2| <= l3 <= l1+l2``; parity is not checked (it is a property of the
    irreps, not of the coefficients). Matches ``e3nn.clebsch_gordan`` to round-off.
    """
    return _clebsch_gordan(l1, l2, l3).copy()


@functools.cache
def _gaunt(l1: int, l2: int, l3: int) -> np.ndarray:
    lmax = max(l1, l2, l3)
    alpha, beta, weights = s2_quadrature(l1 + l2 + l3)
    y = spherical_harmonics_from_angles(lmax, alpha, beta) / np.sqrt(4 * np.pi)
    blocks = [y[..., l * l : (l + 1) ** 2].reshape(-1, 2 * l + 1) for l in (l1, l2, l3)]
    g = np.einsum("p,pa,pb,pc->abc", weights.reshape(-1), *blocks)
    if (l1 + l2 + l3) % 2 or not abs(l1 - l2) <= l3 <= l1 + l2:
        g[...] = 0.0  # exactly zero, not round-off
    return g


def gaunt(l1: int, l2: int, l3: int) -> np.ndarray:
    """Gaunt coefficients ``G[a, b, c] = \\int_{S2} Y^{l1}_a Y^{l2}_b Y^{l3}_c dOmega``.

    For the orthonormal real harmonics (``\\int Y^2 dOmega = 1``; e3nn's "integral"
    normalisation). Exact: the Gauss-Legendre rule integrates the degree-(l1+l2+l3)
    integrand without error, leaving only float64 round-off.
    """
    return _gaunt(l1, l2, l3).copy()
