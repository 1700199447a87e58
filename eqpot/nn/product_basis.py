"""MACE's product basis as an NNX module: the symmetric contraction or the Gaunt power basis.

``ProductBasis(kind="cg")`` wraps :func:`eqpot.nn.symmetric_contraction` (mace-torch's
ordered coupling basis by default, so parameter counts agree); ``kind="gaunt"`` wraps
:class:`eqpot.nn.gaunt_basis.GauntPowerBasis`. Both map ``(N, C, irreps_in.dim)`` features
of one channel's irreps to ``(N, C, irreps_out.dim)`` with element-dependent weights.
"""

from __future__ import annotations

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
from flax import nnx

from eqpot.nn import init
from eqpot.nn.gaunt_basis import GauntPowerBasis
from eqpot.nn.symmetric_contraction import SymmetricContractionSpec, symmetric_contraction

KINDS = ("cg", "gaunt")


class ProductBasis(nnx.Module):
    """Element-dependent many-body product of one channel's irreps (correlation ``nu``)."""

    def __init__(
        self,
        irreps_in,
        irreps_out,
        correlation: int,
        num_elements: int,
        channels: int,
        *,
        kind: str = "cg",
        basis: str = "ordered",
        impl: str | None = None,
        dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if kind not in KINDS:
            raise ValueError(f"product basis must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.impl = impl  # kernel of the "cg" contraction (eqpot.kernels.resolve_impl)
        self.irreps_in, self.irreps_out = e3nn.Irreps(irreps_in), e3nn.Irreps(irreps_out)
        if kind == "cg":
            self.spec = SymmetricContractionSpec.build(irreps_in, irreps_out, correlation, basis)
            shapes = {
                f"{ir}_{nu}": s
                for (ir, nu), s in self.spec.weight_shapes(num_elements, channels).items()
            }
            values = {
                k: init.normal(rngs.params(), s, dtype, std=1 / s[1]) for k, s in shapes.items()
            }
        else:
            self.spec = GauntPowerBasis(irreps_in, irreps_out, correlation)
            shapes = self.spec.weight_shapes(num_elements, channels)
            values = {k: init.normal(rngs.params(), s, dtype) for k, s in shapes.items()}
            values["u"] = jnp.ones(shapes["u"], dtype)
        self.weights = nnx.Dict({k: nnx.Param(v) for k, v in values.items()})

    def __call__(self, features: jax.Array, species: jax.Array) -> jax.Array:
        weights = {k: v[...] for k, v in self.weights.items()}
        if self.kind == "gaunt":
            return self.spec(features, species, weights)
        keyed = {tuple(_split_key(k)): v for k, v in weights.items()}
        return symmetric_contraction(self.spec, features, species, keyed, impl=self.impl)


def _split_key(key: str) -> tuple[str, int]:
    ir, nu = key.rsplit("_", 1)
    return ir, int(nu)
