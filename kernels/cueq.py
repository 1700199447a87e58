"""cuEquivariance-JAX as an executor of eqpot's kernels (``impl="cueq"``).

eqpot describes its operations by their own sparse coefficients (a :class:`MessageTable`,
a :class:`Polynomial`); this module hands those same coefficients to NVIDIA's
cuEquivariance as a segmented polynomial (``cue.SegmentedPolynomial``: operands split into
segments, and per operation a list of paths ``(segment of each operand, coefficient)``), so
cuEquivariance computes exactly eqpot's math, not its own normalisation of it.

Every operand is a per-row buffer of ``D`` segments of ``C`` channels (component-major,
channel-minor: cuEquivariance's ``ir_mul`` layout), one mode ``u`` of extent ``C``:

- message (:func:`channelwise_message_cueq`): ``w[u] x[u] y[] -> out[u]``, one path per
  entry ``(p, a, j, b)`` of the table, with the gather of senders and the scatter-sum to
  receivers as cuEquivariance's input and output indices;
- polynomial (:func:`evaluate_polynomial_cueq`): one tensor product per distinct factor
  signature of the terms (MACE's symmetric contraction: ``w[u] A[u] ... A[u] -> B[u]``,
  degree 1 to the correlation), a table input read through per-row indices (the element's
  weights).

``method``: ``uniform_1d`` (NVIDIA's CUDA kernel; needs ``cuequivariance-ops-jax``) on a
GPU that has it, the pure-JAX ``naive`` evaluation elsewhere; ``EQPOT_CUEQ_METHOD``
overrides. Every
derivative order is cuEquivariance's own (its primitive's JVP and transpose rules map back
to itself).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp

from .message import MessageTable
from .polynomial_pallas import Polynomial, check_inputs

__all__ = [
    "channelwise_message_cueq",
    "cueq_method",
    "cueq_methods",
    "evaluate_polynomial_cueq",
    "message_polynomial",
    "segmented_polynomial",
]

METHOD_ENV_VAR = "EQPOT_CUEQ_METHOD"


def cueq_method() -> str:
    """``EQPOT_CUEQ_METHOD`` if set, else ``uniform_1d`` on a GPU with cuEquivariance's CUDA
    ops installed, and ``naive`` otherwise."""
    return os.environ.get(METHOD_ENV_VAR) or cueq_methods()[-1]


def cueq_methods() -> tuple[str, ...]:
    """The methods that run here: ``naive`` always, ``uniform_1d`` on a GPU with
    cuEquivariance's CUDA ops installed (the fastest last)."""
    cuda_ops = importlib.util.find_spec("cuequivariance_ops_jax") is not None
    return ("naive", "uniform_1d") if jax.default_backend() == "gpu" and cuda_ops else ("naive",)


def _cue():
    try:
        import cuequivariance as cue
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "impl='cueq' needs cuEquivariance: pip install 'eqpot[cueq]' "
            "(and cuequivariance-ops-jax-cu13 for its CUDA kernels)"
        ) from error
    return cue


def _tensor_product(cue, operands: Sequence[tuple[int, tuple]], paths):
    """One tensor product over mode ``u``: ``operands`` are ``(num_segments, segment
    shape)``, each segment ``(C,)`` (mode ``u``) or ``()``; ``paths`` are ``(segments,
    value)``."""
    subscripts = ",".join("u" * len(shape) for _, shape in operands)
    stp = cue.SegmentedTensorProduct.from_subscripts(subscripts)
    for operand, (count, shape) in enumerate(operands):
        stp.add_segments(operand, [shape] * count)
    for segments, value in paths:
        stp.add_path(*segments, c=value)
    return stp


@functools.lru_cache(maxsize=64)
def message_polynomial(table: MessageTable):
    """``(w, x, y) -> out`` for :func:`eqpot.kernels.channelwise_message`'s table: operand
    segments ``w`` ``P x (C,)``, ``x`` ``D_in x (C,)``, ``y`` ``D_e x ()``, ``out``
    ``D_out x (C,)``, one path per table entry."""
    cue = _cue()
    c = (table.channels,)
    operands = [(table.num_paths, c), (table.dim_in, c), (table.dim_edge, ()), (table.dim_out, c)]
    paths = zip(table.entries.tolist(), table.values.tolist(), strict=True)
    return cue.SegmentedPolynomial.eval_last_operand(_tensor_product(cue, operands, paths))


def channelwise_message_cueq(
    table: MessageTable, x, y, w, senders, receivers, *, method: str | None = None
) -> jax.Array:
    """The message of :func:`eqpot.kernels.channelwise_message` (same arguments and result)
    through ``cuex.segmented_polynomial`` with fused gather and scatter."""
    import cuequivariance_jax as cuex

    n, e = x.shape[0], w.shape[0]
    dtype = jnp.result_type(x, y, w)
    [out] = cuex.segmented_polynomial(
        message_polynomial(table),
        [w.reshape(e, -1).astype(dtype), x.reshape(n, -1).astype(dtype), y.astype(dtype)],
        [jax.ShapeDtypeStruct((n, table.dim_out * table.channels), dtype)],
        [None, senders.astype(jnp.int32), None, receivers.astype(jnp.int32)],
        method=method or cueq_method(),
        name="eqpot_channelwise_message",
    )
    return out.reshape(n, table.dim_out, table.channels)


@functools.lru_cache(maxsize=64)
def segmented_polynomial(poly: Polynomial, channels: int):
    """:class:`Polynomial` (inputs ``(N, D_k, C)``) as one ``cue.SegmentedPolynomial``:
    the terms grouped by the inputs their factors read (in order, repeats included), each
    group one tensor product whose paths are the terms."""
    cue = _cue()
    groups = defaultdict(list)
    for out, value, factors in poly.terms:
        signature = tuple(k for k, _ in factors)
        groups[signature].append(((*(i for _, i in factors), out), value))
    c = (channels,)
    dims = (*poly.input_dims, poly.out_dim)
    output = len(poly.input_dims)
    operations = []
    for signature, paths in sorted(groups.items()):
        buffers = (*signature, output)
        stp = _tensor_product(cue, [(dims[k], c) for k in buffers], paths)
        operations.append((cue.Operation(buffers), stp))
    operands = [cue.SegmentedOperand(ndim=1, segments=[c] * d) for d in dims]
    return cue.SegmentedPolynomial(operands[:output], operands[output:], operations)


def evaluate_polynomial_cueq(
    poly: Polynomial,
    *inputs: jax.Array,
    rows: Mapping[int, jax.Array] | None = None,
    method: str | None = None,
) -> jax.Array:
    """:func:`eqpot.kernels.evaluate_polynomial` through ``cuex.segmented_polynomial``:
    ``inputs[k]`` is ``(N, D_k, C)``, or a table ``(R, D_k, C)`` read at ``rows[k]``
    (``(N,)``) by cuEquivariance's input indexing. Returns ``(N, D_out, C)``."""
    import cuequivariance_jax as cuex

    rows = dict(rows or {})
    n, channels = check_inputs(poly, inputs, rows)
    dtype = jnp.result_type(*inputs)
    flat = [a.reshape(a.shape[0], -1).astype(dtype) for a in inputs]
    indices = [rows[k].astype(jnp.int32) if k in rows else None for k in range(len(inputs))]
    [out] = cuex.segmented_polynomial(
        segmented_polynomial(poly, channels),
        flat,
        [jax.ShapeDtypeStruct((n, poly.out_dim * channels), dtype)],
        [*indices, None],
        method=method or cueq_method(),
        name="eqpot_polynomial",
    )
    return out.reshape(n, poly.out_dim, channels)
