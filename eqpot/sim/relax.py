"""Geometry and cell relaxation through ASE optimisers.

``relax(atoms, optimizer="FIRE", fmax=0.01, cell=True)`` minimises the energy of ``atoms``
(which carry their calculator) until the largest force is below ``fmax`` (eV/Å). With
``cell=True`` the cell relaxes too, through ``ase.filters.FrechetCellFilter`` (the cell
gradient enters the force criterion as stress times volume, in eV) at an external
``pressure`` in GPa.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import ase
import numpy as np
from ase import units
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE

from eqpot.sim.arguments import check_arguments

OPTIMIZERS = {"FIRE": FIRE, "BFGS": BFGS}


@dataclasses.dataclass
class RelaxResult:
    atoms: ase.Atoms
    converged: bool
    steps: int
    energy: float  # eV
    fmax: float  # eV/Å, largest atomic force at the end

    def summary(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (
            f"{state} after {self.steps} steps: energy {self.energy:.6f} eV, "
            f"max force {self.fmax:.4g} eV/Å"
        )


def relax(
    atoms: ase.Atoms,
    optimizer: str = "FIRE",
    *,
    fmax: float = 0.01,
    steps: int = 1000,
    cell: bool = False,
    pressure: float = 0.0,
    trajectory: str | Path | None = None,
    logfile: str | Path | None = None,
) -> RelaxResult:
    """Relax ``atoms`` in place; returns whether it reached ``fmax`` within ``steps``."""
    if atoms.calc is None:
        raise ValueError("the atoms have no calculator (set atoms.calc first)")
    check_arguments(("fmax", fmax, fmax > 0, "> 0 eV/Å"), ("steps", steps, steps >= 1, ">= 1"))
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
    if cell and (not np.all(atoms.pbc) or abs(atoms.cell.volume) < 1e-12):
        raise ValueError("cell relaxation needs a fully periodic cell with a volume")
    target = FrechetCellFilter(atoms, scalar_pressure=pressure * units.GPa) if cell else atoms
    opt = OPTIMIZERS[optimizer](
        target,
        logfile=str(logfile) if logfile else None,
        trajectory=str(trajectory) if trajectory else None,
    )
    converged = bool(opt.run(fmax=fmax, steps=steps))
    forces = atoms.get_forces()
    return RelaxResult(
        atoms=atoms,
        converged=converged,
        steps=int(opt.nsteps),
        energy=float(atoms.get_potential_energy()),
        fmax=float(np.sqrt((forces**2).sum(axis=1).max())),
    )
