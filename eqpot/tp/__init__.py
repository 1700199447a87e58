"""Equivariant tensor products: five families behind one interface.

``make(family, irreps_in1, irreps_in2, irreps_out=None, **options)`` builds a product;
see :class:`eqpot.tp.base.TensorProduct` for the interface every product shares.

=================  ============================================================  =====
family             what it computes                                              exact
=================  ============================================================  =====
``cg``             Clebsch-Gordan, modes "uvw" (fully connected), "uvu"          yes
                   (channel-wise, per-edge weights), "uv" (weightless outer)
``gaunt_fourier``  Gaunt product via 2D Fourier basis + FFT (Luo et al. 2024)    yes
``gaunt_grid``     Gaunt product on a Gauss-Legendre S2 grid (Xie et al. 2025)    yes
``so2``            eSCN SO(2) convolution with the edge's harmonics              yes
                   (Passaro & Zitnick 2023), ``m_max`` truncation
``cp``             CP-decomposed CG product of rank R, shared path weights (TDN)  bound
=================  ============================================================  =====
"""

from __future__ import annotations

import inspect

from eqpot.suggest import did_you_mean
from eqpot.tp.base import Coupling, TensorProduct, WeightBlock
from eqpot.tp.cg import CGProduct
from eqpot.tp.cp import CPProduct
from eqpot.tp.gaunt_fourier import GauntFourierProduct
from eqpot.tp.gaunt_grid import GauntGridProduct
from eqpot.tp.measures import Expressivity, equivariant_bilinear_dimension, expressivity
from eqpot.tp.so2 import SO2Product

FAMILIES: dict[str, type[TensorProduct]] = {
    "cg": CGProduct,
    "gaunt_fourier": GauntFourierProduct,
    "gaunt_grid": GauntGridProduct,
    "so2": SO2Product,
    "cp": CPProduct,
}


def make(family: str, irreps_in1, irreps_in2, irreps_out=None, **options) -> TensorProduct:
    """Build a tensor product of the given family (see the table in this module's docstring).

    Example:
        >>> import eqpot
        >>> tp = eqpot.tp.make("gaunt_grid", "0e+1o+2e", "0e+1o+2e")
        >>> str(tp.irreps_out)
        '1x0e+1x1o+1x2e+1x3o+1x4e'
    """
    if family not in FAMILIES:
        hint = did_you_mean(family, FAMILIES)
        raise ValueError(
            f"unknown tensor-product family {family!r}{hint} (known: {', '.join(FAMILIES)})"
        )
    known = _option_names(FAMILIES[family])
    for key in options:
        if key not in known:
            raise ValueError(
                f"{family}: unknown option {key!r}{did_you_mean(key, known)} "
                f"(options: {', '.join(known) or 'none'})"
            )
    return FAMILIES[family](irreps_in1, irreps_in2, irreps_out, **options)


def _option_names(product: type[TensorProduct]) -> list[str]:
    """The keyword-only parameters of a family's constructor: its options."""
    parameters = inspect.signature(product).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]


__all__ = [
    "FAMILIES",
    "CGProduct",
    "CPProduct",
    "Coupling",
    "Expressivity",
    "GauntFourierProduct",
    "GauntGridProduct",
    "SO2Product",
    "TensorProduct",
    "WeightBlock",
    "equivariant_bilinear_dimension",
    "expressivity",
    "make",
]
