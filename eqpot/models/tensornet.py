"""TensorNet (Simeon & De Fabritiis, NeurIPS 2023; reference code torchmd-net ``tensornet.py``).

Each atom carries ``F`` Cartesian rank-2 tensors ``X`` (shape ``(N, F, 3, 3)``), split into
their O(3)-irreducible parts ``X = I + A + S``: ``I = tr(X)/3 1`` (scalar), ``A = (X - X^T)/2``
(skew, a vector), ``S = (X + X^T)/2 - I`` (symmetric traceless). With ``|.|^2`` the squared
Frobenius norm and ``C(r) = (cos(pi r / r_c) + 1)/2`` the cosine cutoff:

Embedding
    X_i = sum_j C(r_ij) Z_ij * ( f_I(r_ij) 1 + f_A(r_ij) skew(r̂_ij) + f_S(r_ij) (r̂ r̂^T - 1/3) )
    Z_ij = Lin([emb(z_i), emb(z_j)]);  then  X <- W_I I g_I + W_A A g_A + W_S S g_S,
    (g_I, g_A, g_S) = MLP(LayerNorm(|X|^2))
Interaction (per layer)
    f = MLP(RBF(r)) C(r);   X <- X / (|X|^2 + 1);   Y = W_I I + W_A A + W_S S
    M_i = sum_j f_I I_j + f_A A_j + f_S S_j          (of Y's parts)
    C = Y M + M Y  (O(3));  C <- C / (|C|^2 + 1);   dX = W'_I I_C + W'_A A_C + W'_S S_C
    X <- X + dX + dX dX
Output
    e_i = MLP(SiLU(Lin(LayerNorm([|I|^2, |A|^2, |S|^2]))))

``W`` are bias-free linear maps over the channel axis (equivariant), the RBF are ExpNormal
functions. As in torchmd-net every atom also receives its own features through a self-loop
at ``r = 0`` (whose direction is zero, so it feeds ``I`` only in the embedding).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from eqpot.graph import Graph, edge_vectors
from eqpot.models.common import Dense, EnergyHead, as_dtype
from eqpot.nn import init


@dataclasses.dataclass(frozen=True)
class TensorNetConfig:
    """TensorNet hyperparameters (torchmd-net's names where they exist)."""

    num_elements: int
    r_max: float = 4.5  # cutoff_upper
    cutoff_lower: float = 0.0
    num_rbf: int = 32
    hidden_channels: int = 128
    num_layers: int = 2
    equivariance: str = "O(3)"
    dtype: str = "float64"
    num_heads: int = 1  # energy heads (multi-head fine-tuning: eqpot.models.common.EnergyHead)


def cosine_cutoff(r: jax.Array, r_max: float) -> jax.Array:
    return jnp.where(r < r_max, 0.5 * (jnp.cos(jnp.pi * r / r_max) + 1.0), 0.0)


def exp_normal_rbf(r: jax.Array, r_lo: float, r_hi: float, num: int) -> jax.Array:
    """``exp(-beta (exp(alpha (r_lo - r)) - mu_k)^2) C(r)``, ``(..., num)`` (torchmd-net)."""
    alpha = 5.0 / (r_hi - r_lo)
    start = jnp.exp(-(r_hi - r_lo))
    mu = jnp.linspace(start, 1.0, num, dtype=r.dtype)
    beta = (2.0 / num * (1.0 - start)) ** -2
    x = jnp.exp(alpha * (r_lo - r[..., None])) - mu
    return cosine_cutoff(r, r_hi)[..., None] * jnp.exp(-beta * x**2)


def decompose(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(I, A, S)`` of ``(..., 3, 3)`` tensors."""
    trace = jnp.trace(x, axis1=-2, axis2=-1)[..., None, None] / 3.0
    identity = trace * jnp.eye(3, dtype=x.dtype)
    xt = jnp.swapaxes(x, -1, -2)
    return identity, 0.5 * (x - xt), 0.5 * (x + xt) - identity


def squared_norm(x: jax.Array) -> jax.Array:
    return jnp.sum(x * x, axis=(-2, -1))


def skew(v: jax.Array) -> jax.Array:
    """The cross-product matrix ``[v]_x`` (``[v]_x w = v x w``), shape ``(..., 3, 3)``."""
    zero = jnp.zeros_like(v[..., 0])
    rows = [
        jnp.stack([zero, -v[..., 2], v[..., 1]], -1),
        jnp.stack([v[..., 2], zero, -v[..., 0]], -1),
        jnp.stack([-v[..., 1], v[..., 0], zero], -1),
    ]
    return jnp.stack(rows, -2)


class ChannelLinear(nnx.Module):
    """Bias-free ``(..., F, 3, 3) -> (..., F', 3, 3)`` mixing of channels (equivariant)."""

    def __init__(self, f_in: int, f_out: int, *, dtype, rngs: nnx.Rngs):
        self.linear = nnx.Linear(
            f_in, f_out, use_bias=False, param_dtype=dtype, kernel_init=init.lecun_normal, rngs=rngs
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.einsum("...fij,fg->...gij", x, self.linear.kernel[...])


class TensorEmbedding(nnx.Module):
    def __init__(self, config: TensorNetConfig, *, dtype, rngs: nnx.Rngs):
        f, k = config.hidden_channels, config.num_rbf
        self.embedding = nnx.Embed(config.num_elements, f, param_dtype=dtype, rngs=rngs)
        self.pair = nnx.Linear(
            2 * f, f, param_dtype=dtype, kernel_init=init.lecun_normal, rngs=rngs
        )
        self.projections = nnx.List(
            [
                nnx.Linear(k, f, param_dtype=dtype, kernel_init=init.lecun_normal, rngs=rngs)
                for _ in range(3)
            ]
        )
        self.tensor_linears = nnx.List(
            [ChannelLinear(f, f, dtype=dtype, rngs=rngs) for _ in range(3)]
        )
        self.norm = nnx.LayerNorm(f, param_dtype=dtype, rngs=rngs)
        self.gates = Dense([f, 2 * f, 3 * f], activate_last=True, dtype=dtype, rngs=rngs)

    def __call__(self, species, edges, n_node):
        senders, receivers, rbf, cutoff, unit = edges
        z = self.embedding(species)
        zij = self.pair(jnp.concatenate([z[receivers], z[senders]], -1)) * cutoff[:, None]
        f_i, f_a, f_s = (p(rbf) * zij for p in self.projections)
        eye = jnp.eye(3, dtype=rbf.dtype)
        sym = unit[:, :, None] * unit[:, None, :] - eye / 3.0 * jnp.sum(unit**2, -1)[:, None, None]
        x_edge = (
            f_i[..., None, None] * eye
            + f_a[..., None, None] * skew(unit)[:, None]
            + f_s[..., None, None] * sym[:, None]
        )
        x = jax.ops.segment_sum(x_edge, receivers, num_segments=n_node)
        gates = self.gates(self.norm(squared_norm(x))).reshape(x.shape[0], -1, 3)
        parts = decompose(x)
        return sum(
            lin(part) * gates[..., k, None, None]
            for k, (lin, part) in enumerate(zip(self.tensor_linears, parts, strict=True))
        )


class TensorInteraction(nnx.Module):
    def __init__(self, config: TensorNetConfig, *, dtype, rngs: nnx.Rngs):
        f, k = config.hidden_channels, config.num_rbf
        self.equivariance = config.equivariance
        self.radial = Dense([k, f, 2 * f, 3 * f], activate_last=True, dtype=dtype, rngs=rngs)
        self.linears = nnx.List([ChannelLinear(f, f, dtype=dtype, rngs=rngs) for _ in range(6)])

    def __call__(self, x, edges):
        senders, receivers, rbf, cutoff, _ = edges
        factor = (self.radial(rbf) * cutoff[:, None]).reshape(rbf.shape[0], -1, 3)
        x = x / (squared_norm(x) + 1.0)[..., None, None]
        parts = [lin(p) for lin, p in zip(self.linears[:3], decompose(x), strict=True)]
        y = sum(parts)
        message = sum(factor[..., k, None, None] * p[senders] for k, p in enumerate(parts))
        m = jax.ops.segment_sum(message, receivers, num_segments=x.shape[0])
        c = y @ m + m @ y if self.equivariance == "O(3)" else 2.0 * y @ m
        i, a, s = decompose(c)
        scale = (squared_norm(i + a + s) + 1.0)[..., None, None]
        dx = sum(lin(p / scale) for lin, p in zip(self.linears[3:], (i, a, s), strict=True))
        return x + dx + dx @ dx


class TensorNet(nnx.Module):
    """TensorNet mapping a :class:`eqpot.graph.Graph` to per-atom energies (eV)."""

    def __init__(
        self, config: TensorNetConfig, *, atomic_energies=None, scale=1.0, shift=0.0, rngs: nnx.Rngs
    ):
        if config.equivariance not in ("O(3)", "SO(3)"):
            raise ValueError(
                f"tensornet: equivariance must be 'O(3)' or 'SO(3)', got {config.equivariance!r}"
            )
        self.config = config
        dtype = as_dtype(config.dtype)
        f = config.hidden_channels
        self.embedding = TensorEmbedding(config, dtype=dtype, rngs=rngs)
        self.layers = nnx.List(
            [TensorInteraction(config, dtype=dtype, rngs=rngs) for _ in range(config.num_layers)]
        )
        self.out_norm = nnx.LayerNorm(3 * f, param_dtype=dtype, rngs=rngs)
        self.out_linear = nnx.Linear(
            3 * f, f, param_dtype=dtype, kernel_init=init.lecun_normal, rngs=rngs
        )
        self.scalar_head = Dense([f, f // 2, config.num_heads], dtype=dtype, rngs=rngs)
        self.head = EnergyHead(
            config.num_elements, atomic_energies, scale, shift, dtype, config.num_heads
        )

    def _edges(self, graph: Graph):
        """Edges plus one self-loop per atom (``r = 0``, zero direction), as torchmd-net."""
        c = self.config
        vectors = edge_vectors(graph)
        lengths = jnp.linalg.norm(vectors, axis=-1)
        nodes = jnp.arange(graph.positions.shape[0], dtype=graph.senders.dtype)
        r = jnp.concatenate([lengths, jnp.zeros(nodes.shape, lengths.dtype)])
        unit = jnp.concatenate(
            [vectors / lengths[:, None], jnp.zeros((nodes.shape[0], 3), lengths.dtype)]
        )
        rbf = exp_normal_rbf(r, c.cutoff_lower, c.r_max, c.num_rbf)
        senders = jnp.concatenate([graph.senders, nodes])
        receivers = jnp.concatenate([graph.receivers, nodes])
        return senders, receivers, rbf, cosine_cutoff(r, c.r_max), unit

    def __call__(self, graph: Graph) -> jax.Array:
        edges = self._edges(graph)
        x = self.embedding(graph.species, edges, graph.positions.shape[0])
        for layer in self.layers:
            x = layer(x, edges)
        i, a, s = decompose(x)
        features = jnp.concatenate([squared_norm(i), squared_norm(a), squared_norm(s)], -1)
        h = jax.nn.silu(self.out_linear(self.out_norm(features)))
        return self.head(self.scalar_head(h), graph)
