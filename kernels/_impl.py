"""Choice of the implementation that executes a kernel.

Order of precedence: the ``impl`` argument, then the ``EQPOT_KERNEL_IMPL`` environment
variable, then ``"auto"``. An argument is strict: naming an implementation a kernel lacks is
an error. The environment variable is a preference for the whole program: kernels that lack
the preferred implementation run their default. ``auto`` picks each kernel's default, today
``xla`` everywhere — a Pallas or cuEquivariance implementation becomes the default of a kernel
only once it has been measured faster on the GPU (see ``kernels/notes/``).
"""

from __future__ import annotations

import importlib.util
import os

IMPLS = ("auto", "xla", "pallas", "cueq")
ENV_VAR = "EQPOT_KERNEL_IMPL"


def resolve_impl(kernel: str, impl: str | None, available: tuple[str, ...] = ("xla",)) -> str:
    """Return the concrete implementation of ``kernel`` to run (``available[0]`` is its
    default).

    Raises:
        ValueError: ``impl`` (or the environment variable) is not one of :data:`IMPLS`, or
            the argument names an implementation that ``kernel`` does not provide.
    """
    from_environment = impl is None
    source = "argument impl"
    if from_environment:
        impl = os.environ.get(ENV_VAR, "auto")
        source = f"environment variable {ENV_VAR}"
    if impl not in IMPLS:
        raise ValueError(f"{source}={impl!r} is not one of {IMPLS}")
    if impl == "auto" or (from_environment and impl not in available):
        return available[0]
    if impl not in available:
        hint = " (install eqpot[cueq])" if impl == "cueq" and not cueq_installed() else ""
        raise ValueError(
            f"kernel {kernel!r} has no {impl!r} implementation ({source}); "
            f"available: {', '.join(available)}{hint}"
        )
    return impl


def cueq_installed() -> bool:
    """Whether cuEquivariance-JAX can be imported (the ``cueq`` extra)."""
    return importlib.util.find_spec("cuequivariance_jax") is not None


def with_cueq(impls: tuple[str, ...]) -> tuple[str, ...]:
    """``impls`` and, where cuEquivariance-JAX is installed, ``cueq``
    (:mod:`eqpot.kernels.cueq`)."""
    return (*impls, "cueq") if cueq_installed() else impls
