"""Dataset statistics used to initialise models (MACE's E0s, scale and shift).

* ``E0s``: isolated-atom energies, or the least-squares fit ``E_total ~ sum_Z n_Z E0_Z``;
* average number of neighbours (edges per atom) for the message normalisation;
* ``scale`` and ``shift`` of MACE's ``ScaleShiftMACE`` by mace-torch's ``scaling`` rules
  (:data:`SCALINGS`);
* seeded train/validation splits.
"""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np

from .readers import ENERGY, FORCES, DataError


def fit_e0s(
    structures: Sequence[ase.Atoms],
    type_map: Sequence[int],
    targets: Sequence[float] | None = None,
) -> dict[int, float]:
    """Least-squares per-element reference energies (eV): ``min sum_s (T_s - sum_Z n_sZ
    E0_Z)^2`` over the structures with an energy, where ``T_s`` is the total energy, or
    ``targets[s]`` when given (one per structure, e.g. the energy minus a model's
    interaction energy)."""
    rows, energies = [], []
    for i, atoms in enumerate(structures):
        if ENERGY in atoms.info:
            rows.append([np.sum(atoms.numbers == z) for z in type_map])
            energies.append(atoms.info[ENERGY] if targets is None else targets[i])
    if not rows:
        raise DataError("no structure has an energy: cannot fit E0s")
    counts = np.array(rows, np.float64)
    solution, *_ = np.linalg.lstsq(counts, np.array(energies), rcond=None)
    return {int(z): float(e) for z, e in zip(type_map, solution, strict=True)}


def interaction_energy_per_atom(atoms: ase.Atoms, e0s: dict[int, float]) -> float:
    missing = sorted({int(z) for z in atoms.numbers} - set(e0s))
    if missing:
        raise DataError(f"{atoms.info.get('source', 'structure')}: no E0 for elements {missing}")
    reference = sum(e0s[int(z)] for z in atoms.numbers)
    return (atoms.info[ENERGY] - reference) / len(atoms)


SCALINGS = ("rms_forces_scaling", "std_scaling", "no_scaling")


def scale_shift(
    structures: Sequence[ase.Atoms],
    e0s: dict[int, float],
    scaling: str = "rms_forces_scaling",
) -> tuple[float, float]:
    """``(scale, shift)`` of a model's per-atom energy from the per-atom interaction
    energies ``e_s = (E_s - sum_i E0_{Z_i}) / n_s`` (eV) of the structures with an energy, as
    mace-torch computes them for its ``scaling`` options:

    * ``rms_forces_scaling`` (MACE's default): shift = mean ``e_s``, scale = RMS of the
      force components ``sqrt(<F_ia^2>)``;
    * ``std_scaling``: shift = mean ``e_s``, scale = their standard deviation (``ddof=1``);
    * ``no_scaling``: ``(1, 0)``.

    A scale that comes out as zero (one structure, or no forces) is replaced by 1.
    """
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
    if scaling == "no_scaling":
        return 1.0, 0.0
    per_atom = [interaction_energy_per_atom(a, e0s) for a in structures if ENERGY in a.info]
    shift = float(np.mean(per_atom)) if per_atom else 0.0
    if scaling == "std_scaling":
        scale = float(np.std(per_atom, ddof=1)) if len(per_atom) > 1 else 0.0
    else:
        forces = [a.arrays[FORCES] for a in structures if FORCES in a.arrays]
        scale = float(np.sqrt(np.mean(np.concatenate(forces) ** 2))) if forces else 0.0
    return (scale if scale > 0 else 1.0), shift


def average_num_neighbors(num_edges: Sequence[int], num_nodes: Sequence[int]) -> float:
    """Edges per atom over a dataset (the message normalisation of MACE)."""
    return float(np.sum(num_edges) / max(1, np.sum(num_nodes)))


def split(items: Sequence, valid_fraction: float, seed: int) -> tuple[list, list]:
    """Seeded random ``(train, validation)`` split; both parts keep the original order."""
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    n_valid = round(valid_fraction * len(items))
    chosen = set(np.random.default_rng(seed).permutation(len(items))[:n_valid].tolist())
    train = [x for i, x in enumerate(items) if i not in chosen]
    valid = [x for i, x in enumerate(items) if i in chosen]
    return train, valid
