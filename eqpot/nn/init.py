"""Initial weights drawn on the host from JAX keys.

``jax.random.normal`` compiles one small XLA program per shape: a model has tens of weight
shapes, so building one costs seconds of compilation on a CPU (again after every
``jax.clear_caches()``) before it has computed anything. These initialisers draw the same
distributions with NumPy's generator seeded from the key's bits: reproducible from the
model's seed, with nothing to compile. Their signature is Flax's ``(key, shape, dtype)``, so
they also serve as ``kernel_init`` of ``nnx.Linear``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

# lecun_normal truncates a unit normal at two standard deviations; its standard deviation
# is then this, and the samples are divided by it to keep the variance 1 / fan_in
_TRUNCATED_STD = 0.8796256610342398


def _generator(key: jax.Array) -> np.random.Generator:
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.random.default_rng(np.asarray(key, dtype=np.uint32).ravel().tolist())


def normal(key: jax.Array, shape: Sequence[int], dtype=jnp.float32, std: float = 1.0) -> jax.Array:
    """Independent normal samples of mean 0 and standard deviation ``std``, ``shape``."""
    return jnp.asarray(std * _generator(key).standard_normal(tuple(shape)), dtype)


def lecun_normal(key: jax.Array, shape: Sequence[int], dtype=jnp.float32) -> jax.Array:
    """Flax's default dense kernel: a normal truncated at ±2σ with variance ``1 / fan_in``
    (``fan_in = prod(shape[:-1])``), sampled by rejection."""
    rng = _generator(key)
    samples = rng.standard_normal(tuple(shape))
    outside = np.abs(samples) > 2.0
    while outside.any():
        samples[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(samples) > 2.0
    fan_in = math.prod(shape[:-1])
    return jnp.asarray(samples / (_TRUNCATED_STD * math.sqrt(fan_in)), dtype)
