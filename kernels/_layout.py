"""The ``[m, l]`` layout shared by the separable spherical-harmonic kernels."""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class MLLayout:
    """``gather[m, l]``: index of coefficient ``(l, m)`` in ``concat(x, [0])`` (the zero
    slot ``dim`` where ``l < |m|``)."""

    gather: np.ndarray

    @property
    def dim(self) -> int:
        return self.gather.shape[1] ** 2  # (lmax + 1)^2; gather is [2 lmax + 1, lmax + 1]

    @functools.cached_property
    def scatter(self) -> np.ndarray:
        """For each coefficient ``l^2 + l + m``, its position in the flattened ``[m, l]``."""
        return np.argsort(self.gather.reshape(-1), kind="stable")[: self.dim]

    def to_ml(self, x: jnp.ndarray) -> jnp.ndarray:
        """``(..., dim)`` coefficients -> ``(..., 2L+1, L+1)`` with zeros where ``l < |m|``."""
        padded = jnp.concatenate([x, jnp.zeros((*x.shape[:-1], 1), x.dtype)], axis=-1)
        return padded[..., self.gather]

    def from_ml(self, y: jnp.ndarray) -> jnp.ndarray:
        """``(..., 2L+1, L+1)`` -> ``(..., dim)`` coefficients (inverse of :meth:`to_ml`)."""
        return y.reshape((*y.shape[:-2], -1))[..., self.scatter]
