"""Wigner-D matrices from rotation matrices, and edge frames, without Euler angles.

``D^l(R)`` is built by the exact polynomial recursion

    D^0 = 1,   D^1 = R   (e3nn's l=1 basis is (x, y, z)),
    D^l = (2l+1) C^T (D^{l-1} (x) D^1) C,    C = clebsch_gordan(l-1, 1, l),

which holds because ``C`` (Frobenius norm 1) is ``1/sqrt(2l+1)`` times an isometry
intertwining ``(l-1) (x) 1`` with ``l``. Every entry of ``D^l`` is a polynomial of degree
``l`` in the entries of ``R``: it is exact and infinitely differentiable for every rotation,
with no gimbal lock at ``+-y`` (unlike the ``Z(alpha) J Z(beta) J Z(gamma)`` factorisation
used by eSCN, see fairchem PR #1771).

:func:`rotation_to_y` gives a rotation taking a direction to ``+y`` (the frame of the SO(2)
convolution) from two smooth Rodrigues charts, so it and its derivatives are finite for
every direction, including exactly ``+-x``, ``+-y`` and ``+-z``.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from eqpot.so3.clebsch_gordan import clebsch_gordan


@functools.cache
def _recursion_table(l: int) -> np.ndarray:
    return clebsch_gordan(l - 1, 1, l)


def wigner_D_list(lmax: int, rotation: jnp.ndarray) -> list[jnp.ndarray]:
    """``[D^0(R), ..., D^lmax(R)]`` for rotations ``R`` of shape ``(..., 3, 3)``.

    ``D^l`` has shape ``(..., 2l+1, 2l+1)`` and acts on real coefficients in e3nn's basis:
    ``Y^l(R r) = D^l(R) Y^l(r)``.
    """
    rotation = jnp.asarray(rotation)
    batch = rotation.shape[:-2]
    blocks = [jnp.ones((*batch, 1, 1), rotation.dtype)]
    if lmax >= 1:
        blocks.append(rotation)
    for l in range(2, lmax + 1):
        c = jnp.asarray(_recursion_table(l), rotation.dtype)
        blocks.append(
            (2 * l + 1)
            * jnp.einsum("abc,...ax,...by,xyd->...cd", c, blocks[-1], rotation, c, optimize=True)
        )
    return blocks


def wigner_D(l: int, rotation: jnp.ndarray) -> jnp.ndarray:
    """``D^l(R)`` of shape ``(..., 2l+1, 2l+1)``."""
    return wigner_D_list(l, rotation)[l]


def block_diagonal(blocks: list[jnp.ndarray]) -> jnp.ndarray:
    """Assemble ``(..., d_i, d_i)`` blocks into one ``(..., sum d_i, sum d_i)`` matrix."""
    batch = jnp.broadcast_shapes(*(b.shape[:-2] for b in blocks))
    dim = sum(b.shape[-1] for b in blocks)
    out = jnp.zeros((*batch, dim, dim), blocks[0].dtype)
    start = 0
    for b in blocks:
        d = b.shape[-1]
        out = out.at[..., start : start + d, start : start + d].set(b)
        start += d
    return out


def safe_normalize(vectors: jnp.ndarray) -> jnp.ndarray:
    """``v / |v|`` with zero vectors mapped to ``+y`` and finite gradients everywhere."""
    sq = jnp.sum(vectors * vectors, axis=-1, keepdims=True)
    nonzero = sq > 0
    safe = jnp.where(nonzero, vectors, jnp.array([0.0, 1.0, 0.0], vectors.dtype))
    unit = safe / jnp.sqrt(jnp.sum(safe * safe, axis=-1, keepdims=True))
    return jnp.where(nonzero, unit, jnp.array([0.0, 1.0, 0.0], vectors.dtype))


def _skew(v: jnp.ndarray) -> jnp.ndarray:
    zero = jnp.zeros_like(v[..., 0])
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return jnp.stack(
        [
            jnp.stack([zero, -z, y], -1),
            jnp.stack([z, zero, -x], -1),
            jnp.stack([-y, x, zero], -1),
        ],
        -2,
    )


def rotation_to_y(vectors: jnp.ndarray) -> jnp.ndarray:
    """Rotations ``R`` (``(..., 3, 3)``) with ``R @ (v/|v|) = +y``, smooth for every ``v != 0``.

    Chart ``y >= 0``: the minimal (Rodrigues) rotation of ``u = v/|v|`` onto ``+y``,
    ``R = I + K + K^2 / (1 + u_y)`` with ``K = [u x y]_x``. Chart ``y < 0``: the minimal
    rotation onto ``-y`` followed by the half-turn about x. Both denominators stay >= 1 on
    their chart, so values and derivatives of every order are finite. The roll about the
    edge differs between the charts; SO(2)-equivariant maps in the edge frame are
    insensitive to it.
    """
    u = safe_normalize(vectors)
    upper = u[..., 1:2] >= 0
    sign = jnp.where(upper, 1.0, -1.0).astype(u.dtype)
    target = jnp.stack([jnp.zeros_like(u[..., 1]), sign[..., 0], jnp.zeros_like(u[..., 1])], -1)
    k = _skew(jnp.cross(u, target))
    denom = 1.0 + jnp.abs(u[..., 1])
    eye = jnp.eye(3, dtype=u.dtype)
    minimal = eye + k + (k @ k) / denom[..., None, None]
    flip = jnp.diag(jnp.array([1.0, -1.0, -1.0], u.dtype))
    return jnp.where(upper[..., None], minimal, flip @ minimal)
