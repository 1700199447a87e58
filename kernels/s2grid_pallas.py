"""Fused Pallas kernel for the S2-grid Gaunt product, with a custom VJP of any order.

The product ``out = from_grid(to_grid(x1) * to_grid(x2))`` is written with dense operators
(``A1: (d1, G)``, ``A2: (d2, G)`` synthesis, ``A3: (G, d_out)`` weighted analysis, ``G`` grid
points) as the *grid-bilinear* map

    K(x1, x2; A1, A2, A3) = ((x1 A1) * (x2 A2)) A3

One kernel evaluates a tile of rows: two matmuls onto the grid, the pointwise product and
the matmul back, without writing the grid values to memory. Its derivatives are the same map
with other operators,

    dL/dx1 = K(g, x2; A3^T, A2, A1^T),    dL/dx2 = K(g, x1; A3^T, A1, A2^T),

so the VJP calls the kernel again, and the VJP of the VJP too: forces (first derivatives
inside the loss) and their training gradients run through the same fused kernel.

Backend: Triton, named explicitly through ``pallas.triton.CompilerParams`` (JAX 0.10 and
0.11 differ in their default GPU backend); on a CPU the kernel runs in interpret mode.
Triton needs power-of-two blocks, so operands are zero-padded to powers of two (zero rows
and columns change nothing). FLOPs per row: ``2 G (d1 + d2 + d_out) + G``.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl

from ._pallas import compiler_params, interpret, next_pow2
from .s2grid import GridTables, from_grid, to_grid

__all__ = ["DenseOperators", "dense_operators", "grid_bilinear"]

BLOCK_ROWS = 64


def _pow2(n: int) -> int:
    return next_pow2(n, minimum=16)


@dataclasses.dataclass(frozen=True, eq=False)
class DenseOperators:
    """``A1 (d1, G)``, ``A2 (d2, G)``, ``A3 (G, d_out)`` in float64, zero-padded to powers
    of two; ``dims`` are the unpadded ``(d1, d2, d_out)``. Hashed by identity (a constant)."""

    a1: np.ndarray
    a2: np.ndarray
    a3: np.ndarray
    dims: tuple[int, int, int]

    @functools.cached_property
    def for_x1(self) -> DenseOperators:
        """Operators of ``dL/dx1 = K(g, x2; A3^T, A2, A1^T)``."""
        return DenseOperators(
            self.a3.T, self.a2, self.a1.T, (self.dims[2], self.dims[1], self.dims[0])
        )

    @functools.cached_property
    def for_x2(self) -> DenseOperators:
        """Operators of ``dL/dx2 = K(g, x1; A3^T, A1, A2^T)``."""
        return DenseOperators(
            self.a3.T, self.a1, self.a2.T, (self.dims[2], self.dims[0], self.dims[1])
        )


def _pad(a: np.ndarray) -> np.ndarray:
    out = np.zeros((_pow2(a.shape[0]), _pow2(a.shape[1])))
    out[: a.shape[0], : a.shape[1]] = a
    return out


@functools.lru_cache(maxsize=64)
def dense_operators(
    tables1: GridTables, tables2: GridTables, tables_out: GridTables
) -> DenseOperators:
    """The dense synthesis/analysis matrices of three operands' separable grid tables."""
    # eager even when first called inside a jit trace (the operators are constants)
    cpu = jax.devices("cpu")[0]
    with jax.ensure_compile_time_eval(), jax.default_device(cpu), jax.enable_x64(True):
        a1 = np.asarray(to_grid(jnp.eye(tables1.dim, dtype=jnp.float64), tables1))
        a2 = np.asarray(to_grid(jnp.eye(tables2.dim, dtype=jnp.float64), tables2))
        grid = a1.shape[1:]
        points = int(np.prod(grid))
        basis = jnp.eye(points, dtype=jnp.float64).reshape(points, *grid)
        a3 = np.asarray(from_grid(basis, tables_out))
    dims = (tables1.dim, tables2.dim, tables_out.dim)
    return DenseOperators(
        _pad(a1.reshape(dims[0], points)),
        _pad(a2.reshape(dims[1], points)),
        _pad(a3),
        dims,
    )


