"""CP-decomposed tensor product with path-weight sharing (TDN; Lin et al. 2025).

All CG paths between ``x1`` (``C1 x`` distinct irreps) and ``x2`` (``C2 x`` distinct irreps) form
one coupling tensor ``M[i, j, k]`` (``d1 x d2 x d_out``, per channel), with the normalisation
of :class:`eqpot.tp.cg.CGProduct` in "uvw" mode when every path carries the same weight:

    M = sum_{paths l1 l2 -> l3} sqrt(2 l3 + 1) / sqrt(n_paths(l3) * C1 * C2) * C^{l1 l2 l3}

It is replaced by a rank-``R`` CP approximation ``sum_r A[i,r] B[j,r] C[k,r]``, fitted by
alternating least squares from a seeded start (deterministic) and cached on disk; at
``R >= min(d1 d2, d1 d3, d2 d3)`` the exact decomposition is used. One channel weight is
shared by all paths ("uvw": ``W[u, v, w]``; "uvu": ``W[u, v]``).

Equivariance error bound (for every rotation ``D``, since ``M`` itself is equivariant and
the Wigner matrices are orthogonal):

    |D out(x, y) - out(D x, D y)|_w <= 2 eps sum_{uv} |W_uvw| |x_u| |y_v|,
    eps = |M - M_CP|_F  (>= the operator norm of the bilinear error)

:meth:`CPProduct.equivariance_bound` evaluates it; ``relative_error`` is ``eps / |M|_F``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import e3nn_jax as e3nn
import jax.numpy as jnp
import numpy as np
import platformdirs

from eqpot import kernels, so3
from eqpot.atomic_write import atomic_write
from eqpot.tp.base import (
    Coupling,
    TensorProduct,
    WeightBlock,
    as_irreps_array,
    channels_first,
    channels_last,
)
from eqpot.tp.so2 import parse_channel_irreps

MODES = ("uvw", "uvu")
CACHE_ENV = "EQPOT_CACHE_DIR"
_FIT_VERSION = "als-v1"


def cache_dir() -> Path:
    """Where fitted CP factors are cached: ``$EQPOT_CACHE_DIR`` or the user cache dir."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("eqpot")) / "cp"


def exact_coupling_tensor(irs1, irs2, irs_out, c1: int, c2: int) -> np.ndarray:
    """The tensor ``M`` of all CG paths with shared-weight normalisation (module docstring)."""
    o1, o2, o3 = (np.cumsum([0] + [ir.dim for ir in irs])[:-1] for irs in (irs1, irs2, irs_out))
    m = np.zeros((sum(i.dim for i in irs1), sum(i.dim for i in irs2), sum(i.dim for i in irs_out)))
    for k, c in enumerate(irs_out):
        paths = [(i, j) for i, a in enumerate(irs1) for j, b in enumerate(irs2) if c in a * b]
        for i, j in paths:
            a, b = irs1[i], irs2[j]
            scale = np.sqrt(c.dim / (len(paths) * c1 * c2))
            m[o1[i] : o1[i] + a.dim, o2[j] : o2[j] + b.dim, o3[k] : o3[k] + c.dim] = (
                scale * so3.clebsch_gordan(a.l, b.l, c.l)
            )
    return m


def _exact_factors(m: np.ndarray) -> tuple[np.ndarray, ...]:
    """A rank ``min(d1 d2, d1 d3, d2 d3)`` decomposition with no error."""
    d1, d2, d3 = m.shape
    options = {
        d1 * d2: (
            lambda: (
                np.repeat(np.eye(d1), d2, 1),
                np.tile(np.eye(d2), d1),
                m.reshape(d1 * d2, d3).T,
            )
        ),
        d1 * d3: (
            lambda: (
                np.repeat(np.eye(d1), d3, 1),
                m.transpose(0, 2, 1).reshape(d1 * d3, d2).T,
                np.tile(np.eye(d3), d1),
            )
        ),
        d2 * d3: (
            lambda: (m.reshape(d1, d2 * d3), np.repeat(np.eye(d2), d3, 1), np.tile(np.eye(d3), d2))
        ),
    }
    return options[min(options)]()


def fit_cp(m: np.ndarray, rank: int, seed: int, max_iter: int = 3000, tol: float = 1e-13):
    """Rank-``rank`` CP factors of ``m`` by alternating least squares; exact at full rank."""
    if rank >= min(m.shape[0] * m.shape[1], m.shape[0] * m.shape[2], m.shape[1] * m.shape[2]):
        return _exact_factors(m)
    rng = np.random.default_rng(seed)
    factors = [rng.normal(size=(d, rank)) for d in m.shape]
    norm = np.linalg.norm(m)
    previous = np.inf
    equations = ("ijk,jr,kr->ir", "ijk,ir,kr->jr", "ijk,ir,jr->kr")
    for _ in range(max_iter):
        for n, equation in enumerate(equations):
            others = [factors[i] for i in range(3) if i != n]
            gram = (others[0].T @ others[0]) * (others[1].T @ others[1])
            factors[n] = np.einsum(equation, m, *others) @ np.linalg.pinv(gram)
        error = np.linalg.norm(m - np.einsum("ir,jr,kr->ijk", *factors)) / norm
        if previous - error < tol * max(error, 1e-300):
            break
        previous = error
    return tuple(factors)


