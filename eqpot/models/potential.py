"""``Potential``: a model with its parameters, the pure prediction functions and a summary.

    pot = Potential(MACE(config, rngs=nnx.Rngs(0)))
    out = pot(graph)               # Predictions: energy, node_energy, forces, virials, stress
    h = pot.hessian(graph)         # (N, 3, N, 3)

``pot.graphdef`` and ``pot.state`` are what ``nnx.split`` returns; trainers update
``pot.params`` (the ``nnx.Param`` leaves) and keep the rest (constants) fixed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import numpy as np
from flax import nnx

from eqpot.graph import Graph
from eqpot.models import predict as _predict
from eqpot.models.common import DTYPES


class Potential:
    """A model split into graph definition, trainable parameters and constants.

    ``heads`` names the model's energy heads (default ``["default"]`` for one head); a
    graph's ``head`` field picks the head that predicts it (see :meth:`head_index`).
    """

    def __init__(self, model: nnx.Module, heads: Sequence[str] | None = None):
        self.graphdef, self.params, self.constants = nnx.split(model, nnx.Param, ...)
        self.dtype = DTYPES[model.config.dtype]
        self.name = type(model).__name__
        # the E0s exactly as the model holds them, (heads, elements): batches built with
        # these as reference energies give energies free of E0's float32 rounding
        # (eqpot.graph.batch)
        self.atomic_energies = np.asarray(model.head.atomic_energies[...], np.float64)
        num_heads = self.atomic_energies.shape[0]
        if heads is None:
            heads = ["default"] if num_heads == 1 else [f"head{k}" for k in range(num_heads)]
        if len(heads) != num_heads or len(set(heads)) != num_heads:
            raise ValueError(f"{num_heads} distinct head names needed, got {list(heads)}")
        self.heads = list(heads)
        self._predict = jax.jit(self.predict_with)
        self._hessian = jax.jit(self.hessian_with)

    @property
    def model(self) -> nnx.Module:
        return nnx.merge(self.graphdef, self.params, self.constants)

    def predict_with(self, params, graph: Graph) -> _predict.Predictions:
        state = nnx.merge_state(params, self.constants)
        return _predict.predict(self.graphdef, state, graph, self.dtype)

    def hessian_with(self, params, graph: Graph) -> jax.Array:
        state = nnx.merge_state(params, self.constants)
        return _predict.hessian(self.graphdef, state, graph, self.dtype)

    def __call__(self, graph: Graph, params=None) -> _predict.Predictions:
        """Jitted predictions with this potential's parameters (or ``params``, same tree)."""
        return self._predict(self.params if params is None else params, graph)

    def hessian(self, graph: Graph) -> jax.Array:
        return self._hessian(self.params, graph)

    def head_index(self, head: str | int | None) -> int:
        """The index of energy head ``head`` (a name or an index); None: the last head, the
        fine-tuned one of a multi-head fine-tuned model."""
        if head is None:
            return len(self.heads) - 1
        if isinstance(head, int) and not isinstance(head, bool) and 0 <= head < len(self.heads):
            return head
        if head in self.heads:
            return self.heads.index(head)
        raise ValueError(f"no energy head {head!r}; this model's heads: {', '.join(self.heads)}")

    @property
    def num_parameters(self) -> int:
        return sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(self.params))

    def summary(self) -> str:
        """Parameter count per top-level submodule, and the total."""
        rows: dict[str, int] = {}
        for path, leaf in jax.tree_util.tree_leaves_with_path(self.params):
            key = str(getattr(path[0], "key", path[0]))
            rows[key] = rows.get(key, 0) + math.prod(leaf.shape)
        width = max(len(k) for k in rows) + 2
        lines = [f"{self.name} ({self.dtype.__name__})"]
        lines += [f"  {k:<{width}}{v:>12,}" for k, v in rows.items()]
        lines.append(f"  {'total':<{width}}{self.num_parameters:>12,}")
        return "\n".join(lines)
