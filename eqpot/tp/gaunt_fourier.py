"""Gaunt product through the 2D Fourier basis with FFT convolution (Luo et al. 2024).

Spherical functions are written exactly as 2D trigonometric polynomials on the torus
(:mod:`eqpot.so3.fourier`); their product is a 2D convolution of coefficient grids, done
with zero-padded FFTs, then projected back in closed form. Exact to float round-off (the
published reimplementation's numerically integrated tables reach ~1e-2). See
:mod:`eqpot.tp._gaunt` for layout and weights.
"""

from __future__ import annotations

import functools

from eqpot import kernels, so3
from eqpot.tp._gaunt import GauntProduct
from eqpot.tp.gaunt_grid import ml_gather


@functools.cache
def fourier_operand(lmax: int) -> kernels.FourierOperand:
    beta, alpha = so3.sh_to_fourier_tables(lmax)
    return kernels.FourierOperand(ml_gather(lmax), beta, alpha)


@functools.cache
def fourier_output(lmax_out: int, grid_size: int) -> kernels.FourierOperand:
    beta, alpha = so3.fourier_to_sh_tables(lmax_out, grid_size)
    return kernels.FourierOperand(ml_gather(lmax_out), beta, alpha)


class GauntFourierProduct(GauntProduct):
    """Exact Gaunt product through 2D Fourier coefficients and FFT convolution."""

    family = "gaunt_fourier"

    def __init__(self, irreps_in1, irreps_in2, irreps_out=None):
        super().__init__(irreps_in1, irreps_in2, irreps_out)
        self.operands = (
            fourier_operand(self.lmax1),
            fourier_operand(self.lmax2),
            fourier_output(self.lmax_out, self.lmax1 + self.lmax2),
        )

    def _gaunt(self, f1, f2, impl):
        return kernels.gaunt_fourier(f1, f2, *self.operands, impl=impl)
