"""Clebsch-Gordan tensor products: fully connected ("uvw"), channel-wise ("uvu") and the
weightless outer product ("uv").

For input blocks ``x1[u, i]`` of irrep ``l1`` and ``x2[v, j]`` of ``l2``, a path to ``l3``
computes ``sum_ij C^{l1 l2 l3}_{ijk} x1[u, i] x2[v, j]`` (``C`` = :func:`eqpot.so3.clebsch_gordan`),
scaled by the irrep normalisation (e3nn's "component": ``sqrt(2 l3 + 1)``) and the element
path normalisation ``1/sqrt(fan_in)``, where ``fan_in`` counts the terms summed into one
output component (``mul1 * mul2`` per path for "uvw", ``mul2`` for "uvu"). These are
e3nn-jax's defaults, so the products agree with ``e3nn.tensor_product`` ("uv") and with
``e3nn.legacy.FunctionalFullyConnectedTensorProduct`` ("uvw") given the same weights.

Weight layout: one block per path in path order — for "uvw" paths are enumerated as
``for i1 in irreps_in1, for i2 in irreps_in2, for i_out in irreps_out`` (e3nn's order),
shape ``(mul1, mul2, mul_out)``; for "uvu" in ``i1, i2, l3`` order, shape ``(mul1, mul2)``.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import e3nn_jax as e3nn
import jax.numpy as jnp
import numpy as np

from eqpot import kernels, so3
from eqpot.tp.base import (
    Coupling,
    TensorProduct,
    WeightBlock,
    as_irreps_array,
    channels_first,
    channels_last,
    check_weights,
)

MODES = ("uvw", "uvu", "uv")
IRREP_NORMALIZATIONS = ("component", "norm", "none")


def segments(irreps: e3nn.Irreps) -> tuple[kernels.Segment, ...]:
    """Kernel segments (offset, mul, dim) of an irreps layout."""
    out, offset = [], 0
    for mul, ir in irreps:
        out.append(kernels.Segment(offset, mul, ir.dim))
        offset += mul * ir.dim
    return tuple(out)


def irrep_factor(normalization: str, l1: int, l2: int, l3: int) -> float:
    if normalization == "component":
        return math.sqrt(2 * l3 + 1)
    if normalization == "norm":
        return math.sqrt((2 * l1 + 1) * (2 * l2 + 1))
    if normalization == "none":
        return 1.0
    raise ValueError(
        f"irrep_normalization must be one of {IRREP_NORMALIZATIONS}, got {normalization!r}"
    )


def count_paths(irreps_x, irreps_y, irreps_z) -> int:
    """Number of ``(ir1, ir2, ir3)`` triples with ``ir3 in ir1 x ir2`` (one copy of each)."""
    xs = {ir for _, ir in e3nn.Irreps(irreps_x)}
    ys = {ir for _, ir in e3nn.Irreps(irreps_y)}
    zs = {ir for _, ir in e3nn.Irreps(irreps_z)}
    return sum(1 for a in xs for b in ys for c in zs if c in a * b)


class CGProduct(TensorProduct):
    """Clebsch-Gordan tensor product (exact; all couplings allowed by O(3))."""

    family = "cg"

    def __init__(
        self,
        irreps_in1,
        irreps_in2,
        irreps_out=None,
        *,
        mode: str | None = None,
        irrep_normalization: str = "component",
    ):
        self.irreps_in1 = e3nn.Irreps(irreps_in1)
        self.irreps_in2 = e3nn.Irreps(irreps_in2)
        mode = mode or ("uv" if irreps_out is None else "uvw")
        if mode not in MODES:
            raise ValueError(f"cg: mode must be one of {MODES}, got {mode!r}")
        if mode == "uvw" and irreps_out is None:
            raise ValueError("cg: mode 'uvw' needs irreps_out (the output multiplicities)")
        self.mode = mode
        self.irrep_normalization = irrep_normalization
        irrep_factor(irrep_normalization, 0, 0, 0)  # validate early
        if mode == "uvw":
            self.irreps_out = e3nn.Irreps(irreps_out)
            self._paths, self._segments_out = self._fully_connected_paths()
        else:
            allowed = None if irreps_out is None else {ir for _, ir in e3nn.Irreps(irreps_out)}
            self._paths, self._segments_out = self._per_path_outputs(allowed)
        self.table = kernels.PathTable(
            segments(self.irreps_in1),
            segments(self.irreps_in2),
            self._segments_out,
            tuple(p for p, _ in self._paths),
            sum(p.num_weights for p, _ in self._paths),
        )

    def _coefficients(self, ir1, ir2, ir3, fan_in: int) -> np.ndarray:
        scale = irrep_factor(self.irrep_normalization, ir1.l, ir2.l, ir3.l) / math.sqrt(fan_in)
        return so3.clebsch_gordan(ir1.l, ir2.l, ir3.l) * scale

    def _fully_connected_paths(self):
        triples = [
            (i1, i2, io)
            for i1, (_, ir1) in enumerate(self.irreps_in1)
            for i2, (_, ir2) in enumerate(self.irreps_in2)
            for io, (_, ir3) in enumerate(self.irreps_out)
            if ir3 in ir1 * ir2
        ]
        fan_in = [0] * len(self.irreps_out)
        for i1, i2, io in triples:
            fan_in[io] += self.irreps_in1[i1].mul * self.irreps_in2[i2].mul
        paths, offset = [], 0
        for i1, i2, io in triples:
            (mul1, ir1), (mul2, ir2) = self.irreps_in1[i1], self.irreps_in2[i2]
            mul3, ir3 = self.irreps_out[io]
            shape = (mul1, mul2, mul3)
            path = kernels.Path(
                i1, i2, io, "uvw", self._coefficients(ir1, ir2, ir3, fan_in[io]), offset, shape
            )
            paths.append((path, Coupling(ir1, ir2, ir3)))
            offset += path.num_weights
        return paths, segments(self.irreps_out)

    def _per_path_outputs(self, allowed):
        """One output block per path; blocks ordered by irrep (stable in path order), as
        mace-torch orders its messages, so that regrouping them moves no data."""
        paths, out_irreps, offset = [], [], 0
        for i1, (mul1, ir1) in enumerate(self.irreps_in1):
            for i2, (mul2, ir2) in enumerate(self.irreps_in2):
                for ir3 in ir1 * ir2:
                    if allowed is not None and ir3 not in allowed:
                        continue
                    if self.mode == "uv":
                        coeff = self._coefficients(ir1, ir2, ir3, 1)
                        path = kernels.Path(i1, i2, len(out_irreps), "uv", coeff)
                        out_irreps.append((mul1 * mul2, ir3))
                    else:
                        coeff = self._coefficients(ir1, ir2, ir3, mul2)
                        path = kernels.Path(
                            i1, i2, len(out_irreps), "uvu", coeff, offset, (mul1, mul2)
                        )
                        out_irreps.append((mul1, ir3))
                    paths.append((path, Coupling(ir1, ir2, ir3)))
                    offset += path.num_weights
        ordered = e3nn.Irreps(out_irreps).sort()
        self.irreps_out = ordered.irreps
        paths = [(dataclasses.replace(p, out=ordered.p[p.out]), c) for p, c in paths]
        return paths, segments(self.irreps_out)

    def weight_layout(self) -> list[WeightBlock]:
        return [
            WeightBlock(f"w[{p.in1},{p.in2},{p.out}] {c}", p.weight_offset, p.weight_shape)
            for p, c in self._paths
            if p.num_weights
        ]

    def couplings(self) -> list[Coupling]:
        return sorted(set(c for _, c in self._paths))

    def literature_gamma(self, irreps_x, irreps_y, irreps_z) -> int:
        """Number of CG paths (Xie et al. 2025: ``gamma_CGTP``)."""
        return count_paths(irreps_x, irreps_y, irreps_z)

    def _apply(self, x1, x2, weights, impl):
        return kernels.contract_paths(self.table, x1.array, x2.array, weights, impl=impl)

    @functools.cached_property
    def message_table(self) -> kernels.MessageTable:
        """The fused message's coefficients ("uvu" with a one-channel edge operand)."""
        return kernels.message_table(self.table)

    def message(self, x, edge, weights, senders, receivers, *, impl=None) -> e3nn.IrrepsArray:
        """As :meth:`TensorProduct.message`; channel-wise ("uvu") products with a one-channel
        edge operand run the fused message (:func:`eqpot.kernels.channelwise_message`: XLA
        loops, the Pallas kernels, or cuEquivariance), whose derivatives stay fused."""
        fusable = self.mode == "uvu" and all(mul == 1 for mul, _ in self.irreps_in2)
        available = kernels.with_cueq(("xla", "pallas")) if fusable else ("xla",)
        impl = kernels.resolve_impl("channelwise_message", impl, available)
        if not fusable:
            return super().message(x, edge, weights, senders, receivers, impl=impl)
        x = as_irreps_array(x, self.irreps_in1, "cg: message x")
        edge = as_irreps_array(edge, self.irreps_in2, "cg: message edge")
        weights = check_weights(weights, self.num_weights, self.family)
        table = self.message_table
        y = kernels.channelwise_message(
            table,
            jnp.swapaxes(channels_first(x), -1, -2),
            edge.array,
            _path_weights(table, weights),
            senders,
            receivers,
            impl=impl,
        )
        irs = [ir for _, ir in self.irreps_out]
        return e3nn.IrrepsArray(self.irreps_out, channels_last(jnp.swapaxes(y, -1, -2), irs))


def _path_weights(table: kernels.MessageTable, weights: jnp.ndarray) -> jnp.ndarray:
    """``(E, P, C)`` per-path weights; a reshape when the paths' weights are contiguous (a
    gather's transpose would be a scatter in the backward)."""
    flat = table.weight_index.reshape(-1)
    if weights.shape[-1] == flat.size and np.array_equal(flat, np.arange(flat.size)):
        return weights.reshape(*weights.shape[:-1], *table.weight_index.shape)
    return weights[..., table.weight_index]
