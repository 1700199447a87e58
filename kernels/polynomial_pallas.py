"""A Pallas kernel for sparse per-node polynomials, differentiated symbolically to any order.

A :class:`Polynomial` maps inputs ``X_k`` (``(N, D_k, C)``) to ``(N, D_out, C)``:

    out[n, o, u] = sum_{terms (o, v, F)} v prod_{(k, i) in F} X_k[n, i, u]

channel by channel (``u``), node by node. MACE's symmetric contraction is one (inputs: the
node's features ``A`` and its element's weights, :func:`symmetric_contraction_polynomial`).

The VJP of a polynomial with respect to ``X_k``, for a cotangent ``T`` (``(N, D_out, C)``),
is another polynomial of ``(X_0, ..., T)``: each occurrence of a factor ``(k, i)`` in a term
``(o, v, F)`` gives the term ``(i, v, F - (k, i) + (T, o))``. The custom VJP builds these
derivative polynomials at trace time and runs them through the same kernel, so every order
of derivative runs in the kernel.

The kernel: one program per block of nodes, channels as the vector axis; each distinct
prefix of a term's factors is multiplied once (terms share monomials), each term is one FMA.
Backend: Triton (named explicitly); interpret mode on a CPU.
"""

from __future__ import annotations

import functools
from collections import defaultdict

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


def _kernel(poly: Polynomial, *refs):
    *inputs, out_ref = refs
    rows: dict = {}
    prefixes: dict = {}

    def row(factor):
        if factor not in rows:
            k, i = factor
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


def _call(poly: Polynomial, *inputs: jax.Array) -> jax.Array:
    nodes, channels = inputs[0].shape[0], inputs[0].shape[-1]
    block = min(BLOCK_NODES, next_pow2(nodes))
    padded = -(-nodes // block) * block
    inputs = [jnp.pad(x, [(0, padded - nodes), (0, 0), (0, 0)]) for x in inputs]

    def spec(dim):
        return pl.BlockSpec((block, dim, channels), lambda n: (n, 0, 0))

    out = pl.pallas_call(
        functools.partial(_kernel, poly),
        out_shape=jax.ShapeDtypeStruct((padded, poly.out_dim, channels), inputs[0].dtype),
        grid=(padded // block,),
        in_specs=[spec(x.shape[1]) for x in inputs],
        out_specs=spec(poly.out_dim),
        interpret=interpret(),
        compiler_params=compiler_params(),
    )(*inputs)
    return out[:nodes]


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _evaluate(poly: Polynomial, *inputs):
    return _call(poly, *inputs)


def _evaluate_fwd(poly, *inputs):
    return _evaluate(poly, *inputs), inputs  # through the custom_vjp function: any order


def _evaluate_bwd(poly, inputs, cotangent):
    grads = []
    for k, x in enumerate(inputs):
        derivative = poly.derivative(k)
        if derivative.terms:
            grads.append(_evaluate(derivative, *inputs, cotangent))
        else:
            grads.append(jnp.zeros_like(x))
    return tuple(grads)


_evaluate.defvjp(_evaluate_fwd, _evaluate_bwd)


def evaluate_polynomial(poly: Polynomial, *inputs: jax.Array) -> jax.Array:
    """``poly`` on ``inputs`` (each ``(N, D_k, C)``, one dtype) -> ``(N, D_out, C)``.

    Channels are zero-padded to a power of two (Triton's block rule) and cut back after.
    """
    if len(inputs) != len(poly.input_dims):
        raise ValueError(f"polynomial takes {len(poly.input_dims)} inputs, got {len(inputs)}")
    for k, (x, dim) in enumerate(zip(inputs, poly.input_dims, strict=True)):
        if x.ndim != 3 or x.shape[1] != dim or x.shape[::2] != inputs[0].shape[::2]:
            raise ValueError(
                f"polynomial input {k} has shape {x.shape}, expected (N, {dim}, C) with the "
                f"N and C of input 0 {inputs[0].shape}"
            )
    channels = inputs[0].shape[-1]
    dtype = jnp.result_type(*inputs)
    pad = [(0, 0), (0, 0), (0, next_pow2(channels) - channels)]
    padded = [jnp.pad(x.astype(dtype), pad) for x in inputs]
    return _evaluate(poly, *padded)[..., :channels]
