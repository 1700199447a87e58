"""Array-level execution of eqpot's hot operations (installed as ``eqpot.kernels``).

Each kernel is a pure function of arrays and constant tables with an XLA implementation;
``impl`` (argument), ``EQPOT_KERNEL_IMPL`` (environment) or ``auto`` choose what runs.
This layer knows nothing of irreps: :mod:`eqpot.tp` describes products and calls these.
"""

from ._impl import ENV_VAR, IMPLS, cueq_installed, resolve_impl, with_cueq
from .cp import cp_product
from .fourier import FourierOperand, gaunt_fourier
from .message import MessageTable, channelwise_message, message_table
from .polynomial_pallas import Polynomial, evaluate_polynomial
from .s2grid import GridTables, from_grid, gaunt_s2grid, to_grid
from .so2 import SO2Block, SO2Layout, so2_convolution
from .tensor_product import Path, PathTable, Segment, contract_paths

__all__ = [
    "ENV_VAR",
    "IMPLS",
    "FourierOperand",
    "GridTables",
    "MessageTable",
    "Path",
    "PathTable",
    "Polynomial",
    "SO2Block",
    "SO2Layout",
    "Segment",
    "channelwise_message",
    "contract_paths",
    "cp_product",
    "cueq_installed",
    "evaluate_polynomial",
    "from_grid",
    "gaunt_fourier",
    "gaunt_s2grid",
    "message_table",
    "resolve_impl",
    "so2_convolution",
    "to_grid",
    "with_cueq",
]
