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
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from ._pallas import compiler_params, interpret, next_pow2
from .message import MessageTable, edge_groups, form_partial, node_groups

__all__ = ["EdgeIndex", "compute_pallas", "edge_index", "message_pallas"]


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


def compute_pallas(slot, table, x, y, w, g, index: EdgeIndex):
    """``dF/d(slot)`` through the node or edge kernel (see the module docstring)."""
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
        kernel = functools.partial(_node_kernel, node_groups(table, slot), dim)
        shape = jax.ShapeDtypeStruct((num_nodes, dim, x.shape[-1]), dtype)
        return _call(kernel, num_nodes, shape, offsets, order, source, src, y, w)
    groups = edge_groups(table, slot)
    if slot == "w":
        size, shape = table.num_paths, (edges, table.num_paths, x.shape[-1])
    else:
        size, shape = table.dim_edge, (edges, table.dim_edge)
    kernel = functools.partial(_edge_kernel, slot, groups, size)
    out = jax.ShapeDtypeStruct(shape, dtype)
    return _call(kernel, edges, out, index.senders, index.receivers, x, y, w, g)


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
    out = form_partial("g", table, "pallas", x, y.astype(dtype), w, g, index)
    return out[..., :channels]
