"""Computed expressivity against the dimensions and path counts of the literature."""

import e3nn_jax as e3nn
import pytest

import eqpot.tp as tp


@pytest.mark.parametrize("L", [1, 2, 3])
def test_cg_with_linears_reaches_every_equivariant_bilinear_map(L):
    s2 = e3nn.s2_irreps(L)
    product = tp.make("cg", s2, s2)
    result = product.expressivity(s2, s2)
    assert result.dimension == result.full_dimension == result.literature_gamma
    assert result.full_dimension == [6, 19, 44][L - 1]  # Xie et al. 2025, Table: CG paths


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 6])
def test_gaunt_mimo_expressivity_is_4L_plus_1(L):
    s2 = e3nn.s2_irreps(L)
    product = tp.make("gaunt_fourier", s2, s2)
    result = product.expressivity(s2, s2, product.irreps_out)
    assert result.dimension == 4 * L + 1 == result.literature_gamma
    # the space it lives in: the parity-allowed CG paths (Xie et al. 2025), 5, 14, 30, ...
    assert result.full_dimension == [5, 14, 30, 55, 91, 140][L - 1]


@pytest.mark.parametrize("L", [1, 3])
def test_grid_and_fourier_gaunt_have_the_same_expressivity(L):
    s2 = e3nn.s2_irreps(L)
    grid = tp.make("gaunt_grid", s2, s2)
    assert grid.expressivity(s2, s2, grid.irreps_out).dimension == 4 * L + 1


def test_so2_full_and_truncated():
    irreps_in, irreps_out = "0e+1o+2e", "0e+1o+1e+2e+2o"
    full = tp.make("so2", irreps_in, "1o", irreps_out).expressivity()
    assert full.dimension == full.full_dimension == full.literature_gamma == 19
    truncated = tp.make("so2", irreps_in, "1o", irreps_out, m_max=0).expressivity()
    assert truncated.dimension < full.dimension


def test_cp_matches_shared_weight_count():
    # Shared path weights: Lin_X, Lin_Y, Lin_Z scale per irrep, minus 2 redundant scalings.
    result = tp.make("cp", "0e+1o", "0e+1o", rank=16).expressivity()
    assert result.dimension == 2 + 2 + 4 - 2
