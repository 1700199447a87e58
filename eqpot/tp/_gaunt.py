"""What the two Gaunt families share: operand layout, weights, couplings.

The Gaunt product (Luo et al. 2024) multiplies the spherical functions of two coefficient
vectors and projects back onto the harmonics:

    out_{l3 m3} = w3_{l3} * sum G^{l3 m3}_{l1 m1, l2 m2} (w1_{l1} x1_{l1 m1}) (w2_{l2} x2_{l2 m2})
    G = (1/4pi) \\int Y^{l1}_{m1} Y^{l2}_{m2} Y^{l3}_{m3} dOmega   (component normalisation)

i.e. the CG product restricted to ``l1 + l2 + l3`` even, with the fixed path weight
``(1/4pi) \\int Y Y Y / C`` times the separable learnable factors ``w1 w2 w3``. Operands hold
``C`` channels of one spherical function each: irreps ``C x (l, p (-1)^l)`` for a set of
distinct ``l`` (missing degrees are zero); the second operand may have one channel, which is
broadcast. The output parity follows ``p_out = p1 p2``.

Weight layout (optional; ``None`` means all ones): ``w1`` of shape ``(C, n1)``, ``w2``
``(C, n2)``, ``w3`` ``(C, n_out)`` — one factor per channel and listed degree.
"""

from __future__ import annotations

import math

import e3nn_jax as e3nn
import jax.numpy as jnp

from eqpot.tp.base import Coupling, TensorProduct, WeightBlock, irreps_blocks, split_last


def parse_spherical_irreps(irreps: e3nn.Irreps, name: str) -> tuple[int, int, list[int]]:
    """``(channels, p_val, degrees)`` of ``C x (l, p_val (-1)^l)`` irreps, or a clear error."""
    irreps = e3nn.Irreps(irreps)
    if len(irreps) == 0:
        raise ValueError(f"{name}: empty irreps")
    muls = {mul for mul, _ in irreps}
    degrees = [ir.l for _, ir in irreps]
    p_vals = {ir.p * (-1) ** ir.l for _, ir in irreps}
    if len(muls) != 1 or len(set(degrees)) != len(degrees) or len(p_vals) != 1:
        raise ValueError(
            f"{name}: irreps {irreps} are not C x (l, p (-1)^l) with one multiplicity C, "
            "distinct l and one parity p; map them there with a linear layer first"
        )
    return muls.pop(), p_vals.pop(), degrees


