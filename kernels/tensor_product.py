"""Execution of path-structured tensor products (Clebsch-Gordan products).

A product is described by segments of its operands and a list of paths. Segment ``s`` of an
operand occupies ``x[..., offset : offset + mul * dim]`` laid out as ``(mul, dim)`` (e3nn's
"mul_ir" layout). A path couples segments ``in1``, ``in2`` into segment ``out`` with a dense
coefficient tensor ``c[i, j, k]`` (``(dim1, dim2, dim_out)``, normalisation included) and one
of the connection modes:

* ``"uvw"``: ``out[w, k] += sum_{u v i j} W[u, v, w] c[i, j, k] x1[u, i] x2[v, j]``
* ``"uvu"``: ``out[u, k] += sum_{v i j} W[u, v] c[i, j, k] x1[u, i] x2[v, j]``
* ``"uv"`` (no weights): ``out[(u, v), k] = sum_{i j} c[i, j, k] x1[u, i] x2[v, j]``

``W`` is read from ``weights[..., weight_offset : weight_offset + prod(weight_shape)]`` in
row-major order; weights may carry leading batch dimensions (e.g. per-edge weights) or not.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from ._impl import resolve_impl

__all__ = ["Path", "PathTable", "Segment", "contract_paths"]


@dataclasses.dataclass(frozen=True)
class Segment:
    offset: int
    mul: int
    dim: int

    @property
    def size(self) -> int:
        return self.mul * self.dim


@dataclasses.dataclass(frozen=True, eq=False)
class Path:
    in1: int
    in2: int
    out: int
    mode: str
    coefficients: np.ndarray
    weight_offset: int = 0
    weight_shape: tuple[int, ...] = ()

    @property
    def num_weights(self) -> int:
        return math.prod(self.weight_shape) if self.weight_shape else 0


@dataclasses.dataclass(frozen=True, eq=False)
class PathTable:
    segments1: tuple[Segment, ...]
    segments2: tuple[Segment, ...]
    segments_out: tuple[Segment, ...]
    paths: tuple[Path, ...]
    num_weights: int

    @property
    def dim1(self) -> int:
        return sum(s.size for s in self.segments1)

    @property
    def dim2(self) -> int:
        return sum(s.size for s in self.segments2)

    @property
    def dim_out(self) -> int:
        return sum(s.size for s in self.segments_out)


def _split(x: jnp.ndarray, segments: tuple[Segment, ...]) -> list[jnp.ndarray]:
    return [
        x[..., s.offset : s.offset + s.size].reshape((*x.shape[:-1], s.mul, s.dim))
        for s in segments
    ]


_EQUATIONS = {
    "uvw": "...ui,...vj,ijk,{w}uvw->...wk",
    "uvu": "...ui,...vj,ijk,{w}uv->...uk",
}


def _path_output(path: Path, x1: jnp.ndarray, x2: jnp.ndarray, weights) -> jnp.ndarray:
    c = jnp.asarray(path.coefficients, x1.dtype)
    if path.mode == "uv":
        out = jnp.einsum("...ui,...vj,ijk->...uvk", x1, x2, c, optimize=True)
        return out.reshape((*out.shape[:-3], -1, out.shape[-1]))
    w = weights[..., path.weight_offset : path.weight_offset + path.num_weights]
    w = w.reshape(w.shape[:-1] + path.weight_shape)
    equation = _EQUATIONS[path.mode].format(w="..." if w.ndim > len(path.weight_shape) else "")
    return jnp.einsum(equation, x1, x2, c, w, optimize=True)


def contract_paths_xla(
    table: PathTable, x1: jnp.ndarray, x2: jnp.ndarray, weights: jnp.ndarray | None
) -> jnp.ndarray:
    """Reference implementation: one einsum per path, summed per output segment."""
    batch = jnp.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
    chunks1, chunks2 = _split(x1, table.segments1), _split(x2, table.segments2)
    outs: list[jnp.ndarray | None] = [None] * len(table.segments_out)
    for path in table.paths:
        y = _path_output(path, chunks1[path.in1], chunks2[path.in2], weights)
        outs[path.out] = y if outs[path.out] is None else outs[path.out] + y
    dtype = jnp.result_type(x1, x2)
    pieces = [
        jnp.broadcast_to(o, batch + o.shape[-2:]).reshape((*batch, -1))
        if o is not None
        else jnp.zeros((*batch, s.size), dtype)
        for o, s in zip(outs, table.segments_out, strict=True)
    ]
    return jnp.concatenate(pieces, axis=-1) if pieces else jnp.zeros((*batch, 0), dtype)


def contract_paths(
    table: PathTable,
    x1: jnp.ndarray,
    x2: jnp.ndarray,
    weights: jnp.ndarray | None = None,
    *,
    impl: str | None = None,
) -> jnp.ndarray:
    """Evaluate the path table on ``x1`` (``(..., dim1)``) and ``x2`` (``(..., dim2)``).

    Leading dimensions broadcast; ``weights`` is ``(num_weights,)`` or ``(..., num_weights)``.
    Returns ``(..., dim_out)``.
    """
    if table.num_weights and weights is None:
        raise ValueError(f"this product needs weights of size {table.num_weights}, got None")
    if weights is not None and weights.shape[-1] != table.num_weights:
        raise ValueError(
            f"weights have last dimension {weights.shape[-1]}, expected {table.num_weights}"
        )
    resolve_impl("contract_paths", impl)
    return contract_paths_xla(table, x1, x2, weights)
