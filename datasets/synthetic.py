"""Synthetic periodic data labelled by ASE's EMT potential: the embedded default dataset.

Every structure carries ``REF_energy`` (eV), ``REF_forces`` (eV/Å) and ``REF_stress``
(eV/Å³, ASE sign and Voigt order) computed by ``ase.calculators.emt.EMT``, plus a
``config_type``. Five kinds, all periodic:

* ``bulk_vacancy`` — fcc supercells with one or two vacancies, rattled;
* ``surface`` — (111) and (100) slabs with vacuum, rattled (periodic cell with vacuum, as in
  DFT surface data, so the stress is defined);
* ``strained`` — bulk cells under random symmetric strain of up to ``max_strain``;
* ``md`` — snapshots of Langevin dynamics (ASE) at several temperatures;
* ``alloy`` — random substitutional alloys, when more than one element is asked for.

Everything random comes from one ``numpy.random.Generator`` seeded by ``seed``, so the same
arguments write a byte-identical file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import ase
import ase.data
import ase.io
import numpy as np
from ase import units
from ase.build import bulk, fcc100, fcc111
from ase.calculators.emt import EMT
from ase.md import velocitydistribution
from ase.md.langevin import Langevin

from eqpot.atomic_write import atomic_write

# ASE >= 3.27 names it thermalize_momenta; older releases MaxwellBoltzmannDistribution
thermalize = (
    getattr(velocitydistribution, "thermalize_momenta", None)
    or velocitydistribution.MaxwellBoltzmannDistribution
)
EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")
KINDS = ("bulk_vacancy", "surface", "strained", "md", "alloy")


def _labelled(atoms: ase.Atoms, config_type: str) -> ase.Atoms:
    atoms.calc = EMT()
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=True)
    out = ase.Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    out.info.update(
        REF_energy=float(energy), REF_stress=np.asarray(stress), config_type=config_type
    )
    out.arrays["REF_forces"] = np.asarray(forces)
    return out


def _bulk(element: str, repeat: int = 2) -> ase.Atoms:
    return bulk(element, "fcc", cubic=True).repeat(repeat)


def _bulk_vacancy(element, rng, rattle):
    atoms = _bulk(element)
    for _ in range(int(rng.integers(1, 3))):
        del atoms[int(rng.integers(len(atoms)))]
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    return _labelled(atoms, "bulk_vacancy")


def _surface(element, rng, rattle):
    build = fcc111 if rng.random() < 0.5 else fcc100
    atoms = build(element, size=(2, 2, 4), vacuum=6.0, periodic=True)
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    return _labelled(atoms, "surface")


def _strained(element, rng, rattle, max_strain):
    atoms = _bulk(element)
    strain = rng.uniform(-max_strain, max_strain, size=(3, 3))
    strain = 0.5 * (strain + strain.T)
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    return _labelled(atoms, "strained")


def _alloy(elements, rng, rattle):
    atoms = _bulk(elements[0])
    atoms.numbers = rng.choice([ase.data.atomic_numbers[e] for e in elements], size=len(atoms))
    scale = 1 + 0.02 * rng.normal()
    atoms.set_cell(atoms.cell.array * scale, scale_atoms=True)
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    return _labelled(atoms, "alloy")


def _md(element, rng, temperatures, num, interval=5, timestep_fs=2.0):
    atoms = _bulk(element)
    if rng.random() < 0.5:
        del atoms[int(rng.integers(len(atoms)))]
    temperature = float(rng.choice(temperatures))
    atoms.calc = EMT()
    thermalize(atoms, temperature_K=temperature, rng=rng)
    dyn = Langevin(
        atoms,
        timestep_fs * units.fs,
        temperature_K=temperature,
        friction=0.02,
        fixcm=False,
        rng=rng,
    )
    frames = []
    for _ in range(num):
        dyn.run(interval)
        frames.append(_labelled(atoms.copy(), f"md_{int(temperature)}K"))
    return frames


def generate(
    elements: Sequence[str] = ("Cu",),
    *,
    num_per_kind: int = 20,
    seed: int = 0,
    rattle: float = 0.05,
    max_strain: float = 0.04,
    temperatures: Sequence[float] = (300.0, 600.0, 900.0, 1200.0),
) -> list[ase.Atoms]:
    """EMT-labelled structures of every kind for every element (module docstring)."""
    unknown = [e for e in elements if e not in EMT_ELEMENTS]
    if unknown or not elements:
        raise ValueError(
            f"EMT has no parameters for {unknown or 'no element'}; choose from {EMT_ELEMENTS}"
        )
    if num_per_kind < 1:
        raise ValueError(f"num_per_kind must be >= 1, got {num_per_kind}")
    rng = np.random.default_rng(seed)
    frames: list[ase.Atoms] = []
    for element in elements:
        frames += [_bulk_vacancy(element, rng, rattle) for _ in range(num_per_kind)]
        frames += [_surface(element, rng, rattle) for _ in range(num_per_kind)]
        frames += [_strained(element, rng, rattle, max_strain) for _ in range(num_per_kind)]
        runs = max(1, num_per_kind // 5)
        for _ in range(runs):
            frames += _md(element, rng, temperatures, num=max(1, num_per_kind // runs))
    if len(elements) > 1:
        frames += [_alloy(list(elements), rng, rattle) for _ in range(num_per_kind)]
    return frames


def write_dataset(path: str | os.PathLike, frames: Sequence[ase.Atoms]) -> Path:
    """Write ``frames`` to extended XYZ atomically (:func:`eqpot.atomic_write.atomic_write`)."""
    path = Path(path)
    with atomic_write(path) as tmp:
        ase.io.write(tmp, list(frames), format="extxyz")
    return path


def synthesize(path: str | os.PathLike, elements: Sequence[str] = ("Cu",), **options) -> Path:
    """Generate EMT data (see :func:`generate`) and write it to ``path``."""
    return write_dataset(path, generate(elements, **options))
