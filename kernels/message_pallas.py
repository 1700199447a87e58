"""Pallas kernels for the channel-wise message, with a custom VJP of any order.

The message is ``dF/dg`` of the 4-linear form ``F(x, y, w, g)`` of
:mod:`eqpot.kernels.message`; each partial derivative has its own kernel:

* ``g`` (the message) and ``x`` (its gradient for the node features) are *node* kernels:
  one program per target node walks that node's incoming edges (a CSR built by sorting the
  edges by target), gathers the source node's features, applies the per-edge weights and the
  sparse coefficients channel-vectorised, and accumulates in registers — no per-edge array
  is written to memory and no atomics are needed. ``x`` is the same kernel with senders and
  receivers swapped and the coefficients transposed.
* ``y`` and ``w`` are *edge* kernels: one program per edge reads its two end nodes.

Differentiating the partial for slot ``s`` with respect to slot ``s'`` (cotangent ``t``) is
the partial for ``s'`` with ``t`` in place of slot ``s``, so the VJP calls these kernels
again, at any order.

Layouts: ``x (N, D_in, C)``, ``g (N, D_out, C)``, ``y (E, D_e)``, ``w (E, P, C)``; the
channel axis is the vector axis (padded to a power of two for Triton). Coefficients are
unrolled at trace time, grouped so that each term costs one channel-vector FMA.
Backend: Triton (named explicitly); interpret mode on a CPU.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from ._pallas import compiler_params, interpret, next_pow2
from .message import SLOTS, MessageTable

__all__ = ["EdgeIndex", "edge_index", "message_pallas"]


class EdgeIndex(NamedTuple):
    """Edges and their CSR orders by receiver and by sender (``offsets``: ``(N + 1,)``)."""

    senders: jax.Array
    receivers: jax.Array
    by_receiver: jax.Array
    receiver_offsets: jax.Array
    by_sender: jax.Array
    sender_offsets: jax.Array


def _csr(targets: jax.Array, num_nodes: int) -> tuple[jax.Array, jax.Array]:
    order = jnp.argsort(targets, stable=True).astype(jnp.int32)
    bounds = jnp.arange(num_nodes + 1, dtype=targets.dtype)
    offsets = jnp.searchsorted(targets[order], bounds, side="left").astype(jnp.int32)
    return order, offsets  # edges with a target >= num_nodes fall after the last offset


def edge_index(senders: jax.Array, receivers: jax.Array, num_nodes: int) -> EdgeIndex:
    senders, receivers = senders.astype(jnp.int32), receivers.astype(jnp.int32)
    return EdgeIndex(senders, receivers, *_csr(receivers, num_nodes), *_csr(senders, num_nodes))


# -- the coefficient groups each kernel unrolls ------------------------------------------


@functools.lru_cache(maxsize=64)
def _node_groups(table: MessageTable, slot: str) -> tuple:
    """``((p, target_comp), ((source_comp, j, value), ...)), ...`` for slot ``g`` or ``x``."""
    groups = defaultdict(list)
    for (p, a, j, b), value in zip(table.entries.tolist(), table.values.tolist(), strict=True):
        source, target = (a, b) if slot == "g" else (b, a)
        groups[(p, target)].append((source, j, value))
    return tuple((key, tuple(terms)) for key, terms in sorted(groups.items()))


@functools.lru_cache(maxsize=64)
def _edge_groups(table: MessageTable, slot: str) -> tuple:
    """Slot ``w``: ``(p, ((a, j, b, value), ...))``; slot ``y``: ``(j, ((p, a, b, v), ...))``."""
    groups = defaultdict(list)
    for (p, a, j, b), value in zip(table.entries.tolist(), table.values.tolist(), strict=True):
        if slot == "w":
            groups[p].append((a, j, b, value))
        else:
            groups[j].append((p, a, b, value))
    return tuple((key, tuple(terms)) for key, terms in sorted(groups.items()))


class _Rows:
    """Loads each ``ref[index, row, :]`` once per program."""

    def __init__(self, ref, index):
        self.ref, self.index, self.cache = ref, index, {}

    def __getitem__(self, row):
        if row not in self.cache:
            self.cache[row] = self.ref[self.index, row, :]
        return self.cache[row]


# -- kernels ---------------------------------------------------------------------------


def _node_kernel(
    groups, dim_target, offsets_ref, order_ref, source_ref, src_ref, y_ref, w_ref, out_ref
):
    n = pl.program_id(0)
    channels = out_ref.shape[-1]

    def edge(k, acc):
        e = order_ref[k]
        src = _Rows(src_ref, source_ref[e])
        weights = _Rows(w_ref, e)
        ys = {}
        acc = list(acc)
        for (p, target), terms in groups:
            t = None
            for source, j, value in terms:
                if j not in ys:
                    ys[j] = y_ref[e, j]
                term = (value * ys[j]) * src[source]
                t = term if t is None else t + term
            acc[target] = acc[target] + weights[p] * t
        return tuple(acc)

    zero = jnp.zeros((channels,), out_ref.dtype)
    acc = jax.lax.fori_loop(offsets_ref[n], offsets_ref[n + 1], edge, (zero,) * dim_target)
    for target in range(dim_target):
        out_ref[n, target, :] = acc[target]


def _edge_kernel(
    slot, groups, size, senders_ref, receivers_ref, x_ref, y_ref, w_ref, g_ref, out_ref
):
    e = pl.program_id(0)
    x = _Rows(x_ref, senders_ref[e])
    g = _Rows(g_ref, receivers_ref[e])
    found = dict(groups)
    if slot == "w":
        for p in range(size):
            t = jnp.zeros((out_ref.shape[-1],), out_ref.dtype)
            for a, j, b, value in found.get(p, ()):
                t = t + (value * y_ref[e, j]) * (x[a] * g[b])
            out_ref[e, p, :] = t
        return
    weights = _Rows(w_ref, e)
    for j in range(size):
        t = jnp.zeros((x_ref.shape[-1],), out_ref.dtype)
        for p, a, b, value in found.get(j, ()):
            t = t + value * (weights[p] * x[a] * g[b])
        out_ref[e, j] = jnp.sum(t)


def _call(kernel, grid, out_shape, *args):
    return pl.pallas_call(
        kernel,
        out_shape=out_shape,
        grid=(grid,),
        interpret=interpret(),
        compiler_params=compiler_params(),
    )(*args)


def _compute(slot, table, x, y, w, g, index: EdgeIndex):
    num_nodes, edges = x.shape[0], y.shape[0]
    dtype = x.dtype
    if slot in ("g", "x"):
        if slot == "g":
            offsets, order, source, src, dim = (
                index.receiver_offsets,
                index.by_receiver,
                index.senders,
                x,
                table.dim_out,
            )
        else:
            offsets, order, source, src, dim = (
                index.sender_offsets,
                index.by_sender,
                index.receivers,
                g,
                table.dim_in,
            )
        kernel = functools.partial(_node_kernel, _node_groups(table, slot), dim)
        shape = jax.ShapeDtypeStruct((num_nodes, dim, x.shape[-1]), dtype)
        return _call(kernel, num_nodes, shape, offsets, order, source, src, y, w)
    groups = _edge_groups(table, slot)
    if slot == "w":
        size, shape = table.num_paths, (edges, table.num_paths, x.shape[-1])
    else:
        size, shape = table.dim_edge, (edges, table.dim_edge)
    kernel = functools.partial(_edge_kernel, slot, groups, size)
    out = jax.ShapeDtypeStruct(shape, dtype)
    return _call(kernel, edges, out, index.senders, index.receivers, x, y, w, g)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _partial(slot, table, x, y, w, g, index):
    """``dF/d(slot)`` at the other three arguments (the one in ``slot`` is a placeholder)."""
    return _compute(slot, table, x, y, w, g, index)


def _partial_fwd(slot, table, x, y, w, g, index):
    # the primal through the custom_vjp function itself, so that differentiating the
    # backward (which calls _partial) finds the custom rule again
    return _partial(slot, table, x, y, w, g, index), (x, y, w, g, index)


def _partial_bwd(slot, table, residuals, t):
    *arrays, index = residuals
    args = dict(zip(SLOTS, arrays, strict=True))
    args[slot] = t
    grads = [
        jnp.zeros_like(arrays[i]) if s == slot else _partial(s, table, *args.values(), index)
        for i, s in enumerate(SLOTS)
    ]
    return (*grads, None)


_partial.defvjp(_partial_fwd, _partial_bwd)


def message_pallas(
    table: MessageTable,
    x: jax.Array,
    y: jax.Array,
    w: jax.Array,
    senders: jax.Array,
    receivers: jax.Array,
) -> jax.Array:
    """The message ``(N, D_out, C)`` through the fused kernels (see the module docstring)."""
    num_nodes, channels = x.shape[0], x.shape[-1]
    dtype = jnp.result_type(x, y, w)
    padded = next_pow2(channels)
    pad = [(0, 0), (0, 0), (0, padded - channels)]
    x = jnp.pad(x.astype(dtype), pad)
    w = jnp.pad(w.astype(dtype), pad)
    g = jnp.zeros((num_nodes, table.dim_out, padded), dtype)  # the placeholder of slot g
    index = edge_index(senders, receivers, num_nodes)
    out = _partial("g", table, x, y.astype(dtype), w, g, index)
    return out[..., :channels]
