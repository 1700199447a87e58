"""A Pallas kernel for sparse per-node polynomials, differentiated symbolically to any order.

A :class:`Polynomial` maps inputs ``X_k`` (``(N, D_k, C)``) to ``(N, D_out, C)``:

    out[n, o, u] = sum_{terms (o, v, F)} v prod_{(k, i) in F} X_k[n, i, u]

channel by channel (``u``), node by node. An input may instead be a *table* ``T_k``
(``(R, D_k, C)``) read through a per-node row index, ``X_k[n] = T_k[r_k[n]]``: the kernel
gathers the rows itself, so per-node copies are never written to memory. MACE's symmetric
contraction is one (inputs: the node's features ``A``, and its element's weights as a table
indexed by the species; :func:`symmetric_contraction_polynomial`).

The VJP of a polynomial with respect to ``X_k``, for a cotangent ``T`` (``(N, D_out, C)``),
is another polynomial of ``(X_0, ..., T)``: each occurrence of a factor ``(k, i)`` in a term
``(o, v, F)`` gives the term ``(i, v, F - (k, i) + (T, o))``. The custom VJP builds these
derivative polynomials at trace time and runs them through the same kernel, so every order
of derivative runs in the kernel; for a table the per-node VJP is summed into its rows
(``segment_sum`` over ``r_k``).

The kernel: one program per block of nodes, channels as the vector axis; each distinct
prefix of a term's factors is multiplied once (terms share monomials), each term is one FMA.
Backend: Triton (named explicitly); interpret mode on a CPU.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from ._pallas import compiler_params, interpret, next_pow2

__all__ = ["Polynomial", "evaluate_polynomial"]

BLOCK_NODES = 8


class Polynomial:
    """``terms``: tuple of ``(out, value, factors)`` with ``factors`` a sorted tuple of
    ``(input, component)``; ``input_dims``: ``D_k`` per input; ``out_dim``: ``D_out``.
    Compared by identity; its derivatives are built once and kept."""

    def __init__(self, terms, input_dims: tuple[int, ...], out_dim: int):
        self.terms = tuple(terms)
        self.input_dims = tuple(input_dims)
        self.out_dim = int(out_dim)
        for out, _, factors in self.terms:
            bad = [
                (k, i)
                for k, i in factors
                if not (0 <= k < len(input_dims) and 0 <= i < input_dims[k])
            ]
            if not factors or bad or not 0 <= out < self.out_dim:
                raise ValueError(
                    f"polynomial term for output {out} has factors {factors}: need at least one "
                    f"factor, each (input < {len(input_dims)}, component < its dimension)"
                )
        self._derivatives: dict[int, Polynomial] = {}

    def derivative(self, k: int) -> Polynomial:
        """The VJP with respect to input ``k``: a polynomial of ``(*inputs, cotangent)``."""
        if k not in self._derivatives:
            cotangent = len(self.input_dims)
            collected = defaultdict(float)
            for out, value, factors in self.terms:
                for position, (source, component) in enumerate(factors):
                    if source != k or factors.index((source, component)) != position:
                        continue  # each distinct factor once, weighted by its power
                    power = factors.count((source, component))
                    rest = list(factors)
                    rest.remove((source, component))
                    key = (component, tuple(sorted([*rest, (cotangent, out)])))
                    collected[key] += value * power
            terms = [(o, v, f) for (o, f), v in sorted(collected.items()) if v != 0.0]
            dims = (*self.input_dims, self.out_dim)
            self._derivatives[k] = Polynomial(terms, dims, self.input_dims[k])
        return self._derivatives[k]


def _kernel(poly: Polynomial, tables: tuple[int, ...], *refs):
    *inputs, out_ref = refs[len(tables) :]
    row_index = {k: ref[...] for k, ref in zip(tables, refs[: len(tables)], strict=True)}
    rows: dict = {}
    prefixes: dict = {}

    def row(factor):
        if factor not in rows:
            k, i = factor
            if k in row_index:  # a table: gather this block's rows
                rows[factor] = inputs[k][row_index[k], i, :]
            else:
                rows[factor] = inputs[k][:, i, :]
        return rows[factor]

    def product(factors):
        if len(factors) == 1:
            return row(factors[0])
        if factors not in prefixes:
            prefixes[factors] = product(factors[:-1]) * row(factors[-1])
        return prefixes[factors]

    acc: dict = {}
    for out, value, factors in poly.terms:
        term = value * product(factors)
        acc[out] = term if out not in acc else acc[out] + term
    zero = jnp.zeros(out_ref.shape[::2], out_ref.dtype)
    for out in range(poly.out_dim):
        out_ref[:, out, :] = acc.get(out, zero).astype(out_ref.dtype)


def _call(poly: Polynomial, tables: tuple[int, ...], *arrays: jax.Array) -> jax.Array:
    """``arrays``: the inputs, then one ``(N,)`` row index per table input (``tables``)."""
    inputs, indices = arrays[: len(poly.input_dims)], arrays[len(poly.input_dims) :]
    per_node = [x for k, x in enumerate(inputs) if k not in tables]
    nodes = per_node[0].shape[0] if per_node else indices[0].shape[0]
    channels = inputs[0].shape[-1]
    block = min(BLOCK_NODES, next_pow2(nodes))
    padded = -(-nodes // block) * block

    def blocked(x, k):
        if k in tables:  # whole table in every program, rows gathered in the kernel
            return x, pl.BlockSpec(x.shape, lambda n: (0, 0, 0))
        x = jnp.pad(x, [(0, padded - nodes), (0, 0), (0, 0)])
        return x, pl.BlockSpec((block, x.shape[1], channels), lambda n: (n, 0, 0))

    inputs, specs = zip(*(blocked(x, k) for k, x in enumerate(inputs)), strict=True)
    indices = [jnp.pad(r.astype(jnp.int32), (0, padded - nodes)) for r in indices]
    index_spec = pl.BlockSpec((block,), lambda n: (n,))
    out = pl.pallas_call(
        functools.partial(_kernel, poly, tables),
        out_shape=jax.ShapeDtypeStruct((padded, poly.out_dim, channels), inputs[0].dtype),
        grid=(padded // block,),
        in_specs=[index_spec] * len(indices) + list(specs),
        out_specs=pl.BlockSpec((block, poly.out_dim, channels), lambda n: (n, 0, 0)),
        interpret=interpret(),
        compiler_params=compiler_params(),
    )(*indices, *inputs)
    return out[:nodes]


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _evaluate(poly: Polynomial, tables: tuple[int, ...], *arrays):
    return _call(poly, tables, *arrays)


def _evaluate_fwd(poly, tables, *arrays):
    return _evaluate(poly, tables, *arrays), arrays  # through the custom_vjp: any order


def _evaluate_bwd(poly, tables, arrays, cotangent):
    inputs, indices = arrays[: len(poly.input_dims)], arrays[len(poly.input_dims) :]
    grads = []
    for k, x in enumerate(inputs):
        derivative = poly.derivative(k)
        if not derivative.terms:
            grads.append(jnp.zeros_like(x))
            continue
        grad = _evaluate(derivative, tables, *inputs, cotangent, *indices)
        if k in tables:  # per-node VJP summed into the table's rows
            grad = jax.ops.segment_sum(grad, indices[tables.index(k)], x.shape[0])
        grads.append(grad)
    return (*grads, *(None for _ in indices))


_evaluate.defvjp(_evaluate_fwd, _evaluate_bwd)


def check_inputs(
    poly: Polynomial, inputs: Sequence[jax.Array], rows: Mapping[int, jax.Array] | None
) -> tuple[int, int]:
    """``(nodes, channels)`` of a polynomial's inputs, or a ValueError naming the input
    whose shape or row index does not fit (see :func:`evaluate_polynomial`)."""
    rows = dict(rows or {})
    if len(inputs) != len(poly.input_dims):
        raise ValueError(f"polynomial takes {len(poly.input_dims)} inputs, got {len(inputs)}")
    if any(not 0 <= k < len(inputs) for k in rows):
        raise ValueError(f"rows names inputs {sorted(rows)}; the polynomial has {len(inputs)}")
    nodes = next((x.shape[0] for k, x in enumerate(inputs) if k not in rows), None)
    for k, index in rows.items():
        if index.ndim != 1 or not jnp.issubdtype(index.dtype, jnp.integer):
            raise ValueError(
                f"rows[{k}] must be a 1-D integer array, got {index.dtype} {index.shape}"
            )
        nodes = index.shape[0] if nodes is None else nodes
        if index.shape[0] != nodes:
            raise ValueError(f"rows[{k}] has {index.shape[0]} entries for {nodes} nodes")
    channels = inputs[0].shape[-1]
    for k, (x, dim) in enumerate(zip(inputs, poly.input_dims, strict=True)):
        leading = "R" if k in rows else nodes
        if (
            x.ndim != 3
            or x.shape[1] != dim
            or x.shape[2] != channels
            or (k not in rows and x.shape[0] != nodes)
        ):
            raise ValueError(
                f"polynomial input {k} has shape {x.shape}, expected ({leading}, {dim}, "
                f"{channels}) (nodes {nodes}, channels of input 0)"
            )
    return nodes, channels


def evaluate_polynomial(
    poly: Polynomial, *inputs: jax.Array, rows: Mapping[int, jax.Array] | None = None
) -> jax.Array:
    """``poly`` on ``inputs`` (each ``(N, D_k, C)``, one dtype) -> ``(N, D_out, C)``.

    ``rows`` makes input ``k`` a table: ``inputs[k]`` is ``(R, D_k, C)`` and node ``n``
    reads its row ``rows[k][n]`` (an ``(N,)`` integer array), gathered inside the kernel.
    Channels are zero-padded to a power of two (Triton's block rule) and cut back after.
    """
    rows = dict(rows or {})
    _, channels = check_inputs(poly, inputs, rows)
    dtype = jnp.result_type(*inputs)
    pad = [(0, 0), (0, 0), (0, next_pow2(channels) - channels)]
    padded = [jnp.pad(x.astype(dtype), pad) for x in inputs]
    tables = tuple(sorted(rows))
    return _evaluate(poly, tables, *padded, *(rows[k] for k in tables))[..., :channels]
