"""Expressivity of a tensor product, computed rather than looked up.

Following Xie et al. 2025 ("The Price of Freedom", §3), the expressivity of a product
``T: X' x Y' -> Z'`` for representations ``X, Y, Z`` is the dimension of the family

    B_T = { Lin_Z o T_w o (Lin_X, Lin_Y) }     (all equivariant linears, all weights w of T)

inside the space of equivariant bilinear maps ``X x Y -> Z`` (whose dimension is
``sum mul_x mul_y mul_z [ir_z in ir_x (x) ir_y]``). The family is the image of a smooth
parameter map, so its dimension is the rank of that map's Jacobian at a generic point. We
evaluate the bilinear map on random input pairs (enough that the evaluation is injective
on equivariant bilinear maps), take the Jacobian with respect to all parameters with
``jax.jacfwd`` in float64 and count singular values above ``rtol * s_max``.

For the SO(2) product the second operand is a direction, not a vector space: the family
is then evaluated on random directions and compared with the CG convolution with the
harmonics ``Y = 0e+1o+...`` up to ``l_x + l_z``.
"""

from __future__ import annotations

import dataclasses
import math

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np

from eqpot.tp.base import TensorProduct


@dataclasses.dataclass(frozen=True)
class Expressivity:
    """``dimension``: computed rank; ``full_dimension``: all equivariant bilinear maps;
    ``literature_gamma``: the path count of the literature for this family (or None)."""

    dimension: int
    full_dimension: int
    literature_gamma: int | None
    num_parameters: int
    irreps_x: str
    irreps_y: str
    irreps_z: str


def one_copy(irreps) -> e3nn.Irreps:
    """The distinct irreps of ``irreps``, one copy each, sorted."""
    return e3nn.Irreps([(1, ir) for ir in sorted({ir for _, ir in e3nn.Irreps(irreps)})])


def equivariant_bilinear_dimension(irreps_x, irreps_y, irreps_z) -> int:
    """``dim Hom_O(3)(X (x) Y, Z) = sum mul_x mul_y mul_z [ir_z in ir_x (x) ir_y]``."""
    return sum(
        m1 * m2 * m3
        for m1, a in e3nn.Irreps(irreps_x)
        for m2, b in e3nn.Irreps(irreps_y)
        for m3, c in e3nn.Irreps(irreps_z)
        if c in a * b
    )


def expressivity(
    product: TensorProduct,
    irreps_x=None,
    irreps_y=None,
    irreps_z=None,
    *,
    seed: int = 0,
    rtol: float = 1e-9,
) -> Expressivity:
    """Dimension of ``{Lin_Z o T o (Lin_X, Lin_Y)}`` as a numerical Jacobian rank.

    Defaults: ``X``, ``Y``, ``Z`` hold one copy of each irrep of the product's operands and
    output (for PriceofFreedom's MIMO setting pass ``s2_irreps(L)`` twice and the product's
    output). Runs in float64.
    """
    direction = product.second_operand_is_direction
    x_irreps = e3nn.Irreps(irreps_x) if irreps_x is not None else one_copy(product.irreps_in1)
    if irreps_y is not None:
        y_irreps = e3nn.Irreps(irreps_y)
    else:
        y_irreps = product.sh_irreps() if direction else one_copy(product.irreps_in2)
    z_irreps = e3nn.Irreps(irreps_z) if irreps_z is not None else one_copy(product.irreps_out)
    full = equivariant_bilinear_dimension(x_irreps, y_irreps, z_irreps)

    with jax.enable_x64(True):
        lin_x = e3nn.FunctionalLinear(x_irreps, product.irreps_in1)
        lin_y = None if direction else e3nn.FunctionalLinear(y_irreps, product.irreps_in2)
        lin_z = e3nn.FunctionalLinear(product.irreps_out, z_irreps)
        sizes = [
            lin_x.num_weights,
            0 if direction else lin_y.num_weights,
            product.num_weights,
            lin_z.num_weights,
        ]
        bounds = np.cumsum([0, *sizes])
        samples = math.ceil(3 * max(full, 1) / max(z_irreps.dim, 1)) + 8
        k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
        xs = jax.random.normal(k1, (samples, x_irreps.dim), jnp.float64)
        if direction:
            ys = jax.random.normal(k2, (samples, 3), jnp.float64)
        else:
            ys = jax.random.normal(k2, (samples, y_irreps.dim), jnp.float64)

        def family(theta):
            wx, wy, wt, wz = (theta[bounds[i] : bounds[i + 1]] for i in range(4))
            x = xs @ lin_x.matrix(lin_x.split_weights(wx))
            y = ys if direction else ys @ lin_y.matrix(lin_y.split_weights(wy))
            t = product(x, y, wt if product.num_weights else None)
            return (t.array @ lin_z.matrix(lin_z.split_weights(wz))).reshape(-1)

        theta = jax.random.normal(k3, (int(bounds[-1]),), jnp.float64)
        jacobian = jax.jit(jax.jacfwd(family))(theta)
        singular = np.linalg.svd(np.asarray(jacobian), compute_uv=False)
    rank = int(np.sum(singular > rtol * singular[0])) if singular.size and singular[0] > 0 else 0
    return Expressivity(
        dimension=rank,
        full_dimension=full,
        literature_gamma=product.literature_gamma(x_irreps, y_irreps, z_irreps),
        num_parameters=int(bounds[-1]),
        irreps_x=str(x_irreps),
        irreps_y=str(y_irreps),
        irreps_z=str(z_irreps),
    )
