"""Simulation drivers over ASE: molecular dynamics, relaxation and normal modes."""

from eqpot.sim.md import ENSEMBLES, MDResult, energy_drift, run_md
from eqpot.sim.relax import OPTIMIZERS, RelaxResult, relax
from eqpot.sim.vibrations import normal_modes

__all__ = [
    "ENSEMBLES",
    "OPTIMIZERS",
    "MDResult",
    "RelaxResult",
    "energy_drift",
    "normal_modes",
    "relax",
    "run_md",
]