def _load_or_fit(m: np.ndarray, rank: int, seed: int, directory: Path):
    key = hashlib.sha256(
        m.tobytes() + str(m.shape).encode() + f"{rank}-{seed}-{_FIT_VERSION}".encode()
    ).hexdigest()[:24]
    path = directory / f"{key}.npz"
    if path.exists():
        with np.load(path) as data:
            return data["a"], data["b"], data["c"]
    a, b, c = fit_cp(m, rank, seed)
    with atomic_write(path) as tmp:  # concurrent readers never see a partial file
        np.savez(tmp, a=a, b=b, c=c)
    return a, b, c


class CPProduct(TensorProduct):
    """Approximate CG product through a rank-``R`` CP decomposition, shared path weights."""

    family = "cp"

    def __init__(
        self,
        irreps_in1,
        irreps_in2,
        irreps_out=None,
        *,
        rank=None,
        mode="uvw",
        seed: int = 0,
        cache: str | os.PathLike | None = None,
    ):
        self.irreps_in1 = e3nn.Irreps(irreps_in1)
        self.irreps_in2 = e3nn.Irreps(irreps_in2)
        self.c1, self.irs1 = parse_channel_irreps(self.irreps_in1, "cp: x1")
        self.c2, self.irs2 = parse_channel_irreps(self.irreps_in2, "cp: x2")
        if mode not in MODES:
            raise ValueError(f"cp: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        if irreps_out is None:
            reachable = sorted({c for a in self.irs1 for b in self.irs2 for c in a * b})
            irreps_out = e3nn.Irreps([(self.c1, ir) for ir in reachable])
        self.irreps_out = e3nn.Irreps(irreps_out)
        self.c_out, self.irs_out = parse_channel_irreps(self.irreps_out, "cp: output")
        if len(set(self.irs_out)) != len(self.irs_out):
            raise ValueError(f"cp: output irreps {self.irreps_out} repeat an irrep")
        if mode == "uvu" and self.c_out != self.c1:
            raise ValueError(f"cp: mode 'uvu' needs C_out == C1, got {self.c_out} != {self.c1}")
        self.exact = exact_coupling_tensor(self.irs1, self.irs2, self.irs_out, self.c1, self.c2)
        lmax = max(ir.l for ir in self.irs1 + self.irs2)
        self.rank = int(rank) if rank is not None else 7 * max(lmax, 1) ** 2  # TDN "quadratic"
        if self.rank < 1:
            raise ValueError(f"cp: rank must be >= 1, got {rank}")
        directory = Path(cache) if cache is not None else cache_dir()
        self.factors = _load_or_fit(self.exact, self.rank, seed, directory)
        residual = self.exact - np.einsum("ir,jr,kr->ijk", *self.factors)
        self.absolute_error = float(np.linalg.norm(residual))
        self.relative_error = self.absolute_error / float(np.linalg.norm(self.exact))

    def weight_layout(self) -> list[WeightBlock]:
        shape = (self.c1, self.c2, self.c_out) if self.mode == "uvw" else (self.c1, self.c2)
        return [WeightBlock("w (shared by all paths)", 0, shape)]

    def couplings(self) -> list[Coupling]:
        return sorted(
            Coupling(a, b, c)
            for a in self.irs1
            for b in self.irs2
            for c in self.irs_out
            if c in a * b
        )

    def _weights(self, weights):
        block = self.weight_layout()[0]
        return weights.reshape(weights.shape[:-1] + block.shape)

    def _apply(self, x1, x2, weights, impl):
        if weights is None:
            raise ValueError(f"cp: weights are required (num_weights={self.num_weights})")
        y = kernels.cp_product(
            channels_first(x1),
            channels_first(x2),
            self.factors,
            self._weights(weights),
            self.mode,
            impl=impl,
        )
        return channels_last(y, self.irs_out)

    def equivariance_bound(self, x1, x2, weights) -> jnp.ndarray:
        """Upper bound on ``|D out(x1, x2) - out(D x1, D x2)|`` for any rotation, per sample."""
        x1 = as_irreps_array(x1, self.irreps_in1, "cp: x1")
        x2 = as_irreps_array(x2, self.irreps_in2, "cp: x2")
        n1 = jnp.linalg.norm(channels_first(x1), axis=-1)
        n2 = jnp.linalg.norm(channels_first(x2), axis=-1)
        w = jnp.abs(self._weights(jnp.asarray(weights)))
        if self.mode == "uvw":
            per_out = jnp.einsum("...u,...v,...uvw->...w", n1, n2, w)
        else:
            per_out = jnp.einsum("...u,...v,...uv->...u", n1, n2, w)
        return 2 * self.absolute_error * jnp.linalg.norm(per_out, axis=-1)
