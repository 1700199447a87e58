"""What every model shares: dtypes, non-trainable constants and the energy head.

Every model maps a :class:`eqpot.graph.Graph` to per-atom energies

    E_i = (E0(z_i) - R_i) + (scale * e_i + shift)

where ``e_i`` is the network's output, ``E0`` the isolated-atom energies (eV),
``scale``/``shift`` the training-set statistics (MACE's ``ScaleShiftBlock``) and ``R_i`` the
batch's reference energy of atom ``i`` (``Graph.reference_energy``, zero by default). The
first bracket is computed on its own: when the batch's references are the model's E0s it is
exactly zero, and ``E_i`` is the interaction energy without the rounding error of a large
E0 in float32 (see :mod:`eqpot.graph.batch`). ``E0``, ``scale`` and ``shift`` are
:class:`Constant` variables, not trainable parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from eqpot.graph import Graph
from eqpot.nn import init

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


def as_dtype(name: str):
    """``"float32"``/``"float64"`` -> dtype; float64 needs ``jax_enable_x64``."""
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}")
    if name == "float64" and not jax.config.jax_enable_x64:
        raise ValueError(
            "dtype float64 needs jax_enable_x64: call jax.config.update('jax_enable_x64', True) "
            "before building the model, or use dtype='float32'"
        )
    return DTYPES[name]


class Constant(nnx.Variable):
    """A model constant (E0s, scale, shift): saved with the model, never trained."""


class EnergyHead(nnx.Module):
    """``E_i = (E0[h, z_i] - R_i) + (scale[h] * e_i[h] + shift[h])`` (eV), ``R_i`` the graph's
    ``reference_energy`` and ``h`` the head of atom ``i``'s graph (``Graph.head``).

    A model has ``num_heads`` energy heads (mace-torch's multi-head fine-tuning): readouts
    with one output per head, and per head its own E0s, scale and shift; the layers below
    are shared. ``atomic_energies`` is ``(num_elements,)`` or ``(num_heads, num_elements)``;
    ``scale`` and ``shift`` are numbers or one per head.
    """

    def __init__(
        self,
        num_elements: int,
        atomic_energies,
        scale,
        shift,
        dtype,
        num_heads: int = 1,
    ):
        shape = (num_heads, num_elements)
        e0 = np.zeros(shape) if atomic_energies is None else np.asarray(atomic_energies)
        if e0.shape != shape and not (num_heads == 1 and e0.shape == shape[1:]):
            raise ValueError(
                f"atomic_energies has shape {e0.shape}, expected {shape} (one isolated-atom "
                "energy per element of the type map, for each energy head)"
            )
        self.atomic_energies = Constant(jnp.asarray(np.broadcast_to(e0, shape), dtype))
        self.scale = Constant(_per_head(scale, num_heads, "scale", dtype))
        self.shift = Constant(_per_head(shift, num_heads, "shift", dtype))

    @property
    def num_heads(self) -> int:
        return self.atomic_energies.shape[0]

    def __call__(self, energy: jax.Array, graph: Graph) -> jax.Array:
        """``energy``: ``(N, num_heads)`` network outputs -> ``(N,)`` energies (eV)."""
        head = graph.head[graph.node_graph]
        e0 = self.atomic_energies[...][head, graph.species]
        offset = e0 - graph.reference_energy.astype(e0.dtype)
        chosen = jnp.take_along_axis(energy, head[:, None], axis=1)[:, 0]
        return offset + (self.scale[...][head] * chosen + self.shift[...][head])


def _per_head(value, num_heads: int, name: str, dtype) -> jax.Array:
    array = np.asarray(value, np.float64)
    if array.shape not in ((), (num_heads,)):
        raise ValueError(f"{name} must be a number or one per head ({num_heads}), got {value!r}")
    return jnp.asarray(np.broadcast_to(array, (num_heads,)), dtype)


class Dense(nnx.Module):
    """Biased dense layers ``sizes[0] -> ... -> sizes[-1]`` over the last axis, with
    ``activation`` after each (and after the last when ``activate_last``)."""

    def __init__(
        self,
        sizes: Sequence[int],
        activation: Callable = jax.nn.silu,
        *,
        activate_last: bool = False,
        dtype,
        rngs: nnx.Rngs,
    ):
        self.layers = nnx.List(
            [
                nnx.Linear(a, b, param_dtype=dtype, kernel_init=init.lecun_normal, rngs=rngs)
                for a, b in itertools.pairwise(sizes)
            ]
        )
        self.activation = activation
        self.activate_last = activate_last

    def __call__(self, x: jax.Array) -> jax.Array:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if self.activate_last or k < len(self.layers) - 1:
                x = self.activation(x)
        return x
