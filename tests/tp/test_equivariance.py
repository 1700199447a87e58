"""Every exact product is O(3)-equivariant to round-off in float64, up to L = 6."""

import e3nn_jax as e3nn
import pytest

import eqpot.tp as tp
from tests.helpers import equivariance_error, random_o3

LS = [1, 2, 3, 4, 5, 6]


def _products(L):
    s2 = e3nn.s2_irreps(L)
    two = 2 * s2
    return {
        "cg-uv": tp.make("cg", s2, s2),
        "cg-uvw": tp.make("cg", "2x0e+2x1o", two, two.filter(lmax=L))
        if L <= 2
        else tp.make("cg", s2, s2, "2x0e+1x1o+1x1e+1x2e+1x3o"),
        "cg-uvu": tp.make("cg", two, s2, mode="uvu", irreps_out=s2.filter(lmax=L)),
        "gaunt_grid": tp.make("gaunt_grid", two, two),
        "gaunt_fourier": tp.make("gaunt_fourier", two, two),
        "gaunt_grid-parities": tp.make("gaunt_grid", two, e3nn.s2_irreps(L, p_val=-1)),
        "so2-uvw": tp.make("so2", two, "1x1o", "3x0e+3x1o+3x1e+3x2e"),
        "so2-uvu-mmax1": tp.make("so2", two, "1x1o", mode="uvu", m_max=1),
    }


@pytest.mark.parametrize("L", LS)
@pytest.mark.parametrize("inversion", [False, True])
def test_exact_products_are_equivariant(L, inversion):
    for name, product in _products(L).items():
        for seed in (0, 1):
            error = equivariance_error(product, random_o3(seed + 10 * L, inversion), seed)
            assert error < 1e-10, f"{name}, L={L}, inversion={inversion}: {error:.2e}"
