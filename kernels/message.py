"""The channel-wise message of MACE/NequIP: gather, per-edge weighted product, scatter-sum.

For node features ``x`` (``(N, D_in, C)``: component-major, channel-minor), edge attributes
``y`` (``(E, D_e)``, the edge's spherical harmonics), per-edge path weights ``w``
(``(E, P, C)``) and edges ``s_e -> r_e``, the message to node ``r`` is

    out[r, b, u] = sum_{e: r_e = r} sum_{(p, a, j, b)} c_{p a j b} w[e, p, u] x[s_e, a, u] y[e, j]

with the constant sparse coefficients ``c`` (``MessageTable.entries``: path ``p``, input
component ``a``, edge component ``j``, output component ``b``). It is the "uvu" CG product
of :mod:`eqpot.kernels.tensor_product` with one edge channel, summed over the incoming edges.

The message is one partial derivative of the 4-linear form

    F(x, y, w, g) = sum_e sum_{(p, a, j, b)} c sum_u w[e, p, u] x[s_e, a, u] y[e, j] g[r_e, b, u]

(``out = dF/dg``), and so are all its derivatives: ``dF/dx`` is the same sum scattered to
senders, ``dF/dy`` and ``dF/dw`` are per edge. :func:`form_partial` computes each partial
(here in XLA as channel loops over chunks of edges, or in the Pallas kernels of
:mod:`eqpot.kernels.message_pallas`) and differentiates any of them by calling another, so
forces (a first derivative) and their training gradients stay fused at every order.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict

import jax
import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl, with_cueq
from .chunked import map_in_chunks
from .tensor_product import PathTable

__all__ = ["MessageTable", "channelwise_message", "form_partial", "message_table"]

#: the slots of the form F: node features, edge attributes, path weights, output cotangent
SLOTS = ("x", "y", "w", "g")


@dataclasses.dataclass(frozen=True, eq=False)
class MessageTable:
    """Sparse coefficients ``entries[n] = (p, a, j, b)``, ``values[n]``, and the sizes
    ``(P, D_in, D_e, D_out)``. ``weight_index[p, u]``: position of ``w[p, u]`` in the flat
    weight vector of the product this table came from. Hashed by identity (a constant)."""

    entries: np.ndarray
    values: np.ndarray
    num_paths: int
    dim_in: int
    dim_edge: int
    dim_out: int
    channels: int
    weight_index: np.ndarray


def message_table(table: PathTable) -> MessageTable:
    """The message of a channel-wise ("uvu") CG path table with one edge channel.

    Raises:
        ValueError: a path is not "uvu", the edge operand has more than one channel, or the
            node segments do not all have the same number of channels.
    """
    muls = {s.mul for s in table.segments1} | {s.mul for s in table.segments_out}
    if any(p.mode != "uvu" for p in table.paths) or len(muls) != 1:
        raise ValueError("message_table: needs channel-wise ('uvu') paths with one channel count")
    if any(s.mul != 1 for s in table.segments2):
        raise ValueError("message_table: the edge operand must have one channel per irrep")
    channels = muls.pop()
    start1 = np.cumsum([0] + [s.dim for s in table.segments1])
    start2 = np.cumsum([0] + [s.dim for s in table.segments2])
    start_out = np.cumsum([0] + [s.dim for s in table.segments_out])
    entries, values, weight_index = [], [], []
    for p, path in enumerate(table.paths):
        for i, j, k in zip(*np.nonzero(path.coefficients), strict=True):
            entries.append((p, start1[path.in1] + i, start2[path.in2] + j, start_out[path.out] + k))
            values.append(path.coefficients[i, j, k])
        weight_index.append(path.weight_offset + np.arange(channels))
    return MessageTable(
        np.asarray(entries, dtype=np.int64).reshape(-1, 4),
        np.asarray(values, dtype=np.float64),
        len(table.paths),
        int(start1[-1]),
        int(start2[-1]),
        int(start_out[-1]),
        channels,
        np.asarray(weight_index, dtype=np.int64).reshape(len(table.paths), channels),
    )


# -- the coefficient groups every implementation unrolls ---------------------------------


@functools.lru_cache(maxsize=64)
def node_groups(table: MessageTable, slot: str) -> tuple:
    """``((p, target_comp), ((source_comp, j, value), ...)), ...`` for slot ``g`` or ``x``."""
    groups = defaultdict(list)
    for (p, a, j, b), value in zip(table.entries.tolist(), table.values.tolist(), strict=True):
        source, target = (a, b) if slot == "g" else (b, a)
        groups[(p, target)].append((source, j, value))
    return tuple((key, tuple(terms)) for key, terms in sorted(groups.items()))


@functools.lru_cache(maxsize=64)
def edge_groups(table: MessageTable, slot: str) -> tuple:
    """Slot ``w``: ``(p, ((a, j, b, value), ...))``; slot ``y``: ``(j, ((p, a, b, v), ...))``."""
    groups = defaultdict(list)
    for (p, a, j, b), value in zip(table.entries.tolist(), table.values.tolist(), strict=True):
        if slot == "w":
            groups[p].append((a, j, b, value))
        else:
            groups[j].append((p, a, b, value))
    return tuple((key, tuple(terms)) for key, terms in sorted(groups.items()))


# -- XLA: each partial as a few fused loops over (edge, channel) rows --------------------

#: edges per step of the XLA:CPU loops (:func:`map_in_chunks`): a chunk's gathered rows
#: (512 x (D_in + D_out) x C) stay in cache while every term reads them
EDGE_CHUNK = 512


def _sum(terms):
    total = None
    for term in terms:
        total = term if total is None else total + term
    return total


def _node_partial_xla(slot, table, x, y, w, g, senders, receivers):
    """Slot ``g`` (messages into receivers) or ``x`` (into senders).

    ``g``: one ``(E, C)`` row per output component, each ``segment_sum``med on its own
    (per-edge blocks of all ``D_out`` rows would be the largest array of the layer).
    ``x``: the ``D_in`` rows of each edge chunk together, then one ``segment_sum``."""
    num_nodes, channels = (x if slot == "g" else g).shape[0], x.shape[-1]
    groups = node_groups(table, slot)
    dim = table.dim_out if slot == "g" else table.dim_in
    zero = jnp.zeros((channels,), x.dtype)

    def rows_of(source, ye, we):  # source (..., D_source, C), ye (..., D_e), we (..., P, C)
        rows: list = [None] * dim
        for (p, target), terms in groups:
            t = we[..., p, :] * _sum(
                (value * ye[..., j, None]) * source[..., a, :] for a, j, value in terms
            )
            rows[target] = t if rows[target] is None else rows[target] + t
        return rows

    if slot == "g":
        rows = rows_of(x[senders], y, w)
        summed = [
            jnp.zeros((num_nodes, channels), x.dtype)
            if r is None
            else jax.ops.segment_sum(r, receivers, num_nodes)
            for r in rows
        ]
        return jnp.stack(summed, axis=1)

    def per_edge(operands):
        r, ye, we = operands
        return jnp.stack([zero if q is None else q for q in rows_of(g[r], ye, we)], axis=0)

    per_edge_rows = map_in_chunks(per_edge, (receivers, y, w), EDGE_CHUNK)  # (E, D_in, C)
    return jax.ops.segment_sum(per_edge_rows, senders, num_nodes)


def _edge_partial_xla(slot, table, x, y, w, g, senders, receivers):
    """Slot ``w`` (``(E, P, C)``) or ``y`` (``(E, D_e)``, summed over channels)."""
    found = dict(edge_groups(table, slot))
    zero = jnp.zeros((x.shape[-1],), x.dtype)

    def per_edge(operands):
        s, r, ye, we = operands
        xs, gs = x[s], g[r]  # (D_in, C), (D_out, C)
        if slot == "w":
            rows = [
                _sum((v * ye[j]) * (xs[a] * gs[b]) for a, j, b, v in found[p])
                if p in found
                else zero
                for p in range(table.num_paths)
            ]
            return jnp.stack(rows, axis=0)
        rows = [
            _sum(v * (we[p] * xs[a] * gs[b]) for p, a, b, v in found[j]) if j in found else zero
            for j in range(table.dim_edge)
        ]
        return jnp.stack(rows, axis=0).sum(axis=-1)

    return map_in_chunks(per_edge, (senders, receivers, y, w), EDGE_CHUNK)


def _compute(slot, table, impl, x, y, w, g, index):
    if impl == "pallas":
        from .message_pallas import compute_pallas

        return compute_pallas(slot, table, x, y, w, g, index)
    partial = _node_partial_xla if slot in ("g", "x") else _edge_partial_xla
    # materialised inputs: XLA would otherwise fuse their producers (a cotangent's sin, a
    # radial MLP's last layer) into every row loop that reads them, recomputing them there
    x, y, w, g = jax.lax.optimization_barrier((x, y, w, g))
    return partial(slot, table, x, y, w, g, index[0], index[1])


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def form_partial(slot: str, table: MessageTable, impl: str, x, y, w, g, index):
    """``dF/d(slot)`` at the other three arguments (the one in ``slot`` is a placeholder).

    ``index`` starts with ``(senders, receivers)`` (the Pallas kernels add their CSR
    orders). Differentiating the partial for slot ``s`` with respect to slot ``s'``
    (cotangent ``t``) is the partial for ``s'`` with ``t`` in place of slot ``s``: the VJP
    calls this function again, so every order of derivative stays in ``impl``.
    """
    return _compute(slot, table, impl, x, y, w, g, index)


def _form_partial_fwd(slot, table, impl, x, y, w, g, index):
    # the primal through the custom_vjp function itself, so that differentiating the
    # backward (which calls form_partial) finds the custom rule again
    return form_partial(slot, table, impl, x, y, w, g, index), (x, y, w, g, index)


def _form_partial_bwd(slot, table, impl, residuals, t):
    *arrays, index = residuals
    args = dict(zip(SLOTS, arrays, strict=True))
    args[slot] = t
    grads = [
        jnp.zeros_like(arrays[i])
        if s == slot
        else form_partial(s, table, impl, *args.values(), index)
        for i, s in enumerate(SLOTS)
    ]
    return (*grads, None)


form_partial.defvjp(_form_partial_fwd, _form_partial_bwd)


def channelwise_message(
    table: MessageTable,
    x: jnp.ndarray,
    y: jnp.ndarray,
    w: jnp.ndarray,
    senders: jnp.ndarray,
    receivers: jnp.ndarray,
    *,
    impl: str | None = None,
) -> jnp.ndarray:
    """The summed messages ``(N, D_out, C)`` (see the module docstring).

    Args:
        x: ``(N, D_in, C)`` node features; ``y``: ``(E, D_e)``; ``w``: ``(E, P, C)``;
        senders, receivers: ``(E,)`` node indices (any order; padding edges may point at a
            padding node).
        impl: ``xla`` (loops over chunks of edges, ``segment_sum``), ``pallas`` (fused
            kernels) or ``cueq`` (cuEquivariance's segmented polynomial with fused gather
            and scatter, :mod:`eqpot.kernels.cueq`; where installed).
    """
    expected = {
        "x": (x.shape[1:], (table.dim_in, table.channels)),
        "y": (y.shape[1:], (table.dim_edge,)),
        "w": (w.shape[1:], (table.num_paths, table.channels)),
    }
    for name, (got, want) in expected.items():
        if tuple(got) != want:
            raise ValueError(
                f"channelwise_message: {name} has trailing shape {got}, expected {want}"
            )
    if not (y.shape[0] == w.shape[0] == senders.shape[0] == receivers.shape[0]):
        raise ValueError(
            "channelwise_message: y, w, senders and receivers must have one row per edge, got "
            f"{y.shape[0]}, {w.shape[0]}, {senders.shape[0]}, {receivers.shape[0]}"
        )
    impl = resolve_impl("channelwise_message", impl, with_cueq(("xla", "pallas")))
    if impl == "pallas":
        from .message_pallas import message_pallas

        return message_pallas(table, x, y, w, senders, receivers)
    if impl == "cueq":
        from .cueq import channelwise_message_cueq

        return channelwise_message_cueq(table, x, y, w, senders, receivers)
    dtype = jnp.result_type(x, y, w)
    x, y, w = x.astype(dtype), y.astype(dtype), w.astype(dtype)
    g = jnp.zeros((x.shape[0], table.dim_out, x.shape[-1]), dtype)  # the placeholder of slot g
    return form_partial("g", table, "xla", x, y, w, g, (senders, receivers))
