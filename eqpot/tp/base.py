"""The interface shared by every tensor-product family.

A product is an immutable description built once from irreps and options (its constant
tables come from :mod:`eqpot.so3`); calling it executes through :mod:`eqpot.kernels` and is a
pure function usable under ``jit``, ``grad`` (to any order) and ``vmap``:

    product(x1, x2, weights=None) -> e3nn.IrrepsArray

``x1``/``x2`` are ``IrrepsArray`` with irreps ``irreps_in1``/``irreps_in2`` and any leading
batch dimensions, which broadcast against each other. ``weights`` has last dimension
``num_weights`` (laid out as :meth:`TensorProduct.weight_layout` lists) and optional
leading dimensions that broadcast with the batch (e.g. per-edge radial weights).
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import TYPE_CHECKING, NamedTuple

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:
    from eqpot.tp.measures import Expressivity


class Coupling(NamedTuple):
    """One interaction ``ir1 x ir2 -> ir_out`` a product can produce."""

    ir1: e3nn.Irrep
    ir2: e3nn.Irrep
    ir_out: e3nn.Irrep

    def __str__(self) -> str:
        return f"{self.ir1} x {self.ir2} -> {self.ir_out}"


@dataclasses.dataclass(frozen=True)
class WeightBlock:
    """A contiguous block ``weights[..., offset : offset + prod(shape)]`` (row-major)."""

    name: str
    offset: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def as_irreps_array(x, irreps: e3nn.Irreps, name: str) -> e3nn.IrrepsArray:
    """Check (or attach) the irreps of an operand, with an error naming the operand."""
    if isinstance(x, e3nn.IrrepsArray):
        if x.irreps != irreps:
            raise ValueError(f"{name} has irreps {x.irreps}, this product expects {irreps}")
        return x
    x = jnp.asarray(x)
    if x.shape[-1:] != (irreps.dim,):
        raise ValueError(
            f"{name} has shape {x.shape}, expected last dimension {irreps.dim} for {irreps}"
        )
    return e3nn.IrrepsArray(irreps, x)


def check_weights(weights, num_weights: int, family: str) -> jnp.ndarray | None:
    """Validate the weight array's last dimension."""
    if weights is None:
        return None
    weights = jnp.asarray(weights)
    if weights.ndim == 0 or weights.shape[-1] != num_weights:
        raise ValueError(
            f"{family} product expects weights with last dimension {num_weights}, "
            f"got shape {weights.shape}"
        )
    return weights


def regroup(x: e3nn.IrrepsArray) -> e3nn.IrrepsArray:
    """``x.regroup()``; when ``x``'s irreps are already sorted only the bookkeeping changes
    (adjacent blocks of one irrep are one block in the mul_ir layout), so no copy appears in
    the program and none in its transpose, where a sort's per-block pieces would be summed
    inside every consumer that XLA fuses them into."""
    if x.irreps == x.irreps.sort().irreps:
        return e3nn.IrrepsArray(x.irreps.regroup(), x.array)
    return x.regroup()


def split_last(array: jnp.ndarray, sizes: list[int]) -> list[jnp.ndarray]:
    """``array`` cut along its last axis into pieces of ``sizes``, by one ``split``: its
    transpose is one ``concatenate``, where per-piece slices would transpose to one padded
    full-size array per piece, summed inside every consumer XLA fuses them into (once per
    gathered edge row in the message's backward)."""
    return jnp.split(array, np.cumsum(sizes)[:-1].tolist(), axis=-1)


def irreps_blocks(x: e3nn.IrrepsArray) -> list[jnp.ndarray]:
    """``x.chunks`` (one ``(..., mul, 2l+1)`` array per block, zeros included) by one
    :func:`split_last`."""
    pieces = split_last(x.array, [mul * ir.dim for mul, ir in x.irreps])
    return [
        p.reshape((*x.shape[:-1], mul, ir.dim))
        for p, (mul, ir) in zip(pieces, x.irreps, strict=True)
    ]


