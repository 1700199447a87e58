"""The timing protocol's pieces that need no sweep: provenance and a measured call."""

import datetime
import platform

import jax
import jax.numpy as jnp

from eqpot.bench import measure, provenance


def test_provenance_names_device_versions_and_date():
    record = provenance()
    assert record["device"] == jax.devices()[0].device_kind
    assert record["backend"] == jax.default_backend()
    assert record["jax"] == jax.__version__
    assert record["python"] == platform.python_version()
    assert datetime.date.fromisoformat(record["date"]) == datetime.date.today()
    assert record["machine"]
    with jax.default_matmul_precision(None):
        assert provenance()["jax_default_matmul_precision"] == "unset"
    with jax.default_matmul_precision("tensorfloat32"):
        assert provenance()["jax_default_matmul_precision"] == "tensorfloat32"


def test_measure_times_a_jitted_call():
    timing = measure(lambda x: jnp.sin(x) @ x, jnp.ones((16, 16)), repeats=3)
    assert timing.median_ms > 0 and timing.compile_s > 0
    # XLA's cost analysis counts the 16x16x16 matmul's 2 n^3 FLOPs (the sine is a
    # transcendental, counted apart); the CPU backend always reports it
    if jax.default_backend() == "cpu":
        assert timing.flops is not None and 2 * 16**3 <= timing.flops < 2 * 16**3 + 16**2 * 4
    else:
        assert timing.flops is None or timing.flops >= 2 * 16**3
