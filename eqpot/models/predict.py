"""One prediction wrapper for every model: energy, forces, stress, virials, Hessian.

For per-atom energies ``E_i`` from a model, with a symmetric strain ``eps`` per graph applied
to positions and cell (``r -> r (1 + eps)``, cell rows ``c -> c (1 + eps)``):

    E = sum_i E_i                       (eV, per graph)
    F_i = -dE/dr_i                      (eV/Å)
    W = -dE/deps                        (virial, eV)
    sigma = (1/V) dE/deps               (stress, eV/Å^3, ASE's sign; V = |det cell|)

Graphs without a cell volume (molecules) get zero stress. The Hessian ``d^2E/dr dr``
(eV/Å^2) is formed for one graph at a time (small systems).

Energies (``E``, ``E_i``) are measured from the batch's reference energies (zero unless the
batch was built with some, see :mod:`eqpot.graph.batch`); add
:func:`eqpot.graph.reference_totals` on the host for the absolute energies.

Matrix products run in true float32 unless the caller chose otherwise. JAX's default lets a
GPU compute float32 products in TensorFloat32 (10-bit mantissa): one AcAc checkpoint's test
energy RMSE was 1.49 meV on an H100 under that default, 1.31 meV on the CPU in float32 and
1.33 meV in float64. The products traced here, and their derivatives (which inherit the
forward products' precision), therefore use ``"float32"`` when
``jax_default_matmul_precision`` is unset; set it
(``jax.default_matmul_precision("tensorfloat32")``, or the environment's
``JAX_DEFAULT_MATMUL_PRECISION``) to trade accuracy for speed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from eqpot.graph import Graph


class Predictions(NamedTuple):
    """Model outputs for a padded batch (padding rows are zero); energies are measured from
    the batch's reference energies."""

    energy: jax.Array  # (G,)
    node_energy: jax.Array  # (N,)
    forces: jax.Array  # (N, 3)
    virials: jax.Array  # (G, 3, 3)
    stress: jax.Array  # (G, 3, 3)


def _strained(graph: Graph, positions, strain) -> Graph:
    sym = 0.5 * (strain + jnp.swapaxes(strain, -1, -2))
    eye = jnp.eye(3, dtype=positions.dtype)
    positions = jnp.einsum("ni,nij->nj", positions, eye + sym[graph.node_graph])
    cells = jnp.einsum("gij,gjk->gik", graph.cells.astype(positions.dtype), eye + sym)
    return graph._replace(positions=positions, cells=cells)


def matmul_precision() -> str:
    """The precision of the models' float32 products: the caller's
    ``jax_default_matmul_precision`` if set, else true float32."""
    return jax.config.jax_default_matmul_precision or "float32"


def _with_matmul_precision(fn: Callable) -> Callable:
    """``fn`` traced under :func:`matmul_precision` (its derivatives inherit it)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with jax.default_matmul_precision(matmul_precision()):
            return fn(*args, **kwargs)

    return wrapped


def _node_energies(graphdef, state, graph: Graph) -> jax.Array:
    model = nnx.merge(graphdef, state)
    return jnp.where(graph.node_mask, model(graph), 0.0)


@_with_matmul_precision
def predict(graphdef, state, graph: Graph, dtype=None) -> Predictions:
    """Energies, forces, virials and stress of every graph in ``graph`` (pure; jit it)."""
    dtype = dtype or jax.tree_util.tree_leaves(state)[0].dtype
    positions = graph.positions.astype(dtype)
    n_graph = graph.cells.shape[0]

    def total(pos, strain):
        node = _node_energies(graphdef, state, _strained(graph, pos, strain))
        per_graph = jax.ops.segment_sum(node, graph.node_graph, num_segments=n_graph)
        return per_graph.sum(), (per_graph, node)

    strain = jnp.zeros((n_graph, 3, 3), dtype)
    (d_pos, d_strain), (energy, node) = jax.grad(total, argnums=(0, 1), has_aux=True)(
        positions, strain
    )
    volume = jnp.abs(jnp.linalg.det(graph.cells.astype(dtype)))
    safe = jnp.where(volume > 0, volume, 1.0)[:, None, None]
    stress = jnp.where(volume[:, None, None] > 0, d_strain / safe, 0.0)
    mask = graph.node_mask[:, None]
    return Predictions(energy, node, jnp.where(mask, -d_pos, 0.0), -d_strain, stress)


@_with_matmul_precision
def hessian(graphdef, state, graph: Graph, dtype=None) -> jax.Array:
    """``d^2 E / dr_i dr_j`` of all nodes, shape ``(N, 3, N, 3)`` (eV/Å^2); padding rows 0."""
    dtype = dtype or jax.tree_util.tree_leaves(state)[0].dtype

    def energy(pos):
        return _node_energies(graphdef, state, graph._replace(positions=pos)).sum()

    # reverse over reverse: the fused kernels define VJPs (custom_vjp), not JVPs
    h = jax.jacrev(jax.grad(energy))(graph.positions.astype(dtype))
    mask = graph.node_mask[:, None, None, None] & graph.node_mask[None, None, :, None]
    return jnp.where(mask, h, 0.0)
