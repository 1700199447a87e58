import numpy as np
import pytest

from eqpot import so3


def _synthesize(lmax, beta, alpha):
    """sum_uv y^{lm}_{uv} exp(i(u beta + v alpha)) for every (l, m): shape (n, (lmax+1)^2)."""
    tb, ta = so3.sh_to_fourier_tables(lmax)  # [m, l, u], [m, v]
    u = np.arange(-lmax, lmax + 1)
    eb = np.exp(1j * np.outer(beta, u))  # (n, u)
    ea = np.exp(1j * np.outer(alpha, u))  # (n, v)
    out = np.zeros((len(beta), (lmax + 1) ** 2), complex)
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            out[:, l * l + l + m] = (eb @ tb[lmax + m, l]) * (ea @ ta[lmax + m])
    return out


@pytest.mark.parametrize("lmax", [1, 4, 8])
def test_fourier_synthesis_is_exact_on_the_sphere_and_torus(lmax):
    rng = np.random.default_rng(lmax)
    beta = rng.uniform(0, np.pi, 50)
    alpha = rng.uniform(0, 2 * np.pi, 50)
    values = _synthesize(lmax, beta, alpha)
    assert np.max(np.abs(values.imag)) < 1e-13
    expected = so3.spherical_harmonics_from_angles(lmax, alpha, beta)
    assert np.max(np.abs(values.real - expected)) < 1e-12
    # the torus extension: F(2 pi - beta, alpha) = f(beta, alpha + pi)
    mirrored = _synthesize(lmax, 2 * np.pi - beta, alpha).real
    shifted = so3.spherical_harmonics_from_angles(lmax, alpha + np.pi, beta)
    assert np.max(np.abs(mirrored - shifted)) < 1e-12


@pytest.mark.parametrize("lmax", [2, 6])
def test_projection_inverts_synthesis(lmax):
    x = np.random.default_rng(0).normal(size=(lmax + 1) ** 2)
    tb, ta = so3.sh_to_fourier_tables(lmax)
    grid = np.zeros((2 * lmax + 1, 2 * lmax + 1), complex)  # [u, v]
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            grid += x[l * l + l + m] * np.outer(tb[lmax + m, l], ta[lmax + m])
    fb, fa = so3.fourier_to_sh_tables(lmax, lmax)  # [m, l, u], [v, m]
    g = grid @ fa  # (u, m)
    back = np.array(
        [
            np.sum(g[:, lmax + m] * fb[lmax + m, l])
            for l in range(lmax + 1)
            for m in range(-l, l + 1)
        ]
    )
    assert np.max(np.abs(back.imag)) < 1e-13
    assert np.max(np.abs(back.real - x)) < 1e-12
