"""Host-side initialisers: reproducible from the key, the distributions they name."""

import jax
import numpy as np

from eqpot.nn import init


def test_normal_is_reproducible_from_the_key_and_has_the_requested_spread():
    key = jax.random.key(3)
    a = np.asarray(init.normal(key, (400, 250), np.float64, std=0.5))
    b = np.asarray(init.normal(key, (400, 250), np.float64, std=0.5))
    c = np.asarray(init.normal(jax.random.key(4), (400, 250), np.float64, std=0.5))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert abs(a.mean()) < 0.01 and abs(a.std() - 0.5) < 0.01
    raw = np.asarray(init.normal(jax.random.PRNGKey(3), (3,)))  # raw uint32 keys work too
    assert raw.shape == (3,) and raw.dtype == np.float32


def test_lecun_normal_is_truncated_with_variance_one_over_fan_in():
    w = np.asarray(init.lecun_normal(jax.random.key(0), (2, 200, 500), np.float64))
    fan_in = 2 * 200
    assert abs(w.var() * fan_in - 1.0) < 0.02
    assert np.abs(w).max() <= 2.0 / (init._TRUNCATED_STD * np.sqrt(fan_in)) + 1e-12
    assert (np.abs(w) * np.sqrt(fan_in) > 2.0).any()  # truncated at 2 sigma of the normal
