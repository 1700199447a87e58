"""Exact change of basis between real spherical harmonics and the 2D Fourier basis.

On the torus ``(beta, alpha) in [0, 2pi)^2`` every harmonic of degree ``l`` is a
trigonometric polynomial of degree ``l`` in each angle (Luo et al. 2024, Gaunt tensor
product, eq. 6):

    Y^l_m(beta, alpha) = Theta_{l|m|}(beta) Phi_m(alpha)
                       = sum_{u,v=-l..l} y^{lm}_{uv} exp(i (u beta + v alpha)),

with ``Theta_{lm} = sin(beta)^m * poly(cos beta)`` continued analytically past ``beta = pi``
and ``v = +-m`` only. We obtain the ``beta`` coefficients by a discrete Fourier transform of
``Theta`` sampled at more than ``2l+1`` equispaced angles; a band-limited trigonometric
polynomial is recovered *exactly* by it (only float64 round-off remains), so no
quadrature error enters — unlike the trapezoid-integrated 300x300 tables of the public
reimplementation, whose equivariance error is about 1e-2. The azimuthal part is written
down in closed form.

The torus extension of a product of spherical functions is the product of the extensions
(``F(2pi - beta, alpha) = f(beta, alpha + pi)`` for every extended function), so the 2D
convolution of two coefficient grids gives the grid of the pointwise product, and

    c_{lm} = (1/4pi) \\int_{S2} F Y^l_m dOmega
           = (1/4pi) sum_{u,v} F_{uv} [\\int_0^pi e^{iu beta} Theta_{lm} sin beta d beta]
                                      [\\int_0^{2pi} e^{iv alpha} Phi_m d alpha]

projects it back; both integrals are evaluated in closed form.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from eqpot.so3.spherical_harmonics import polar_part


def _polar_fourier(lmax: int, extra_sine: int) -> np.ndarray:
    """Coefficients ``t[l, m, u]`` of ``Theta_{lm}(beta) sin(beta)^extra_sine``.

    Shape ``(lmax+1, lmax+1, 2K+1)`` with ``K = lmax + extra_sine`` and ``u = -K..K``.
    """
    degree = lmax + extra_sine
    n = 2 * degree + 2  # > 2 * degree + 1 samples: the DFT recovers the polynomial exactly
    beta = 2 * np.pi * np.arange(n) / n
    values = (
        polar_part(lmax, np.cos(beta), np.sin(beta)) * np.sin(beta)[:, None, None] ** extra_sine
    )
    coeffs = np.fft.fft(values, axis=0) / n  # coeffs[k] multiplies exp(i k beta)
    u = np.arange(-degree, degree + 1)
    out = np.moveaxis(coeffs[u % n], 0, -1)
    # Theta sin^s is even in beta (cos series, real coefficients) when m + s is even and
    # odd (sin series, imaginary coefficients) otherwise; drop the round-off of the other part.
    m = np.arange(lmax + 1)[None, :, None]
    out = np.where((m + extra_sine) % 2 == 0, out.real + 0j, 1j * out.imag)
    out[np.abs(out) < 1e-15] = 0
    return out


def _beta_integral(n: np.ndarray) -> np.ndarray:
    """``\\int_0^pi exp(i n beta) d beta`` for integer ``n``."""
    n = np.asarray(n)
    safe = np.where(n == 0, 1, n)
    return np.where(n == 0, np.pi + 0j, ((-1.0) ** np.abs(n) - 1.0) / (1j * safe))


def azimuthal_to_fourier(lmax: int) -> np.ndarray:
    """Matrix ``A[m, v]`` with ``Phi_m(alpha) = sum_v A[m, v] exp(i v alpha)``, m,v=-lmax..lmax."""
    a = np.zeros((2 * lmax + 1, 2 * lmax + 1), np.complex128)
    a[lmax, lmax] = 1.0
    for m in range(1, lmax + 1):
        a[lmax + m, lmax + m] = 0.5  # cos(m a)
        a[lmax + m, lmax - m] = 0.5
        a[lmax - m, lmax + m] = -0.5j  # sin(m a)
        a[lmax - m, lmax - m] = 0.5j
    return a


def _azimuthal_projection(lmax_out: int, vmax: int) -> np.ndarray:
    """``P[v, m] = \\int_0^{2pi} exp(i v alpha) Phi_m(alpha) d alpha``, v=-vmax..vmax."""
    p = np.zeros((2 * vmax + 1, 2 * lmax_out + 1), np.complex128)
    p[vmax, lmax_out] = 2 * np.pi
    for m in range(1, min(lmax_out, vmax) + 1):
        p[vmax + m, lmax_out + m] = np.pi
        p[vmax - m, lmax_out + m] = np.pi
        p[vmax + m, lmax_out - m] = 1j * np.pi
        p[vmax - m, lmax_out - m] = -1j * np.pi
    return p


@dataclasses.dataclass(frozen=True)
class FourierTables:
    """Constant tables of the exact SH <-> 2D-Fourier maps.

    * ``to_fourier_beta[m, l, u]`` (``2L+1, L+1, 2L+1``): ``Theta_{l|m|}`` in ``exp(i u beta)``
      (zero for ``l < |m|``), for input degree ``L = lmax_in``;
    * ``to_fourier_alpha[m, v]``: :func:`azimuthal_to_fourier`;
    * ``from_fourier_beta[m, l, u]`` (``2Lo+1, Lo+1, 2K+1``) and ``from_fourier_alpha[v, m]``
      (``2K+1, 2Lo+1``): the closed-form projection integrals times ``1/4pi`` for output
      degree ``Lo = lmax_out`` and an input grid of half-width ``K = grid_size``.
    """

    to_fourier_beta: np.ndarray
    to_fourier_alpha: np.ndarray
    from_fourier_beta: np.ndarray
    from_fourier_alpha: np.ndarray


def _by_signed_m(table: np.ndarray, lmax: int) -> np.ndarray:
    """Reindex ``[l, |m|, ...]`` as ``[m, l, ...]`` for ``m = -lmax..lmax``."""
    return np.stack([table[:, abs(m)] for m in range(-lmax, lmax + 1)], axis=0)


@functools.cache
def sh_to_fourier_tables(lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """``(beta[m, l, u], alpha[m, v])`` for synthesis of degree-``lmax`` coefficients."""
    return _by_signed_m(_polar_fourier(lmax, 0), lmax), azimuthal_to_fourier(lmax)


@functools.cache
def fourier_to_sh_tables(lmax_out: int, grid_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(beta[m, l, u], alpha[v, m])`` projecting a ``(2K+1)^2`` grid onto degrees ``<= Lo``."""
    t = _polar_fourier(lmax_out, 1)  # Theta sin(beta): degree lmax_out + 1, index k
    kmax = lmax_out + 1
    u = np.arange(-grid_size, grid_size + 1)
    k = np.arange(-kmax, kmax + 1)
    integral = _beta_integral(u[:, None] + k[None, :])  # (u, k)
    beta = np.einsum("lmk,uk->lmu", t, integral) / (4 * np.pi)
    return _by_signed_m(beta, lmax_out), _azimuthal_projection(lmax_out, grid_size)


def fourier_tables(lmax_in: int, lmax_out: int, grid_size: int) -> FourierTables:
    """All tables for inputs of degree ``lmax_in`` and outputs of degree ``lmax_out``."""
    to_b, to_a = sh_to_fourier_tables(lmax_in)
    from_b, from_a = fourier_to_sh_tables(lmax_out, grid_size)
    return FourierTables(to_b, to_a, from_b, from_a)
