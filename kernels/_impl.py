"""Choice of the implementation that executes a kernel.

Order of precedence: the ``impl`` argument, then the ``EQPOT_KERNEL_IMPL`` environment
variable, then ``"auto"``. ``auto`` picks the fastest implementation available on the
current backend; today that is always ``xla`` (Pallas and cuEquivariance implementations
are added per kernel, and each kernel lists what it provides).
"""

from __future__ import annotations

import os

IMPLS = ("auto", "xla", "pallas", "cueq")
ENV_VAR = "EQPOT_KERNEL_IMPL"


def resolve_impl(kernel: str, impl: str | None, available: tuple[str, ...] = ("xla",)) -> str:
    """Return the concrete implementation of ``kernel`` to run.

    Raises:
        ValueError: ``impl`` (or the environment variable) is not one of :data:`IMPLS`, or
            names an implementation that ``kernel`` does not provide.
    """
    source = "argument impl"
    if impl is None:
        impl = os.environ.get(ENV_VAR, "auto")
        source = f"environment variable {ENV_VAR}"
    if impl not in IMPLS:
        raise ValueError(f"{source}={impl!r} is not one of {IMPLS}")
    if impl == "auto":
        return available[0]
    if impl not in available:
        raise ValueError(
            f"kernel {kernel!r} has no {impl!r} implementation ({source}); "
            f"available: {', '.join(available)}"
        )
    return impl