class GauntProduct(TensorProduct):
    """Common part of ``gaunt_grid`` and ``gaunt_fourier``."""

    def __init__(self, irreps_in1, irreps_in2, irreps_out=None):
        self.irreps_in1 = e3nn.Irreps(irreps_in1)
        self.irreps_in2 = e3nn.Irreps(irreps_in2)
        c1, p1, self.degrees1 = parse_spherical_irreps(self.irreps_in1, f"{self.family}: x1")
        c2, p2, self.degrees2 = parse_spherical_irreps(self.irreps_in2, f"{self.family}: x2")
        if c2 not in (1, c1):
            raise ValueError(f"{self.family}: x2 has {c2} channels, expected 1 or {c1} (as x1 has)")
        self.channels = c1
        self.lmax1, self.lmax2 = max(self.degrees1), max(self.degrees2)
        reachable = self.lmax1 + self.lmax2
        p_out = p1 * p2
        if irreps_out is None:
            irreps_out = e3nn.Irreps([(c1, (l, p_out * (-1) ** l)) for l in range(reachable + 1)])
        self.irreps_out = e3nn.Irreps(irreps_out)
        c3, p3, self.degrees_out = parse_spherical_irreps(self.irreps_out, f"{self.family}: output")
        if c3 != c1 or p3 != p_out:
            raise ValueError(
                f"{self.family}: output irreps {self.irreps_out} must be {c1} x (l, p (-1)^l) "
                f"with p = {p_out} (the product of the operands' parities)"
            )
        if max(self.degrees_out) > reachable:
            raise ValueError(
                f"{self.family}: output degree {max(self.degrees_out)} exceeds "
                f"l1 + l2 = {reachable}; the product of these operands has no such part"
            )
        self.lmax_out = max(self.degrees_out)

    def weight_layout(self) -> list[WeightBlock]:
        c = self.channels
        n1, n2, n3 = len(self.degrees1), len(self.degrees2), len(self.degrees_out)
        return [
            WeightBlock("w1", 0, (c, n1)),
            WeightBlock("w2", c * n1, (c, n2)),
            WeightBlock("w3", c * (n1 + n2), (c, n3)),
        ]

    def couplings(self) -> list[Coupling]:
        out = []
        for _, a in self.irreps_in1:
            for _, b in self.irreps_in2:
                for _, c in self.irreps_out:
                    if c in a * b and (a.l + b.l + c.l) % 2 == 0:
                        out.append(Coupling(a, b, c))
        return sorted(out)

    def literature_gamma(self, irreps_x, irreps_y, irreps_z) -> int:
        """``#Z + #X + #Y - 2`` (Xie et al. 2025; ``4L+1`` for MIMO ``s2_irreps(L)``)."""
        reachable = {c.ir_out for c in self.couplings()}
        zs = {ir for _, ir in e3nn.Irreps(irreps_z) if ir in reachable}
        xs = {ir for _, ir in e3nn.Irreps(irreps_x)}
        ys = {ir for _, ir in e3nn.Irreps(irreps_y)}
        return len(zs) + len(xs) + len(ys) - 2

    # -- layout helpers ---------------------------------------------------------------
    @staticmethod
    def to_functions(x: e3nn.IrrepsArray, lmax: int, scale=None) -> jnp.ndarray:
        """``(..., C, (lmax+1)^2)`` coefficient vectors; ``scale`` is ``(..., C, n)``."""
        chunks = dict(zip((ir.l for _, ir in x.irreps), irreps_blocks(x), strict=True))
        mul = x.irreps[0].mul
        batch = (
            x.shape[:-1] if scale is None else jnp.broadcast_shapes(x.shape[:-1], scale.shape[:-2])
        )
        degrees = [ir.l for _, ir in x.irreps]
        blocks = []
        for l in range(lmax + 1):
            chunk = chunks.get(l)
            if chunk is None:
                chunk = jnp.zeros((mul, 2 * l + 1), x.dtype)
            elif scale is not None:
                chunk = chunk * scale[..., degrees.index(l), None]
            blocks.append(jnp.broadcast_to(chunk, batch + chunk.shape[-2:]))
        return jnp.concatenate(blocks, axis=-1)

    def from_functions(self, y: jnp.ndarray, scale=None) -> jnp.ndarray:
        """Pick the output degrees from ``(..., C, (Lo+1)^2)`` into the mul_ir layout."""
        pieces, degrees = [], split_last(y, [2 * l + 1 for l in range(math.isqrt(y.shape[-1]))])
        for position, l in enumerate(self.degrees_out):
            block = degrees[l]
            if scale is not None:
                block = block * scale[..., position, None]
            pieces.append(block.reshape((*block.shape[:-2], -1)))
        return jnp.concatenate(pieces, axis=-1)

    def _split_weights(self, weights):
        if weights is None:
            return None, None, None
        return tuple(
            weights[..., b.offset : b.offset + b.size].reshape(weights.shape[:-1] + b.shape)
            for b in self.weight_layout()
        )

    def _apply(self, x1, x2, weights, impl):
        w1, w2, w3 = self._split_weights(weights)
        f1 = self.to_functions(x1, self.lmax1, w1)
        f2 = self.to_functions(x2, self.lmax2, w2)
        y = self._gaunt(f1, f2, impl)
        return self.from_functions(y, w3)

    def _gaunt(self, f1, f2, impl) -> jnp.ndarray:
        raise NotImplementedError
