"""MACE (Batatia et al., NeurIPS 2022; reference code ACEsuit/mace ``ScaleShiftMACE``).

For atom ``i`` of element ``z_i`` with neighbours ``j`` (``r_ij = r_j - r_i``, ``r < r_max``):

    h_i^(0)  = W_emb[z_i]                                              (C x 0e)
    A_i^(t)  = 1/avg_num_neighbors  Lin( sum_j T(Lin(h_j^(t)), Y(r_ij); R^(t)(|r_ij|)) )
    h_i^(t+1) = Lin( B_{z_i}(A_i^(t)) ) + Lin_{z_i}(h_i^(t))           (product basis + skip)
    E_i      = E0(z_i) + scale * sum_t readout^(t)(h_i^(t+1)) + shift

``Y`` are the spherical harmonics up to ``max_ell`` (component normalisation), ``R`` an MLP of
8 Bessel functions times the polynomial envelope (:mod:`eqpot.nn.radial`), ``T`` the message
tensor product and ``B`` the product basis of correlation order ``nu`` (body order
``nu + 1``). Hidden irreps are ``C x (0e + 1o + ... + max_L)``; the last layer keeps the
scalars only. Readouts are linear, except the last (``C x 0e -> 16 x 0e -> SiLU -> 1``).

The message ``sum_j T(...)`` runs through :meth:`eqpot.tp.TensorProduct.message`, which for
the channel-wise CG product has a fused Pallas kernel (gather, product, scatter in one), and
the symmetric contraction has a sparse-polynomial Pallas kernel; ``kernel_impl``
(``auto``/``xla``/``pallas``, default ``$EQPOT_KERNEL_IMPL``) chooses for both.
``message_product`` picks ``T`` from :mod:`eqpot.tp`: ``cg`` (channel-wise "uvu", as MACE),
``so2`` (eSCN's rotation to the edge frame), ``gaunt_grid``/``gaunt_fourier`` (Gaunt, parity
``(-1)^l`` couplings only) or ``cp`` (rank-R approximation; ``product_options`` passes e.g.
the rank). ``product_basis`` is ``cg`` (MACE's symmetric contraction with mace-torch's
ordered coupling basis, so parameter counts match mace-torch) or ``gaunt`` (powers on the
sphere, :mod:`eqpot.nn.gaunt_basis`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
from flax import nnx

from eqpot import kernels, tp
from eqpot.graph import Graph, edge_vectors
from eqpot.models.common import Constant, EnergyHead, as_dtype
from eqpot.nn import radial_embedding
from eqpot.nn.linear import MLP, Linear
from eqpot.nn.product_basis import ProductBasis
from eqpot.tp.base import channels_first, channels_last, regroup


@dataclasses.dataclass(frozen=True)
class MACEConfig:
    """MACE hyperparameters (mace-torch's names)."""

    num_elements: int
    r_max: float = 5.0
    num_bessel: int = 8
    num_polynomial_cutoff: int = 5
    max_ell: int = 3
    max_L: int = 2  # noqa: N815 (mace-torch's name)
    num_channels: int = 128
    correlation: int = 3
    num_interactions: int = 2
    radial_MLP: Sequence[int] = (64, 64, 64)  # noqa: N815
    MLP_irreps: int = 16
    avg_num_neighbors: float = 1.0
    message_product: str = "cg"
    product_basis: str = "cg"
    product_options: dict = dataclasses.field(default_factory=dict)
    num_heads: int = 1  # energy heads (multi-head fine-tuning: eqpot.models.common.EnergyHead)
    dtype: str = "float64"
    kernel_impl: str | None = None  # None: $EQPOT_KERNEL_IMPL, else "auto"

    def __post_init__(self):
        if self.kernel_impl is not None and self.kernel_impl not in kernels.IMPLS:
            raise ValueError(
                f"MACEConfig.kernel_impl={self.kernel_impl!r} is not one of {kernels.IMPLS}"
            )


def spherical_irreps(lmax: int, channels: int = 1) -> e3nn.Irreps:
    """``C x (0e + 1o + 2e + ...)``: the irreps of spherical functions."""
    return e3nn.Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])


