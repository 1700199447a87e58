"""SO(2)-reduced convolution with an edge's spherical harmonics (eSCN; Passaro & Zitnick 2023).

``product(x, r, weights)`` maps node features ``x`` (``C_in x (l, p)``, distinct irreps) and an
edge vector ``r`` (``1x1o``) to ``sum_paths w x (x) Y(r/|r|)``, the CG convolution with the
edge's harmonics, computed in O(L^3) instead of O(L^6):

1. rotate ``x`` by ``D(R)`` where ``R r = |r| y`` (:func:`eqpot.so3.rotation_to_y`, smooth
   for every direction; Wigner matrices from the exact polynomial recursion);
2. in that frame ``Y^l(y) ~ delta_{m0}``, so the product is block-diagonal in ``|m|``: per
   ``m`` a learnable complex-multiplication block ``[[W_r, -W_i], [W_i, W_r]]`` on
   ``(x_{+m}, x_{-m})`` (``m = 0``: ``W_r`` only), mixing degrees (and channels in "uvw");
3. rotate back with ``D(R)^T``. Degrees ``|m| > m_max`` are dropped; this is still exactly
   equivariant (the only freedom left, the roll about the edge, never mixes ``|m|``).

Parity: an O(3) path ``l1 x l2 -> l3`` with ``Y^{l2}`` (parity ``(-1)^{l2}``) feeds ``W_r`` when
``l1 + l2 + l3`` is even and ``W_i`` when it is odd, so ``W_r`` exists for
``p3 = p1 (-1)^{l1+l3}`` and ``W_i`` (``m >= 1``) for ``p3 = -p1 (-1)^{l1+l3}``.

Weight layout: for ``m = 0..m_max``, for part in (real, imag), for each allowed
``(l_in, l_out)`` pair in input-then-output order: a block of shape ``(C_in, C_out)``
("uvw") or ``(C,)`` ("uvu", e.g. per-edge radial weights).
"""

from __future__ import annotations

import e3nn_jax as e3nn
import jax.numpy as jnp
import numpy as np

from eqpot import kernels, so3
from eqpot.tp.base import Coupling, TensorProduct, WeightBlock, channels_first, channels_last
from eqpot.tp.cg import CGProduct, count_paths

MODES = ("uvw", "uvu")


def parse_channel_irreps(irreps: e3nn.Irreps, name: str) -> tuple[int, list[e3nn.Irrep]]:
    """``(C, [irreps])`` of ``C x ir1 + C x ir2 + ...``: one multiplicity, distinct irreps."""
    irreps = e3nn.Irreps(irreps)
    muls = {mul for mul, _ in irreps}
    irs = [ir for _, ir in irreps]
    if len(irreps) == 0 or len(muls) != 1 or len(set(irs)) != len(irs):
        raise ValueError(
            f"{name}: irreps {irreps} must be C x (l, p) with one multiplicity C and "
            "distinct irreps; map them there with a linear layer first"
        )
    return muls.pop(), [ir for _, ir in irreps]


def _offsets(irs: list[e3nn.Irrep]) -> list[int]:
    return list(np.cumsum([0] + [ir.dim for ir in irs])[:-1])


