"""cuEquivariance-JAX's own operations at DESIGN §5's shapes (the peer of eqpot's kernels).

These are NVIDIA's descriptors (``cue.descriptors``: their irreps order, ``ir_mul`` layout
and path normalisation), executed by ``cuex.segmented_polynomial`` with ``method``
``uniform_1d`` (its CUDA kernel) or ``naive`` (pure JAX) — what a cuEquivariance user runs.
eqpot's own coefficients executed by cuEquivariance are ``impl="cueq"`` of eqpot's kernels
(:mod:`eqpot.kernels.cueq`), benchmarked as ``cg:cueq`` and ``eqpot-...-cueq``.
Inputs are random: only shapes and costs matter here.
"""

from __future__ import annotations

import itertools

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
    ``0e..3o``, outputs up to ``l = 3``, per-edge weights, scatter-summed to ``receivers``.
    Like e3nn-jax's row, MACE and eqpot's own ``cg`` message, it keeps one output block per
    path (eqpot orders those blocks by irrep): the same paths, FLOPs and scatter size."""
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


def _cue_irreps(irreps: e3nn.Irreps):
    cue, _ = _modules()
    return cue.Irreps("O3", str(e3nn.Irreps(irreps)))


def cg_product_case(irreps1, irreps2, irreps_out, channels: int, method: str):
    """``(fn, out_irreps)`` for the tensor-product sweep's CG product with cuEquivariance's
    Clebsch-Gordan coefficients: every pair of input irreps coupled to every output irrep
    in ``irreps_out``, channel by channel (``iu,ju,ku+ijk``, ``u`` = ``channels``), one
    output segment per path, paths normalised as cuEquivariance does.

    ``fn(a, b)``: ``a``, ``b`` are ``(batch, C * dim)`` in cuEquivariance's ``ir_mul``
    layout (each irrep's ``(2l+1, C)`` block), the result ``(batch, C * dim_out)`` likewise;
    ``out_irreps``: the irreps of the output segments, in order."""
    cue, cuex = _modules()
    i1, i2 = _cue_irreps(irreps1), _cue_irreps(irreps2)
    keep = {ir for _, ir in _cue_irreps(irreps_out)}
    stp = cue.SegmentedTensorProduct.from_subscripts("iu,ju,ku+ijk")
    stp.add_segments(0, [(ir.dim, channels) for _, ir in i1])
    stp.add_segments(1, [(ir.dim, channels) for _, ir in i2])
    out_irreps = []
    for (a, (_, ir1)), (b, (_, ir2)) in itertools.product(enumerate(i1), enumerate(i2)):
        for ir3 in ir1 * ir2:
            if ir3 not in keep:
                continue
            for cg in cue.clebsch_gordan(ir1, ir2, ir3):
                stp.add_path(a, b, None, c=cg, dims={"u": channels})
                out_irreps.append(str(ir3))
    poly = cue.SegmentedPolynomial.eval_last_operand(stp.normalize_paths_for_operand(-1))

    def fn(a, b):
        out = jax.ShapeDtypeStruct((*a.shape[:-1], poly.outputs[0].size), a.dtype)
        return cuex.segmented_polynomial(poly, [a, b], [out], method=method)[0]

    return fn, e3nn.Irreps("+".join(out_irreps))


def to_ir_mul(x: jax.Array, irreps: e3nn.Irreps) -> jax.Array:
    """``(batch, C, dim)`` (e3nn's layout, one copy of each irrep per channel) ->
    ``(batch, C * dim)`` with each irrep's ``(2l+1, C)`` block in turn (``ir_mul``)."""
    blocks = [jnp.swapaxes(x[..., s], -1, -2) for s in e3nn.Irreps(irreps).slices()]
    return jnp.concatenate([b.reshape(*b.shape[:-2], -1) for b in blocks], axis=-1)


def from_ir_mul(x: jax.Array, irreps: e3nn.Irreps, channels: int) -> jax.Array:
    """Inverse of :func:`to_ir_mul`: ``(batch, C * dim)`` -> ``(batch, C, dim)``."""
    blocks, start = [], 0
    for _, ir in e3nn.Irreps(irreps):
        size = ir.dim * channels
        block = x[..., start : start + size].reshape(*x.shape[:-1], ir.dim, channels)
        blocks.append(jnp.swapaxes(block, -1, -2))
        start += size
    return jnp.concatenate(blocks, axis=-1)
