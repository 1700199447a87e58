import e3nn_jax as e3nn
import jax.numpy as jnp
import numpy as np
import pytest

from eqpot import so3


def _directions(n=40, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return np.concatenate([v, np.eye(3), -np.eye(3)])


@pytest.mark.parametrize("lmax", [0, 1, 2, 5, 8, 10])
def test_matches_e3nn(lmax):
    v = _directions()
    ours = so3.spherical_harmonics(lmax, v)
    ref = np.asarray(e3nn.sh(list(range(lmax + 1)), jnp.asarray(v), True))
    assert np.max(np.abs(ours - ref)) < 1e-12 * max(1, lmax) ** 2


def test_component_normalization_and_l1():
    v = _directions()
    y = so3.spherical_harmonics(4, v)
    for l in range(5):
        block = y[:, l * l : (l + 1) ** 2]
        np.testing.assert_allclose(np.sum(block**2, axis=1), 2 * l + 1, rtol=1e-13)
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    np.testing.assert_allclose(y[:, 1:4], np.sqrt(3) * unit, atol=1e-14)


def test_orthonormal_under_exact_quadrature():
    lmax = 7
    alpha, beta, w = so3.s2_quadrature(2 * lmax)
    y = so3.spherical_harmonics_from_angles(lmax, alpha, beta).reshape(-1, (lmax + 1) ** 2)
    gram = np.einsum("p,pa,pb->ab", w.reshape(-1), y, y) / (4 * np.pi)
    np.testing.assert_allclose(gram, np.eye((lmax + 1) ** 2), atol=1e-13)