class Interaction(nnx.Module):
    """One MACE layer: residual interaction block + product basis + readout input."""

    def __init__(self, config: MACEConfig, irreps_in, irreps_out, *, rngs: nnx.Rngs):
        dtype = as_dtype(config.dtype)
        c = config.num_channels
        self.irreps_in, self.irreps_out = e3nn.Irreps(irreps_in), e3nn.Irreps(irreps_out)
        self.config = config
        self.sh_irreps = spherical_irreps(config.max_ell)
        self.target = spherical_irreps(config.max_ell, c)
        kw = dict(dtype=dtype, rngs=rngs)
        self.skip = Linear(irreps_in, irreps_out, num_indexed=config.num_elements, **kw)
        self.linear_up = Linear(irreps_in, irreps_in, **kw)
        options = dict(config.product_options)
        if config.message_product in ("cg", "so2", "cp"):
            options.setdefault("mode", "uvu")
        edge_operand = "1x1o" if config.message_product == "so2" else self.sh_irreps
        self.product = tp.make(
            config.message_product, irreps_in, edge_operand, self.target, **options
        )
        sizes = [config.num_bessel, *config.radial_MLP, self.product.num_weights]
        self.radial = MLP(sizes, jax.nn.silu, **kw)
        self.linear_message = Linear(self.product.irreps_out.regroup(), self.target, **kw)
        self.basis = ProductBasis(
            spherical_irreps(config.max_ell),
            e3nn.Irreps([ir for _, ir in self.irreps_out]),
            config.correlation,
            config.num_elements,
            c,
            kind=config.product_basis,
            impl=config.kernel_impl,
            **kw,
        )
        self.linear_out = Linear(irreps_out, irreps_out, **kw)

    def __call__(self, h, species, senders, receivers, vectors, lengths):
        skip = self.skip(h, species)
        h = self.linear_up(h)
        if self.product.second_operand_is_direction:
            edge = e3nn.IrrepsArray("1x1o", vectors)
        else:
            edge = e3nn.spherical_harmonics(self.sh_irreps, vectors, normalize=True)
        basis = radial_embedding(
            lengths, self.config.r_max, self.config.num_bessel, self.config.num_polynomial_cutoff
        )
        weights = self.radial(basis)
        impl = self.config.kernel_impl
        a = regroup(self.product.message(h, edge, weights, senders, receivers, impl=impl))
        a = self.linear_message(a)
        a = a / self.config.avg_num_neighbors
        b = self.basis(channels_first(a), species)
        irs = [ir for _, ir in self.irreps_out]
        b = e3nn.IrrepsArray(self.irreps_out, channels_last(b, irs))
        return self.linear_out(b) + skip


class MACE(nnx.Module):
    """MACE mapping a :class:`eqpot.graph.Graph` to per-atom energies (eV)."""

    def __init__(
        self,
        config: MACEConfig,
        *,
        atomic_energies=None,
        scale: float = 1.0,
        shift: float = 0.0,
        rngs: nnx.Rngs,
    ):
        self.config = config
        dtype = as_dtype(config.dtype)
        c = config.num_channels
        self.embedding = Linear(f"{config.num_elements}x0e", f"{c}x0e", dtype=dtype, rngs=rngs)
        hidden = spherical_irreps(config.max_L, c)
        layers, readouts = [], []
        irreps_in = e3nn.Irreps(f"{c}x0e")
        for t in range(config.num_interactions):
            last = t == config.num_interactions - 1
            irreps_out = e3nn.Irreps(f"{c}x0e") if last else hidden
            layers.append(Interaction(config, irreps_in, irreps_out, rngs=rngs))
            sizes = [c, config.MLP_irreps, config.num_heads] if last else [c, config.num_heads]
            readouts.append(MLP(sizes, jax.nn.silu, dtype=dtype, rngs=rngs))
            irreps_in = irreps_out
        self.layers = nnx.List(layers)
        self.readouts = nnx.List(readouts)
        self.head = EnergyHead(
            config.num_elements, atomic_energies, scale, shift, dtype, config.num_heads
        )

    def __call__(self, graph: Graph) -> jax.Array:
        species = graph.species
        onehot = jax.nn.one_hot(species, self.config.num_elements, dtype=graph.positions.dtype)
        h = self.embedding(e3nn.IrrepsArray(f"{self.config.num_elements}x0e", onehot))
        vectors = edge_vectors(graph)
        lengths = jnp.linalg.norm(vectors, axis=-1)
        energy = jnp.zeros((*species.shape, self.config.num_heads), graph.positions.dtype)
        for layer, readout in zip(self.layers, self.readouts, strict=True):
            h = layer(h, species, graph.senders, graph.receivers, vectors, lengths)
            energy = energy + readout(h.filter(keep="0e").array)
        return self.head(energy, graph)


__all__ = ["MACE", "Constant", "MACEConfig", "spherical_irreps"]
