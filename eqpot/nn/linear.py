"""Equivariant linear maps and MLPs (Flax NNX), with e3nn's normalisation.

``Linear`` maps irreps to irreps by mixing the copies of each irrep:

    y^{(ir)}_{w, m} = 1/sqrt(n_in(ir)) sum_u W^{(ir)}_{u w} x^{(ir)}_{u, m}

where ``u`` runs over all ``n_in(ir)`` input copies of the irrep ``ir`` (across blocks) and
``W ~ N(0, 1)`` (e3nn's "element" normalisation: the ``1/sqrt(fan_in)`` sits in the forward
pass, so each output has unit second moment at initialisation). There are no biases, as in
``e3nn.o3.Linear`` used by MACE. With ``num_indexed`` the weights also depend on an integer
index per row (``W[z]``, the element): this is MACE's "skip" tensor product of features
with the one-hot element, ``FullyConnectedTensorProduct(x, onehot(z))``, with the same
number of parameters (``n_elements * n_in * n_out`` per irrep).

``MLP`` is e3nn's ``FullyConnectedNet``: ``h <- act(h W / sqrt(fan_in))`` with the
activation rescaled to unit second moment under N(0, 1) inputs, no biases by default.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
from flax import nnx

from eqpot.nn import init
from eqpot.tp.base import irreps_blocks


def _blocks_by_irrep(irreps: e3nn.Irreps) -> dict[e3nn.Irrep, int]:
    counts: dict[e3nn.Irrep, int] = {}
    for mul, ir in irreps:
        counts[ir] = counts.get(ir, 0) + mul
    return counts


def _stack_copies(x: e3nn.IrrepsArray, ir: e3nn.Irrep) -> jax.Array:
    """All copies of ``ir`` in ``x`` as one ``(..., n, ir.dim)`` array."""
    chunks = [c for c, (_, i) in zip(irreps_blocks(x), x.irreps, strict=True) if i == ir]
    return chunks[0] if len(chunks) == 1 else jnp.concatenate(chunks, axis=-2)


class Linear(nnx.Module):
    """Equivariant linear layer ``irreps_in -> irreps_out`` (optionally element-indexed)."""

    def __init__(
        self,
        irreps_in,
        irreps_out,
        *,
        num_indexed: int | None = None,
        dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.irreps_in = e3nn.Irreps(irreps_in)
        self.irreps_out = e3nn.Irreps(irreps_out)
        self.num_indexed = num_indexed
        n_in, n_out = _blocks_by_irrep(self.irreps_in), _blocks_by_irrep(self.irreps_out)
        self.paths = tuple(ir for ir in n_out if ir in n_in)
        lead = () if num_indexed is None else (num_indexed,)
        self.weights = nnx.Dict(
            {
                str(ir): nnx.Param(init.normal(rngs.params(), (*lead, n_in[ir], n_out[ir]), dtype))
                for ir in self.paths
            }
        )

    def __call__(self, x: e3nn.IrrepsArray, index: jax.Array | None = None) -> e3nn.IrrepsArray:
        if x.irreps != self.irreps_in:
            raise ValueError(f"Linear expects irreps {self.irreps_in}, got {x.irreps}")
        if (index is None) != (self.num_indexed is None):
            raise ValueError("Linear: pass `index` exactly when built with num_indexed")
        outputs = {}
        for ir in self.paths:
            xs = _stack_copies(x, ir)
            w = self.weights[str(ir)][...]
            if index is None:
                y = jnp.einsum("...ud,uw->...wd", xs, w)
            else:  # one-hot contraction: never materialises per-row weight matrices
                onehot = jax.nn.one_hot(index, self.num_indexed, dtype=xs.dtype)
                y = jnp.einsum("nz,nud,zuw->nwd", onehot, xs, w)
            outputs[ir] = y / math.sqrt(xs.shape[-2])
        chunks, start = [], {ir: 0 for ir in outputs}
        for mul, ir in self.irreps_out:
            if ir in outputs:
                chunks.append(outputs[ir][..., start[ir] : start[ir] + mul, :])
                start[ir] += mul
            else:
                chunks.append(None)
        return e3nn.from_chunks(self.irreps_out, chunks, x.shape[:-1], x.dtype)


class MLP(nnx.Module):
    """Dense network ``sizes[0] -> ... -> sizes[-1]`` with e3nn's normalisation."""

    def __init__(
        self,
        sizes: Sequence[int],
        activation: Callable = jax.nn.silu,
        *,
        use_bias: bool = False,
        output_activation: bool = False,
        dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.activation = e3nn.normalize_function(activation)
        self.output_activation = output_activation
        self.weights = nnx.List(
            [
                nnx.Param(init.normal(rngs.params(), (a, b), dtype))
                for a, b in itertools.pairwise(sizes)
            ]
        )
        self.biases = nnx.List(
            [nnx.Param(jnp.zeros((b,), dtype)) for b in sizes[1:]] if use_bias else []
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        last = len(self.weights) - 1
        for i, w in enumerate(self.weights):
            x = x @ w[...] / math.sqrt(w.shape[0])
            if len(self.biases):
                x = x + self.biases[i][...]
            if i < last or self.output_activation:
                x = self.activation(x)
        return x


def count_parameters(module: nnx.Module) -> int:
    """Number of trainable scalars (``nnx.Param`` leaves) of a module."""
    state = nnx.state(module, nnx.Param)
    return sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(state))
