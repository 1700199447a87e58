"""Exact group-theory tables for SO(3)/O(3), built once in NumPy float64 and cached.

Conventions follow e3nn-jax: real spherical harmonics with y as polar axis and
"component" normalisation, coefficients of degree l stored at ``l**2 + l + m``.
"""

from eqpot.so3.clebsch_gordan import (
    clebsch_gordan,
    complex_to_real,
    gaunt,
    su2_clebsch_gordan,
)
from eqpot.so3.fourier import (
    FourierTables,
    azimuthal_to_fourier,
    fourier_tables,
    fourier_to_sh_tables,
    sh_to_fourier_tables,
)
from eqpot.so3.grids import (
    S2Grid,
    gauss_legendre_grid,
    grid_resolution,
    s2_grid_for_product,
    s2_quadrature,
)
from eqpot.so3.spherical_harmonics import (
    angles_from_xyz,
    azimuthal_part,
    polar_part,
    sh_index,
    spherical_harmonics,
    spherical_harmonics_from_angles,
)
from eqpot.so3.wigner import (
    block_diagonal,
    rotation_to_y,
    safe_normalize,
    wigner_D,
    wigner_D_list,
)

__all__ = [
    "FourierTables",
    "S2Grid",
    "angles_from_xyz",
    "azimuthal_part",
    "azimuthal_to_fourier",
    "block_diagonal",
    "clebsch_gordan",
    "complex_to_real",
    "fourier_tables",
    "fourier_to_sh_tables",
    "gaunt",
    "gauss_legendre_grid",
    "grid_resolution",
    "polar_part",
    "rotation_to_y",
    "s2_grid_for_product",
    "s2_quadrature",
    "safe_normalize",
    "sh_index",
    "sh_to_fourier_tables",
    "spherical_harmonics",
    "spherical_harmonics_from_angles",
    "su2_clebsch_gordan",
    "wigner_D",
    "wigner_D_list",
]
