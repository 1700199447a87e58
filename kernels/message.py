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
senders, ``dF/dy`` and ``dF/dw`` are per edge. :mod:`eqpot.kernels.message_pallas`
computes each partial in a Pallas kernel and differentiates any of them by calling another,
so forces (a first derivative) and their training gradients stay in the kernels.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl
from .tensor_product import PathTable

__all__ = ["MessageTable", "channelwise_message", "message_table"]

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

    @functools.cached_property
    def dense(self) -> np.ndarray:
        """``c`` as a dense ``(P, D_in, D_e, D_out)`` array (the XLA reference uses it)."""
        c = np.zeros((self.num_paths, self.dim_in, self.dim_edge, self.dim_out))
        np.add.at(c, tuple(self.entries.T), self.values)
        return c


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


def _message_xla(table, x, y, w, senders, receivers, num_nodes):
    c = jnp.asarray(table.dense, x.dtype)
    per_edge = jnp.einsum("eau,ej,pajb,epu->ebu", x[senders], y, c, w, optimize=True)
    return jax.ops.segment_sum(per_edge, receivers, num_segments=num_nodes)


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
        impl: ``xla`` (gather, einsum, ``segment_sum``) or ``pallas`` (fused kernels).
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
    if resolve_impl("channelwise_message", impl, ("xla", "pallas")) == "pallas":
        from .message_pallas import message_pallas

        return message_pallas(table, x, y, w, senders, receivers)
    return _message_xla(table, x, y, w, senders, receivers, x.shape[0])