class SO2Product(TensorProduct):
    """eSCN convolution of features with the harmonics of an edge vector."""

    family = "so2"
    second_operand_is_direction = True

    def __init__(self, irreps_in1, irreps_in2="1x1o", irreps_out=None, *, mode="uvw", m_max=None):
        self.irreps_in1 = e3nn.Irreps(irreps_in1)
        self.irreps_in2 = e3nn.Irreps(irreps_in2)
        if self.irreps_in2 != e3nn.Irreps("1x1o"):
            raise ValueError(f"so2: the second operand is the edge vector 1x1o, got {irreps_in2}")
        self.irreps_out = e3nn.Irreps(irreps_in1 if irreps_out is None else irreps_out)
        if mode not in MODES:
            raise ValueError(f"so2: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.c_in, self.irs_in = parse_channel_irreps(self.irreps_in1, "so2: x1")
        self.c_out, self.irs_out = parse_channel_irreps(self.irreps_out, "so2: output")
        if mode == "uvu" and self.c_in != self.c_out:
            raise ValueError(
                f"so2: mode 'uvu' needs C_out == C_in, got {self.c_out} != {self.c_in}"
            )
        full = min(max(ir.l for ir in self.irs_in), max(ir.l for ir in self.irs_out))
        self.m_max = full if m_max is None else int(m_max)
        if self.m_max < 0:
            raise ValueError(f"so2: m_max must be >= 0, got {m_max}")
        self._build_layout()

    # -- layout ---------------------------------------------------------------------
    def _allowed(self, part: str, a: e3nn.Irrep, b: e3nn.Irrep, m: int) -> bool:
        if m > min(a.l, b.l):
            return False
        even = b.p == a.p * (-1) ** (a.l + b.l)
        return even if part == "real" else (not even and m >= 1)

    def _build_layout(self) -> None:
        off_in, off_out = _offsets(self.irs_in), _offsets(self.irs_out)
        block_shape = (self.c_in, self.c_out) if self.mode == "uvw" else (self.c_in,)
        size = int(np.prod(block_shape))
        self._blocks: list[WeightBlock] = []
        self._block_index: dict[tuple[int, str, int, int], WeightBlock] = {}
        kernel_blocks, out_positions, position = [], {}, 0
        offset = 0
        for m in range(self.m_max + 1):
            ins = [i for i, ir in enumerate(self.irs_in) if ir.l >= m]
            outs = [j for j, ir in enumerate(self.irs_out) if ir.l >= m]
            if not ins or not outs:
                continue
            gathers = {}
            for part in ("real", "imag") if m else ("real",):
                if self.mode == "uvw":
                    index = np.full((len(ins), self.c_in, len(outs), self.c_out), -1)
                else:
                    index = np.full((len(ins), len(outs), self.c_in), -1)
                for a, i in enumerate(ins):
                    for b, j in enumerate(outs):
                        if not self._allowed(part, self.irs_in[i], self.irs_out[j], m):
                            continue
                        name = f"m={m} {part} {self.irs_in[i]}->{self.irs_out[j]}"
                        block = WeightBlock(name, offset, block_shape)
                        self._blocks.append(block)
                        self._block_index[(m, part, i, j)] = block
                        flat = offset + np.arange(size).reshape(block_shape)
                        if self.mode == "uvw":
                            index[a, :, b, :] = flat
                        else:
                            index[a, b, :] = flat
                        offset += size
                gathers[part] = index
            for sign in (1, -1) if m else (1,):
                for j in outs:
                    out_positions[off_out[j] + self.irs_out[j].l + sign * m] = position
                    position += 1
            kernel_blocks.append(
                kernels.SO2Block(
                    m,
                    np.array([off_in[i] + self.irs_in[i].l + m for i in ins]),
                    np.array([off_in[i] + self.irs_in[i].l - m for i in ins]) if m else None,
                    gathers["real"],
                    gathers.get("imag"),
                )
            )
        self._num_weights = offset
        for block in kernel_blocks:  # -1 marks a forbidden block: the zero slot at the end
            block.real[block.real < 0] = offset
            if block.imag is not None:
                block.imag[block.imag < 0] = offset
        d_out = sum(ir.dim for ir in self.irs_out)
        out_gather = np.array([out_positions.get(q, position) for q in range(d_out)])
        self.layout = kernels.SO2Layout(tuple(kernel_blocks), self.mode, out_gather, offset)

    def weight_layout(self) -> list[WeightBlock]:
        return list(self._blocks)

    def couplings(self) -> list[Coupling]:
        """Pairs connected by some ``|m|`` block, with every edge-harmonic degree they use."""
        out = set()
        for m, part, i, j in self._block_index:
            a, b = self.irs_in[i], self.irs_out[j]
            for l2 in range(abs(a.l - b.l), a.l + b.l + 1):
                if ((a.l + l2 + b.l) % 2 == 0) == (part == "real") and m <= min(a.l, b.l):
                    out.add(Coupling(a, e3nn.Irrep(l2, (-1) ** l2), b))
        return sorted(out)

    def literature_gamma(self, irreps_x, irreps_y, irreps_z) -> int:
        """CG paths of ``x (x) Y(r)`` (eSCN is the full CG convolution when ``m_max = L``)."""
        return count_paths(irreps_x, irreps_y, irreps_z)

    def sh_irreps(self) -> e3nn.Irreps:
        """Harmonics ``0e+1o+...`` up to the largest degree the convolution can use."""
        lmax = max(ir.l for ir in self.irs_in) + max(ir.l for ir in self.irs_out)
        return e3nn.s2_irreps(lmax)

    # -- execution ------------------------------------------------------------------

    def _apply(self, x1, x2, weights, impl):
        if weights is None:
            raise ValueError(f"so2: weights are required (num_weights={self.num_weights})")
        rotation = so3.rotation_to_y(x2.array)
        lmax = max(ir.l for ir in self.irs_in + self.irs_out)
        blocks = so3.wigner_D_list(lmax, rotation)
        y = kernels.so2_convolution(
            channels_first(x1),
            so3.block_diagonal([blocks[ir.l] for ir in self.irs_in]),
            so3.block_diagonal([blocks[ir.l] for ir in self.irs_out]),
            self.layout,
            weights,
            impl=impl,
        )
        return channels_last(y, self.irs_out)

    # -- conversion from Clebsch-Gordan path weights ---------------------------------
    def weights_from_cg(self, cg: CGProduct, cg_weights) -> jnp.ndarray:
        """SO(2) weights that make this product equal ``cg(x, Y(r/|r|), cg_weights)``.

        ``cg`` must be a "uvw" (for mode "uvw") or "uvu" (for "uvu") CG product with the same
        first operand and harmonics ``1x0e+1x1o+...`` as second operand. For "uvu" the CG
        outputs of equal irreps are summed to compare. Exact only with ``m_max = L``.
        """
        if cg.mode != self.mode or cg.irreps_in1 != self.irreps_in1:
            raise ValueError("so2.weights_from_cg: CG product must share mode and first operand")
        if any(mul != 1 or ir.p != (-1) ** ir.l for mul, ir in cg.irreps_in2):
            raise ValueError(
                f"so2.weights_from_cg: the CG second operand must be harmonics 1x0e+1x1o+..., "
                f"got {cg.irreps_in2}"
            )
        cg_weights = jnp.asarray(cg_weights)
        batch = cg_weights.shape[:-1]
        sh_y = so3.spherical_harmonics(cg.irreps_in2.lmax, np.array([0.0, 1.0, 0.0]))
        out = jnp.zeros((*batch, self.num_weights), cg_weights.dtype)
        for path in cg.table.paths:
            l2_ir = cg.irreps_in2[path.in2].ir
            frame = np.einsum("ijk,j->ki", path.coefficients, sh_y[l2_ir.l**2 : (l2_ir.l + 1) ** 2])
            i = self.irs_in.index(cg.irreps_in1[path.in1].ir)
            j = self.irs_out.index(cg.irreps_out[path.out].ir)
            a, b = self.irs_in[i].l, self.irs_out[j].l
            w = cg_weights[..., path.weight_offset : path.weight_offset + path.num_weights]
            w = w.reshape(batch + path.weight_shape)
            w = w[..., :, 0, :] if self.mode == "uvw" else w[..., :, 0]
            for m in range(min(a, b, self.m_max) + 1):
                for part, row in (("real", b + m), ("imag", b - m)):
                    value = frame[row, a + m]
                    if (part == "imag" and m == 0) or abs(value) < 1e-14:
                        continue
                    block = self._block_index[(m, part, i, j)]
                    piece = (w * value).reshape((*batch, -1))
                    out = out.at[..., block.offset : block.offset + block.size].add(piece)
        return out
