import numpy as np
import pytest

from eqpot import so3


def _triple_integral(l1, l2, l3, res_beta, res_alpha):
    grid = so3.gauss_legendre_grid(res_beta, res_alpha)
    beta, alpha = np.meshgrid(np.arccos(grid.cos_beta), grid.alpha, indexing="ij")
    w = np.repeat(grid.weights[:, None], res_alpha, 1) * 2 * np.pi / res_alpha
    lmax = max(l1, l2, l3)
    y = so3.spherical_harmonics_from_angles(lmax, alpha, beta) / np.sqrt(4 * np.pi)
    blocks = [y[..., l * l : (l + 1) ** 2].reshape(-1, 2 * l + 1) for l in (l1, l2, l3)]
    return np.einsum("p,pa,pb,pc->abc", w.reshape(-1), *blocks)


@pytest.mark.parametrize("l1,l2,l3", [(1, 1, 2), (3, 2, 5), (4, 4, 8), (6, 6, 12)])
def test_exactness_rule_is_sufficient_and_tight(l1, l2, l3):
    res_beta, res_alpha = so3.grid_resolution(l1 + l2 + l3)
    exact = _triple_integral(l1, l2, l3, res_beta + 4, res_alpha + 6)
    on_rule = _triple_integral(l1, l2, l3, res_beta, res_alpha)
    assert np.max(np.abs(on_rule - exact)) < 1e-13
    # one latitude fewer aliases: the rule cannot be relaxed
    too_coarse = _triple_integral(l1, l2, l3, res_beta - 1, res_alpha)
    assert np.max(np.abs(too_coarse - exact)) > 1e-6


def test_product_grid_and_weights():
    grid = so3.s2_grid_for_product(3, 3, 6)
    assert (grid.res_beta, grid.res_alpha) == (7, 13)
    assert abs(grid.weights.sum() * 2 * np.pi - 4 * np.pi) < 1e-13
    with pytest.raises(ValueError, match="degree"):
        so3.grid_resolution(-1)
