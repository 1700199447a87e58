"""What every Pallas kernel here shares: where it runs and which GPU backend it names.

JAX 0.10 (this project's CPU machines) and 0.11 (the GPU machine) differ in their default
Pallas GPU backend; the kernels name Triton explicitly through its ``CompilerParams``. On a
CPU they run in interpret mode (for tests: correct, not fast).
"""

from __future__ import annotations

import jax


def interpret() -> bool:
    """Run kernels in the Pallas interpreter (true on a CPU backend)."""
    return jax.default_backend() == "cpu"


def compiler_params(num_warps: int = 4, num_stages: int = 2):
    """Triton compiler parameters, or None in interpret mode."""
    if interpret():
        return None
    try:
        from jax.experimental.pallas import triton as pltriton

        return pltriton.CompilerParams(num_warps=num_warps, num_stages=num_stages)
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - older/newer JAX
        return None


def next_pow2(n: int, minimum: int = 1) -> int:
    """Triton's blocks have power-of-two shapes: the smallest such size >= ``n``."""
    return max(minimum, 1 << (int(n) - 1).bit_length())
