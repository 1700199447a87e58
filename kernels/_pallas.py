"""What every Pallas kernel here shares: where it runs and which GPU backend it names.

JAX 0.10 (this project's CPU machines) and 0.11 (the GPU machine) differ in their default
Pallas GPU backend; the kernels name Triton explicitly through its ``CompilerParams``. On a
CPU they run in interpret mode (for tests: correct, not fast).
"""

from __future__ import annotations

import contextlib

import jax

_compiled_for_gpu = False


@contextlib.contextmanager
def lowering_for_gpu():
    """Trace the kernels as compiled Triton kernels even on a CPU host, so that
    ``jax.export(..., platforms=["cuda"])`` lowers them to Triton IR here (the CPU tests
    check that every kernel lowers; compiling and running them needs the GPU)."""
    global _compiled_for_gpu
    previous, _compiled_for_gpu = _compiled_for_gpu, True
    try:
        yield
    finally:
        _compiled_for_gpu = previous


def interpret() -> bool:
    """Run kernels in the Pallas interpreter (true on a CPU backend)."""
    return jax.default_backend() == "cpu" and not _compiled_for_gpu


def compiler_params(num_warps: int = 4, num_stages: int = 2):
    """Triton compiler parameters, or None in interpret mode."""
    if interpret():
        return None
    from jax.experimental.pallas import triton as pltriton

    return pltriton.CompilerParams(num_warps=num_warps, num_stages=num_stages)


def next_pow2(n: int, minimum: int = 1) -> int:
    """Triton's blocks have power-of-two shapes: the smallest such size >= ``n``."""
    return max(minimum, 1 << (int(n) - 1).bit_length())
