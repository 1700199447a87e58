import jax
import jax.numpy as jnp
import numpy as np

from eqpot.nn import bessel_basis, polynomial_envelope, radial_embedding


def test_envelope_is_smooth_and_zero_beyond_cutoff():
    r = jnp.linspace(0.0, 7.0, 141)
    u = polynomial_envelope(r, 5.0)
    assert float(u[0]) == 1.0 and np.all(np.asarray(u)[r >= 5.0] == 0.0)
    d1 = jax.vmap(jax.grad(lambda x: polynomial_envelope(x, 5.0)))
    d2 = jax.vmap(jax.grad(jax.grad(lambda x: polynomial_envelope(x, 5.0))))
    at_cutoff = jnp.array([5.0 - 1e-7, 5.0, 6.0])
    np.testing.assert_allclose(d1(at_cutoff), 0.0, atol=1e-5)
    np.testing.assert_allclose(d2(at_cutoff), 0.0, atol=1e-3)


def test_bessel_values_and_limit_at_zero():
    r = jnp.array([0.0, 1e-8, 1.3, 4.9])
    b = bessel_basis(r, 5.0, 8)
    n = np.arange(1, 9)
    expected = np.sqrt(2 / 5.0) * np.sin(n * np.pi * 1.3 / 5.0) / 1.3
    np.testing.assert_allclose(b[2], expected, rtol=1e-13)
    np.testing.assert_allclose(b[0], b[1], rtol=1e-6)
    assert np.all(np.isfinite(jax.jacfwd(lambda x: radial_embedding(x, 5.0))(r)))
    np.testing.assert_array_equal(radial_embedding(jnp.array([5.0, 10.0]), 5.0), 0.0)
