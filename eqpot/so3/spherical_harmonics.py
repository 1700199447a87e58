"""Real spherical harmonics in e3nn-jax's convention, evaluated in NumPy float64.

Convention (e3nn-jax, "component" normalisation):

* the polar axis is **y**: ``beta = arccos(y)``, ``alpha = atan2(x, z)``;
* ``Y^l_m(beta, alpha) = Theta_{l|m|}(beta) * Phi_m(alpha)`` with
  ``Phi_m = sin(|m| alpha)`` for m < 0, ``1`` for m = 0, ``cos(m alpha)`` for m > 0, and
  ``Theta_{lm} = sqrt(4 pi) * c_m * Pbar_l^m(cos beta)`` where ``Pbar`` is the orthonormal
  associated Legendre function *without* the Condon-Shortley phase and ``c_0 = 1``,
  ``c_{m>0} = sqrt(2)``;
* so that ``sum_m Y^l_m(r)^2 = 2l + 1`` for unit ``r`` and
  ``(1/4pi) \\int Y^l_m Y^l'_m' dOmega = delta_ll' delta_mm'``.

Coefficients of degree ``l`` are stored at ``l**2 + l + m`` (m = -l..l), as in e3nn-jax.

The polar factor takes ``cos(beta)`` and ``sin(beta)`` separately so that it can be
continued analytically to ``beta`` outside ``[0, pi]`` (used by the exact 2D-Fourier basis
change, where ``Theta_{lm}`` is a trigonometric polynomial of degree ``l`` in ``beta``).
"""

from __future__ import annotations

import numpy as np


def angles_from_xyz(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(alpha, beta)`` of unit vectors in e3nn's y-polar convention.

    Args:
        xyz: array ``(..., 3)``; need not be normalised (zero vectors give beta = pi/2).

    Returns:
        ``alpha = atan2(x, z)`` in ``(-pi, pi]`` and ``beta = arccos(y/|r|)`` in ``[0, pi]``.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    norm = np.linalg.norm(xyz, axis=-1)
    y = np.where(norm > 0, xyz[..., 1] / np.where(norm > 0, norm, 1.0), 0.0)
    return np.arctan2(xyz[..., 0], xyz[..., 2]), np.arccos(np.clip(y, -1.0, 1.0))


def polar_part(lmax: int, cos_beta: np.ndarray, sin_beta: np.ndarray | None = None) -> np.ndarray:
    """``Theta_{lm}(beta)`` for ``0 <= m <= l <= lmax``, shape ``(..., lmax+1, lmax+1)`` [l, m].

    Computed with the standard stable three-term recurrence for orthonormal associated
    Legendre functions (no Condon-Shortley phase); entries with ``m > l`` are zero.
    ``sin_beta`` defaults to ``sqrt(1 - cos_beta**2)``; pass it explicitly (possibly negative)
    to continue ``Theta`` to ``beta`` in ``(pi, 2 pi)``.
    """
    x = np.asarray(cos_beta, dtype=np.float64)
    s = np.sqrt(np.clip(1.0 - x * x, 0.0, None)) if sin_beta is None else np.asarray(sin_beta)
    p = np.zeros((*x.shape, lmax + 1, lmax + 1))
    p[..., 0, 0] = 1.0 / np.sqrt(4 * np.pi)
    for m in range(1, lmax + 1):
        p[..., m, m] = np.sqrt((2 * m + 1) / (2 * m)) * s * p[..., m - 1, m - 1]
    for m in range(lmax):
        p[..., m + 1, m] = np.sqrt(2 * m + 3) * x * p[..., m, m]
    for m in range(lmax + 1):
        for l in range(m + 2, lmax + 1):
            a = np.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = np.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            p[..., l, m] = a * (x * p[..., l - 1, m] - b * p[..., l - 2, m])
    scale = np.full(lmax + 1, np.sqrt(2.0))
    scale[0] = 1.0
    return p * np.sqrt(4 * np.pi) * scale


def azimuthal_part(lmax: int, alpha: np.ndarray) -> np.ndarray:
    """``Phi_m(alpha)`` for ``m = -lmax..lmax``, shape ``(..., 2 lmax + 1)``."""
    alpha = np.asarray(alpha, dtype=np.float64)[..., None]
    m = np.arange(-lmax, lmax + 1)
    return np.where(m < 0, np.sin(-m * alpha), np.where(m > 0, np.cos(m * alpha), 1.0))


def sh_index(l: int, m: int) -> int:
    """Position of ``Y^l_m`` in a concatenated ``0..lmax`` coefficient vector."""
    return l * l + l + m


def spherical_harmonics_from_angles(lmax: int, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``Y^l_m(beta, alpha)`` for ``l = 0..lmax``, shape ``(..., (lmax+1)**2)``."""
    theta = polar_part(lmax, np.cos(beta), np.sin(beta))
    phi = azimuthal_part(lmax, alpha)
    out = np.empty((*np.shape(alpha), (lmax + 1) ** 2))
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            out[..., sh_index(l, m)] = theta[..., l, abs(m)] * phi[..., lmax + m]
    return out


def spherical_harmonics(lmax: int, xyz: np.ndarray) -> np.ndarray:
    """Real spherical harmonics of the directions ``xyz`` (``(..., 3)``), e3nn's convention.

    Returns ``(..., (lmax+1)**2)`` float64 with ``Y^1(r) = sqrt(3) * r/|r|``. This NumPy
    version builds constant tables; per-edge harmonics inside models use
    ``e3nn.spherical_harmonics`` (which agrees with this to round-off, see tests).
    """
    alpha, beta = angles_from_xyz(xyz)
    return spherical_harmonics_from_angles(lmax, alpha, beta)
