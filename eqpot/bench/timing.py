"""Timing protocol shared by every benchmark (DESIGN §5).

``measure(fn, *args)`` jits ``fn``, times lowering + compilation once (``compile_s``), runs
``warmup`` calls, then reports the median of ``repeats`` calls, each timed around
``block_until_ready`` (wall clock, so dispatch overhead is included, as in PriceofFreedom).
XLA's cost analysis of the compiled executable gives FLOPs and bytes accessed; its memory
analysis gives the arguments + outputs + temporaries the executable needs (``peak_bytes``).
``achieved_fraction`` divides the achieved FLOP rate by the device's measured matmul peak
(:func:`device_peak_flops`), not by a datasheet number. :func:`provenance` is the header
every result file carries: device, host CPU, JAX and Python versions, date.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import platform
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Timing:
    median_ms: float
    compile_s: float
    flops: float | None
    bytes_accessed: float | None
    peak_bytes: int | None
    repeats: int

    def achieved_fraction(self, peak_flops: float) -> float | None:
        if not self.flops or not peak_flops:
            return None
        return self.flops / (self.median_ms * 1e-3) / peak_flops


def _cost(compiled) -> tuple[float | None, float | None]:
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list):  # older JAX: one dict per device
        analysis = analysis[0] if analysis else {}
    analysis = analysis or {}
    return analysis.get("flops"), analysis.get("bytes accessed")


def _memory(compiled) -> int | None:
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend implements it
        return None
    if m is None:
        return None
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes)


def measure(fn: Callable, *args, repeats: int = 20, warmup: int = 3) -> Timing:
    """Median wall time of ``jit(fn)(*args)`` (ms) after warm-up; compile time apart."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - start
    for _ in range(warmup):
        jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append((time.perf_counter() - start) * 1e3)
    flops, bytes_accessed = _cost(compiled)
    return Timing(
        statistics.median(times), compile_s, flops, bytes_accessed, _memory(compiled), repeats
    )


@functools.cache
def device_peak_flops(dtype: str = "float32") -> float:
    """FLOP/s of a large square matmul on the default device (measured, cached)."""
    n = 4096 if jax.default_backend() == "gpu" else 1024
    a = jnp.ones((n, n), dtype)
    timing = measure(lambda x: x @ x, a, repeats=10, warmup=2)
    return 2 * n**3 / (timing.median_ms * 1e-3)


def provenance() -> dict:
    """Where and when a result was measured: the device (``device_kind``, e.g. "NVIDIA
    H100 80GB HBM3" or "cpu"), JAX's backend, the host CPU, the JAX and Python versions,
    today's date (ISO) and the caller's ``jax_default_matmul_precision`` ("unset": models'
    predictions then run in true float32, see :mod:`eqpot.models.predict`, while bare
    operations take JAX's default, TensorFloat32 on a GPU)."""
    return dict(
        device=jax.devices()[0].device_kind,
        backend=jax.default_backend(),
        machine=platform.processor() or platform.machine(),
        jax=jax.__version__,
        python=platform.python_version(),
        date=datetime.date.today().isoformat(),
        jax_default_matmul_precision=jax.config.jax_default_matmul_precision or "unset",
    )
