import e3nn_jax as e3nn
import numpy as np
import pytest
from sympy.physics.wigner import clebsch_gordan as sympy_cg

from eqpot import so3
from tests.helpers import random_o3


def _triples(lmax):
    return [
        (l1, l2, l3)
        for l1 in range(lmax + 1)
        for l2 in range(lmax + 1)
        for l3 in range(abs(l1 - l2), l1 + l2 + 1)
    ]


@pytest.mark.parametrize("l1,l2,l3", [(1, 1, 2), (2, 3, 4), (5, 6, 11), (6, 6, 12), (4, 4, 0)])
def test_su2_matches_exact_sympy(l1, l2, l3):
    ours = so3.su2_clebsch_gordan(l1, l2, l3)
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            if abs(m1 + m2) > l3:
                continue
            exact = float(sympy_cg(l1, l2, l3, m1, m2, m1 + m2).evalf(30))
            assert abs(ours[l1 + m1, l2 + m2, l3 + m1 + m2] - exact) < 1e-15


def test_real_cg_matches_e3nn():
    # e3nn-jax sums Racah's series in floats: its tables drift to ~1e-12 by l = 6 (checked
    # against sympy in test_su2_matches_exact_sympy), so compare where both are exact.
    for l1, l2, l3 in _triples(4):
        ours = so3.clebsch_gordan(l1, l2, l3)
        assert np.max(np.abs(ours - e3nn.clebsch_gordan(l1, l2, l3))) < 1e-13


def test_real_cg_is_an_intertwiner():
    q = np.asarray(random_o3(3, False))
    d = [np.asarray(b) for b in so3.wigner_D_list(12, q)]
    for l1, l2, l3 in _triples(6):
        c = so3.clebsch_gordan(l1, l2, l3)
        lhs = np.einsum("abc,ax,by->xyc", c, d[l1], d[l2])
        rhs = np.einsum("xyd,cd->xyc", c, d[l3])
        assert np.max(np.abs(lhs - rhs)) < 1e-12
        assert abs(np.linalg.norm(c) - 1) < 1e-13


def test_gaunt_zero_for_odd_and_proportional_to_cg():
    for l1, l2, l3 in _triples(5):
        g = so3.gaunt(l1, l2, l3)
        if (l1 + l2 + l3) % 2:
            assert np.all(g == 0.0)
            continue
        c = so3.clebsch_gordan(l1, l2, l3)
        kappa = np.sum(g * c)  # g = kappa * c since |c| = 1
        assert np.max(np.abs(g - kappa * c)) < 1e-14
        # closed form: |kappa| = sqrt((2l1+1)(2l2+1)/4pi) |<l1 0 l2 0 | l3 0>|
        cg000 = float(sympy_cg(l1, l2, l3, 0, 0, 0).evalf(30))
        expected = np.sqrt((2 * l1 + 1) * (2 * l2 + 1) / (4 * np.pi)) * abs(cg000)
        assert abs(abs(kappa) - expected) < 1e-14


def test_gaunt_textbook_values():
    assert abs(so3.gaunt(0, 0, 0)[0, 0, 0] - 1 / np.sqrt(4 * np.pi)) < 1e-16
    # \int Y_00 Y_lm Y_lm' = delta / sqrt(4 pi)
    np.testing.assert_allclose(so3.gaunt(0, 3, 3)[0], np.eye(7) / np.sqrt(4 * np.pi), atol=1e-15)