def _kernel(x1_ref, x2_ref, a1_ref, a2_ref, a3_ref, out_ref):
    acc = jnp.promote_types(x1_ref.dtype, jnp.float32)  # f32 accumulation, f64 stays f64
    f = jnp.dot(x1_ref[...], a1_ref[...], preferred_element_type=acc)
    f = f * jnp.dot(x2_ref[...], a2_ref[...], preferred_element_type=acc)
    out = jnp.dot(f.astype(a3_ref.dtype), a3_ref[...], preferred_element_type=acc)
    out_ref[...] = out.astype(out_ref.dtype)


def _call(x1: jnp.ndarray, x2: jnp.ndarray, ops: DenseOperators) -> jnp.ndarray:
    """The kernel on 2D inputs ``(B, d1)``, ``(B, d2)`` -> ``(B, d_out)``."""
    rows = x1.shape[0]
    block = min(BLOCK_ROWS, _pow2(rows))
    padded_rows = -(-rows // block) * block
    d1p = ops.a1.shape[0]
    d2p, doutp = ops.a2.shape[0], ops.a3.shape[1]
    dtype = x1.dtype
    x1p = jnp.zeros((padded_rows, d1p), dtype).at[:rows, : ops.dims[0]].set(x1)
    x2p = jnp.zeros((padded_rows, d2p), dtype).at[:rows, : ops.dims[1]].set(x2)
    row_spec = lambda d: pl.BlockSpec((block, d), lambda i: (i, 0))  # noqa: E731
    full_spec = lambda a: pl.BlockSpec(a.shape, lambda i: (0, 0))  # noqa: E731
    out = pl.pallas_call(
        _kernel,
        out_shape=jax.ShapeDtypeStruct((padded_rows, doutp), dtype),
        grid=(padded_rows // block,),
        in_specs=[
            row_spec(d1p),
            row_spec(d2p),
            full_spec(ops.a1),
            full_spec(ops.a2),
            full_spec(ops.a3),
        ],
        out_specs=row_spec(doutp),
        interpret=interpret(),
        compiler_params=compiler_params(),
    )(x1p, x2p, *(jnp.asarray(a, dtype) for a in (ops.a1, ops.a2, ops.a3)))
    return out[:rows, : ops.dims[2]]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _grid_bilinear(x1, x2, ops):
    return _call(x1, x2, ops)


def _forward(x1, x2, ops):
    # the primal through the custom_vjp function itself (not the raw pallas_call), so that
    # differentiating this rule again (reverse over reverse) also finds the custom rule
    return _grid_bilinear(x1, x2, ops), (x1, x2)


def _backward(ops, residuals, g):
    x1, x2 = residuals
    return _grid_bilinear(g, x2, ops.for_x1), _grid_bilinear(g, x1, ops.for_x2)


_grid_bilinear.defvjp(_forward, _backward)


def grid_bilinear(x1: jnp.ndarray, x2: jnp.ndarray, ops: DenseOperators) -> jnp.ndarray:
    """``K(x1, x2)`` for ``x1 (..., d1)``, ``x2 (..., d2)`` (leading dimensions broadcast)."""
    batch = jnp.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
    dtype = jnp.result_type(x1, x2)
    flat1 = jnp.broadcast_to(x1, (*batch, x1.shape[-1])).reshape(-1, x1.shape[-1]).astype(dtype)
    flat2 = jnp.broadcast_to(x2, (*batch, x2.shape[-1])).reshape(-1, x2.shape[-1]).astype(dtype)
    return _grid_bilinear(flat1, flat2, ops).reshape(*batch, ops.dims[2])
