import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eqpot import so3
from tests.helpers import random_o3

AXES = np.concatenate([np.eye(3), -np.eye(3)])


@pytest.mark.parametrize("l", [0, 1, 2, 5, 8])
def test_matches_e3nn(l):
    q = random_o3(11, False)
    ref = e3nn.Irrep(l, 1).D_from_matrix(q)
    assert np.max(np.abs(np.asarray(so3.wigner_D(l, q)) - np.asarray(ref))) < 1e-12


def test_representation_and_harmonics():
    q1, q2 = random_o3(1, False), random_o3(2, False)
    v = np.random.default_rng(0).normal(size=(5, 3))
    for l, (d1, d2, d12) in enumerate(
        zip(*(so3.wigner_D_list(6, q) for q in (q1, q2, q1 @ q2)), strict=True)
    ):
        assert np.max(np.abs(d1 @ d2 - d12)) < 1e-12
        assert np.max(np.abs(d1 @ d1.T - np.eye(2 * l + 1))) < 1e-12
        y = so3.spherical_harmonics(l, v)[:, l * l :]
        y_rot = so3.spherical_harmonics(l, v @ np.asarray(q1).T)[:, l * l :]
        assert np.max(np.abs(y_rot - y @ np.asarray(d1).T)) < 1e-12


def test_rotation_to_y_everywhere_including_axes():
    v = np.concatenate([AXES, 3.0 * AXES, np.random.default_rng(1).normal(size=(20, 3))])
    r = np.asarray(so3.rotation_to_y(jnp.asarray(v)))
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert np.max(np.abs(np.einsum("nij,nj->ni", r, unit) - [0, 1, 0])) < 1e-14
    assert np.max(np.abs(np.einsum("nij,nkj->nik", r, r) - np.eye(3))) < 1e-14
    assert np.min(np.linalg.det(r)) > 1 - 1e-14


def test_edge_frame_derivatives_are_finite_on_axes():
    def f(v):
        return jnp.sum(so3.block_diagonal(so3.wigner_D_list(4, so3.rotation_to_y(v))) ** 3)

    for axis in AXES:
        g = jax.grad(f)(jnp.asarray(axis))
        h = jax.hessian(f)(jnp.asarray(axis))
        assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))
