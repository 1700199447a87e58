"""Harmonic normal modes from the model's analytic Hessian.

For the Hessian ``H = d^2E/dr dr`` (eV/Å^2) and masses ``m`` (amu), the modes are the
eigenvectors of the mass-weighted Hessian ``H_ij / sqrt(m_i m_j)`` and the energies
``hbar omega = hbar sqrt(eigenvalue)``; ASE's ``VibrationsData`` does the conversion
(energies in eV, frequencies in cm^-1; imaginary modes as imaginary numbers). This is the
analytic counterpart of ``ase.vibrations.Vibrations``' finite displacements, at the cost of
one Hessian evaluation (small molecules and cells: it is ``(3N)^2``).
"""

from __future__ import annotations

import ase
from ase.vibrations import VibrationsData


def normal_modes(atoms: ase.Atoms, calculator=None) -> VibrationsData:
    """``VibrationsData`` of ``atoms`` from ``calculator.get_hessian`` (default: atoms.calc)."""
    calculator = calculator or atoms.calc
    if calculator is None or not hasattr(calculator, "get_hessian"):
        raise ValueError("normal_modes needs a calculator with get_hessian (EqpotCalculator)")
    return VibrationsData.from_2d(atoms, calculator.get_hessian(atoms))
