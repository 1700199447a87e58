"""Training losses on model predictions (MACE's "weighted" loss; Batatia et al. 2022).

For a padded batch with per-graph weights ``w_g``, atom counts ``N_g`` and label masks:

    L = lambda_E * mean_g [ w_g ((E_g - E^_g) / N_g)^2 ]                 (per-atom energy)
      + lambda_F * mean_{i, xyz} [ w_g(i) (F_i - F^_i)^2 ]                 (force components)
      + lambda_S * mean_{g, ab} [ w_g (sigma_g - sigma^_g)_ab^2 ]          (stress, eV/Å^3)

each mean over the entries that carry that label (padding and missing labels excluded).
With ``huber_delta`` the squares become Huber functions of the residuals (MACE's
``huber`` loss). Units: eV, eV/Å, eV/Å^3.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from eqpot.graph import Graph
from eqpot.models import Predictions


def _penalty(residual: jax.Array, huber_delta: float | None) -> jax.Array:
    if huber_delta is None:
        return residual**2
    return 2.0 * optax.losses.huber_loss(residual, delta=huber_delta)  # = r^2 near 0


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    mask = jnp.broadcast_to(mask, values.shape)
    return jnp.sum(jnp.where(mask, values, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def weighted_loss(
    pred: Predictions,
    graph: Graph,
    *,
    energy_weight: float = 1.0,
    forces_weight: float = 100.0,
    stress_weight: float = 1.0,
    huber_delta: float | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``(loss, parts)``; ``parts`` holds each term before its ``lambda``."""
    n_atoms = jnp.maximum(graph.n_node, 1).astype(pred.energy.dtype)
    graph_ok = graph.graph_mask
    w_graph = graph.weight.astype(pred.energy.dtype)
    e_res = (pred.energy - graph.energy) / n_atoms
    energy = _masked_mean(w_graph * _penalty(e_res, huber_delta), graph_ok & graph.has_energy)
    node_ok = (graph.node_mask & graph.has_forces[graph.node_graph])[:, None]
    w_node = w_graph[graph.node_graph][:, None]
    forces = _masked_mean(w_node * _penalty(pred.forces - graph.forces, huber_delta), node_ok)
    stress_ok = (graph_ok & graph.has_stress)[:, None, None]
    stress = _masked_mean(
        w_graph[:, None, None] * _penalty(pred.stress - graph.stress, huber_delta), stress_ok
    )
    loss = energy_weight * energy + forces_weight * forces + stress_weight * stress
    return loss, {"energy": energy, "forces": forces, "stress": stress}
