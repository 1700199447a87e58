"""pymatgen <-> ASE conversions (pymatgen is imported lazily: it is heavy).

A periodic ``Structure`` becomes a fully periodic ``Atoms``; a ``Molecule`` becomes a
non-periodic one. ``Atoms`` go back to a ``Structure`` when any direction is periodic
(pymatgen has no mixed periodicity in ``Structure``; its ``Lattice.pbc`` carries it) and to
a ``Molecule`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np


def from_pymatgen(obj) -> ase.Atoms | list[ase.Atoms]:
    """A pymatgen ``Structure``/``Molecule`` (or a list of them) as ``ase.Atoms``."""
    if isinstance(obj, Sequence) and not hasattr(obj, "sites"):
        return [from_pymatgen(o) for o in obj]
    from pymatgen.core import Molecule, Structure

    if isinstance(obj, Structure):
        return ase.Atoms(
            numbers=[site.specie.Z for site in obj],
            positions=obj.cart_coords,
            cell=obj.lattice.matrix,
            pbc=np.asarray(obj.lattice.pbc, bool),
        )
    if isinstance(obj, Molecule):
        return ase.Atoms(numbers=[site.specie.Z for site in obj], positions=obj.cart_coords)
    raise TypeError(f"expected a pymatgen Structure or Molecule, got {type(obj).__name__}")


def to_pymatgen(atoms: ase.Atoms | Sequence[ase.Atoms]):
    """``ase.Atoms`` (or a list) as pymatgen ``Structure`` (periodic) or ``Molecule``."""
    if not isinstance(atoms, ase.Atoms):
        return [to_pymatgen(a) for a in atoms]
    from pymatgen.core import Lattice, Molecule, Structure

    species = list(atoms.get_chemical_symbols())
    if np.any(atoms.pbc):
        lattice = Lattice(atoms.cell.array, pbc=tuple(bool(p) for p in atoms.pbc))
        return Structure(lattice, species, atoms.positions, coords_are_cartesian=True)
    return Molecule(species, atoms.positions)
