"""cuEquivariance-JAX's own operations at DESIGN §5's shapes (the peer of eqpot's kernels).

These are NVIDIA's descriptors (``cue.descriptors``: their irreps order, ``ir_mul`` layout
and path normalisation), executed by ``cuex.segmented_polynomial`` with ``method``
``uniform_1d`` (its CUDA kernel) or ``naive`` (pure JAX) — what a cuEquivariance user runs.
eqpot's own coefficients executed by cuEquivariance are ``impl="cueq"`` of eqpot's kernels
(:mod:`eqpot.kernels.cueq`), benchmarked as ``cg:cueq`` and ``eqpot-...-cueq``.
Inputs are random: only shapes and costs matter here.
"""

from __future__ import annotations

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp

from eqpot.models.mace import spherical_irreps


def _modules():
    import cuequivariance as cue
    import cuequivariance_jax as cuex

    return cue, cuex


def message_case(method: str, senders, receivers, vectors, channels: int, dtype: str):
    """``(fn, weights_size)``: ``fn(x, vectors, w)`` is the channel-wise product of
    ``C x (0e+1o+2e)`` node features (gathered at ``senders``) with the edges' harmonics
    ``0e..3o``, outputs up to ``l = 3``, per-edge weights, scatter-summed to ``receivers``."""
    cue, cuex = _modules()
    nodes_in = cue.Irreps("O3", "0e+1o+2e") * channels
    poly = cue.descriptors.channelwise_tensor_product(
        nodes_in,
        cue.Irreps("O3", "0e+1o+2e+3o"),
        cue.Irreps("O3", "0e+1o+2e+3o"),
        simplify_irreps3=True,
    ).polynomial
    sh_irreps = spherical_irreps(3)

    def fn(x, v, w):
        y = e3nn.spherical_harmonics(sh_irreps, v, True).array
        nodes = x.shape[0]
        [out] = cuex.segmented_polynomial(
            poly,
            [w, x, y],
            [jax.ShapeDtypeStruct((nodes, poly.outputs[0].size), jnp.dtype(dtype))],
            [None, senders.astype(jnp.int32), None, receivers.astype(jnp.int32)],
            method=method,
        )
        return out

    return fn, poly.inputs[0].size


def contraction_case(method: str, channels: int, num_elements: int):
    """``(fn, weights_size)``: ``fn(w, x, species)`` is MACE's symmetric contraction
    ``C x (0e+1o+2e+3o) -> C x (0e+1o)``, correlation 3, weights ``(num_elements, size)``
    read at each node's species."""
    cue, cuex = _modules()
    poly = cue.descriptors.symmetric_contraction(
        cue.Irreps("O3", "0e+1o+2e+3o") * channels,
        cue.Irreps("O3", "0e+1o") * channels,
        (1, 2, 3),
    ).polynomial

    def fn(w, x, species):
        [out] = cuex.segmented_polynomial(
            poly,
            [w, x],
            [jax.ShapeDtypeStruct((x.shape[0], poly.outputs[0].size), x.dtype)],
            [species.astype(jnp.int32), None, None],
            method=method,
        )
        return out

    return fn, poly.inputs[0].size
