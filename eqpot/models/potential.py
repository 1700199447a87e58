"""``Potential``: a model with its parameters, the pure prediction functions and a summary.

    pot = Potential(MACE(config, rngs=nnx.Rngs(0)))
    out = pot(graph)               # Predictions: energy, node_energy, forces, virials, stress
    h = pot.hessian(graph)         # (N, 3, N, 3)

``pot.graphdef`` and ``pot.state`` are what ``nnx.split`` returns; trainers update
``pot.params`` (the ``nnx.Param`` leaves) and keep the rest (constants) fixed.
"""

from __future__ import annotations

import math

import jax
import numpy as np
from flax import nnx

from eqpot.graph import Graph
from eqpot.models import predict as _predict
from eqpot.models.common import DTYPES


class Potential:
    """A model split into graph definition, trainable parameters and constants."""

    def __init__(self, model: nnx.Module):
        self.graphdef, self.params, self.constants = nnx.split(model, nnx.Param, ...)
        self.dtype = DTYPES[model.config.dtype]
        self.name = type(model).__name__
        # the E0s exactly as the model holds them: batches built with these as reference
        # energies give energies free of E0's float32 rounding (eqpot.graph.batch)
        self.atomic_energies = np.asarray(model.head.atomic_energies[...], np.float64)
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