def channels_first(x: e3nn.IrrepsArray) -> jnp.ndarray:
    """``C x (l1) + C x (l2) + ...`` (mul_ir layout) -> ``(..., C, sum_l (2l+1))``."""
    muls = {mul for mul, _ in x.irreps}
    if len(muls) != 1:
        raise ValueError(f"channels_first: the irreps need one multiplicity, got {x.irreps}")
    return jnp.concatenate(irreps_blocks(x), axis=-1)


def channels_last(y: jnp.ndarray, irs: list[e3nn.Irrep]) -> jnp.ndarray:
    """Inverse of :func:`channels_first` for the irreps ``irs`` (one multiplicity)."""
    pieces = split_last(y, [ir.dim for ir in irs])
    return jnp.concatenate([p.reshape((*p.shape[:-2], -1)) for p in pieces], axis=-1)


class TensorProduct(abc.ABC):
    """Base class: irreps, weights, couplings and expressivity of an equivariant product."""

    family: str = ""
    irreps_in1: e3nn.Irreps
    irreps_in2: e3nn.Irreps
    irreps_out: e3nn.Irreps

    @property
    def num_weights(self) -> int:
        return sum(b.size for b in self.weight_layout())

    @abc.abstractmethod
    def weight_layout(self) -> list[WeightBlock]:
        """The blocks of the flat weight vector, in order."""

    @abc.abstractmethod
    def couplings(self) -> list[Coupling]:
        """The ``(l1,p1) x (l2,p2) -> (l3,p3)`` interactions this product can produce."""

    @abc.abstractmethod
    def _apply(self, x1: e3nn.IrrepsArray, x2: e3nn.IrrepsArray, weights, impl) -> jnp.ndarray:
        """Return the raw output array ``(..., irreps_out.dim)``."""

    def literature_gamma(self, irreps_x, irreps_y, irreps_z) -> int | None:
        """The path count the literature reports for this family (None if there is none)."""
        return None

    #: True when the second operand is an edge vector, not a bilinear argument.
    second_operand_is_direction: bool = False

    def __call__(self, x1, x2, weights=None, *, impl: str | None = None) -> e3nn.IrrepsArray:
        x1 = as_irreps_array(x1, self.irreps_in1, f"{self.family}: x1")
        x2 = as_irreps_array(x2, self.irreps_in2, f"{self.family}: x2")
        weights = check_weights(weights, self.num_weights, self.family)
        return e3nn.IrrepsArray(self.irreps_out, self._apply(x1, x2, weights, impl))

    def message(
        self,
        x,
        edge,
        weights,
        senders: jnp.ndarray,
        receivers: jnp.ndarray,
        *,
        impl: str | None = None,
    ) -> e3nn.IrrepsArray:
        """The summed messages of a graph convolution, ``(N, irreps_out)``:

            m_i = sum_{e: r_e = i} T(x[s_e], edge_e; weights_e)

        ``x``: ``(N, irreps_in1)`` node features; ``edge``: ``(E, irreps_in2)`` (or ``(E, 3)``
        vectors when :attr:`second_operand_is_direction`); ``weights``: ``(E, num_weights)``.
        Gathers, applies the product and scatter-sums; families with a fused kernel for the
        whole message override this (``impl`` chooses, as for :meth:`__call__`).
        """
        x = as_irreps_array(x, self.irreps_in1, f"{self.family}: message x")
        out = self(x[senders], edge, weights, impl=impl)
        summed = jax.ops.segment_sum(out.array, receivers, num_segments=x.shape[0])
        return e3nn.IrrepsArray(out.irreps, summed)

    def expressivity(self, irreps_x=None, irreps_y=None, irreps_z=None, **options) -> Expressivity:
        """Dimension of ``{Lin o T o (Lin, Lin)}``; see :func:`eqpot.tp.measures.expressivity`."""
        from eqpot.tp.measures import expressivity

        return expressivity(self, irreps_x, irreps_y, irreps_z, **options)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, "
            f"num_weights={self.num_weights})"
        )
