"""A many-body product basis from powers of spherical functions (Gaunt; Luo et al. 2024).

Repeated Gaunt products of a function with itself are powers on the sphere: for the node
features ``A_{c, lm}`` (channels ``c``, degrees ``l`` of parity ``(-1)^l``) and element ``z``,

    f_c(s)   = sum_{lm} u_{z, c, l} A_{c, lm} Y_{lm}(s)
    B_{c,LM} = sum_{nu=1..correlation} w^{(nu)}_{z, c, L} (1/4pi) \\int f_c(s)^nu Y_{LM}(s) ds

i.e. the ``nu``-fold Gaunt product of ``f_c``, evaluated exactly on a Gauss-Legendre grid
that integrates degree ``correlation * l_in + L_out`` (so the result is equivariant to
round-off). It replaces MACE's symmetric contraction with ``O(L^3)`` work per channel and
per order, at the price of Gaunt's restriction to parity ``(-1)^l`` couplings.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from eqpot import kernels, so3
from eqpot.tp._gaunt import parse_spherical_irreps
from eqpot.tp.gaunt_grid import grid_tables


class GauntPowerBasis:
    """Constant tables of the power basis (``(N, C, dim_in) -> (N, C, dim_out)``)."""

    def __init__(self, irreps_in, irreps_out, correlation: int):
        _, p_in, self.degrees_in = parse_spherical_irreps(irreps_in, "gaunt basis: input")
        _, p_out, self.degrees_out = parse_spherical_irreps(irreps_out, "gaunt basis: output")
        if p_in != 1 or p_out != 1:
            raise ValueError("gaunt basis: irreps must have parity (-1)^l (spherical functions)")
        self.correlation = correlation
        self.lmax_in, self.lmax_out = max(self.degrees_in), max(self.degrees_out)
        grid = so3.grid_resolution(correlation * self.lmax_in + self.lmax_out)
        self.synthesis = grid_tables(self.lmax_in, *grid, False)
        self.analysis = grid_tables(self.lmax_out, *grid, True)
        self.index_in = _dense_index(self.degrees_in, self.lmax_in)
        self.select_out = _dense_positions(self.degrees_out)

    def weight_shapes(self, num_elements: int, channels: int) -> dict[str, tuple[int, ...]]:
        n_in, n_out = len(self.degrees_in), len(self.degrees_out)
        shapes = {"u": (num_elements, channels, n_in)}
        shapes.update(
            {f"w{nu}": (num_elements, channels, n_out) for nu in range(1, self.correlation + 1)}
        )
        return shapes

    def __call__(self, features: jax.Array, species: jax.Array, weights: dict) -> jax.Array:
        degree_of = np.repeat(np.arange(len(self.degrees_in)), [2 * l + 1 for l in self.degrees_in])
        scaled = features * weights["u"][species][..., degree_of]
        dense = jnp.concatenate([scaled, jnp.zeros_like(scaled[..., :1])], axis=-1)
        f = kernels.to_grid(dense[..., self.index_in], self.synthesis)  # (N, C, beta, alpha)
        out, power = 0.0, jnp.ones_like(f)
        degree_out = np.repeat(
            np.arange(len(self.degrees_out)), [2 * l + 1 for l in self.degrees_out]
        )
        for nu in range(1, self.correlation + 1):
            power = power * f
            projected = kernels.from_grid(power, self.analysis)[..., self.select_out]
            out = out + projected * weights[f"w{nu}"][species][..., degree_out]
        return out


def _dense_index(degrees: list[int], lmax: int) -> np.ndarray:
    """Gather from ``concat(x, [0])`` (listed degrees) into the dense ``l <= lmax`` layout."""
    position, index = {}, []
    start = 0
    for l in degrees:
        position[l] = start
        start += 2 * l + 1
    zero = start
    for l in range(lmax + 1):
        if l in position:
            index.extend(range(position[l], position[l] + 2 * l + 1))
        else:
            index.extend([zero] * (2 * l + 1))
    return np.asarray(index)


def _dense_positions(degrees: list[int]) -> np.ndarray:
    """Positions of the listed degrees inside the dense layout."""
    return np.concatenate([np.arange(l * l, (l + 1) ** 2) for l in degrees])
