"""Reading labelled structures from any ASE-readable file (extended XYZ first).

``load`` returns ``ase.Atoms`` whose labels are normalised into canonical places, whatever
the file called them:

    atoms.info["REF_energy"]   float, eV             atoms.arrays["REF_forces"]  (n, 3) eV/Å
    atoms.info["REF_stress"]   (6,) Voigt, eV/Å³ (ASE sign and order xx yy zz yz xz xy)
    atoms.info["config_weight"] float (default 1)   atoms.info["config_type"] str ("Default")
    atoms.info["source"]       "<file>:<frame>"

and every other ``info`` key of the file as it was (the label keys apart).

A label under a key the user names (:class:`LabelKeys`, mace-torch's ``energy_key`` etc.) is
read from that key only. Otherwise it is looked up, in order: ``REF_<name>``, the plain key
in ``info``/``arrays``, and the results of the ``SinglePointCalculator`` into which
ASE >= 3.23 moves plain ``energy``/``forces``/``stress`` keys. A virial (``virial``,
``REF_virial`` or the user's key; eV) is accepted for stress as ``stress = -virial / volume``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path

import ase
import ase.io
import numpy as np
from ase.io.formats import string2index

from .errors import DataError
from .mlearn import looks_like_mlearn, read_mlearn

ENERGY, FORCES, STRESS = "REF_energy", "REF_forces", "REF_stress"
LABELS = ("energy", "forces", "stress")


@dataclasses.dataclass(frozen=True)
class LabelKeys:
    """User-chosen key names (``None``: use the default lookup order)."""

    energy: str | None = None
    forces: str | None = None
    stress: str | None = None
    virial: str | None = None  # eV; read as stress = -virial / volume where no stress is found
    weight: str = "config_weight"
    config_type: str = "config_type"


DEFAULT_KEYS = LabelKeys()


def _from_calc(atoms: ase.Atoms, name: str):
    calc = atoms.calc
    if calc is None or not hasattr(calc, "results"):
        return None
    return calc.results.get(name)


def _lookup(atoms: ase.Atoms, name: str, user_key: str | None):
    # a key the user names is the only place looked at: falling back to another label
    # (REF_energy beside DFT_energy, say) would train on what the user did not choose
    for key in [user_key] if user_key else [f"REF_{name}", name]:
        if key in atoms.info:
            return atoms.info[key]
        if key in atoms.arrays:
            return atoms.arrays[key]
    return None if user_key else _from_calc(atoms, name)


def _to_voigt(stress, where: str) -> np.ndarray:
    s = np.asarray(stress, np.float64).reshape(-1)
    if s.shape == (9,):
        m = s.reshape(3, 3)
        return np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])
    if s.shape == (6,):
        return s
    raise DataError(f"{where}: stress has {s.size} components, expected 6 (Voigt) or 9")


def _label_keys_of(keys: LabelKeys) -> set[str]:
    """Every info key a label may be read from: these are not carried along as metadata."""
    user = {keys.energy, keys.forces, keys.stress, keys.virial} - {None}
    return user | {f"{prefix}{name}" for name in (*LABELS, "virial") for prefix in ("", "REF_")}


def normalise_labels(
    atoms: ase.Atoms, where: str, keys: LabelKeys = DEFAULT_KEYS, require: Sequence[str] = ()
) -> ase.Atoms:
    """Validate one structure and move its labels to the canonical keys (a copy)."""
    if len(atoms) == 0:
        raise DataError(f"{where}: empty structure (no atoms)")
    if not np.all(np.isfinite(atoms.positions)):
        bad = int(np.argwhere(~np.isfinite(atoms.positions))[0, 0])
        raise DataError(f"{where}: atom {bad} has non-finite coordinates {atoms.positions[bad]}")
    if np.any(atoms.pbc):
        cell = atoms.cell.array[atoms.pbc]
        if np.linalg.matrix_rank(cell, tol=1e-8) < len(cell) or (
            np.all(atoms.pbc) and abs(atoms.cell.volume) < 1e-8
        ):
            raise DataError(f"{where}: periodic cell {atoms.cell.array.tolist()} has zero volume")
    energy = _lookup(atoms, "energy", keys.energy)
    forces = _lookup(atoms, "forces", keys.forces)
    stress = _lookup(atoms, "stress", keys.stress)
    if stress is None:
        virial = _lookup(atoms, "virial", keys.virial)
        if virial is not None and np.all(atoms.pbc):
            stress = -np.asarray(virial, np.float64).reshape(-1) / atoms.cell.volume
    out = ase.Atoms(
        numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc
    )
    # the file's other info keys (a scan's dihedral angle, an id) go along, so predictions
    # written back (``eqpot eval --output``) can be joined to the input
    labelled = _label_keys_of(keys)
    out.info.update({k: v for k, v in atoms.info.items() if k not in labelled})
    out.info["source"] = where
    out.info["config_weight"] = float(atoms.info.get(keys.weight, 1.0))
    out.info["config_type"] = str(atoms.info.get(keys.config_type, "Default"))
    if energy is not None:
        energy = float(np.asarray(energy).reshape(()))
        if not np.isfinite(energy):
            raise DataError(f"{where}: energy is {energy}")
        out.info[ENERGY] = energy
    if forces is not None:
        forces = np.asarray(forces, np.float64)
        if forces.shape != (len(atoms), 3):
            raise DataError(
                f"{where}: forces must have shape ({len(atoms)}, 3), got {forces.shape}"
            )
        if not np.all(np.isfinite(forces)):
            bad = int(np.argwhere(~np.isfinite(forces))[0, 0])
            raise DataError(f"{where}: the force on atom {bad} is {forces[bad]}")
        out.arrays[FORCES] = forces
    if stress is not None:
        out.info[STRESS] = _to_voigt(stress, where)
    for name in require:
        present = {
            "energy": ENERGY in out.info,
            "forces": FORCES in out.arrays,
            "stress": STRESS in out.info,
        }[name]
        if not present:
            hint = f" (looked for key {getattr(keys, name)!r})" if getattr(keys, name) else ""
            raise DataError(f"{where}: missing {name}{hint}")
    return out


def read_structures(path: str | os.PathLike, index: str | int = ":") -> list[ase.Atoms]:
    """All frames of ``path`` via ASE (mlearn's JSON files through
    :func:`~eqpot.datasets.mlearn.read_mlearn`), with errors that name the file and the
    frame."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if isinstance(index, str) and not re.fullmatch(r"-?\d+|-?\d*:-?\d*(:-?\d*)?", index):
        raise DataError(f"{path}: index {index!r} is neither a frame number nor a slice like 2:10")
    if looks_like_mlearn(path):
        frames = read_mlearn(path)
        selected = frames[string2index(index) if isinstance(index, str) else index]
        frames = selected if isinstance(selected, list) else [selected]
    else:
        frames = _read_with_ase(path, index)
    if not frames:
        selected = "" if str(index) == ":" else f" at index {index}"
        raise DataError(f"{path}: no structures found{selected}")
    return frames


def _read_with_ase(path: Path, index: str | int) -> list[ase.Atoms]:
    frames = []
    try:
        for frame in ase.io.iread(path, index=index):
            frames.append(frame)
    except Exception as error:  # ASE raises many types for malformed files
        raise DataError(f"{path}: frame {len(frames)}: cannot be read ({error})") from error
    return frames


def load_file(
    path: str | os.PathLike,
    *,
    index: str | int = ":",
    keys: LabelKeys = DEFAULT_KEYS,
    require: Sequence[str] = (),
) -> list[ase.Atoms]:
    """Read and normalise every frame of one file. A label key the user names must label
    at least one frame: a misspelt key would otherwise train on no such label at all."""
    frames = read_structures(path, index)
    loaded = [normalise_labels(a, f"{path}:{i}", keys, require) for i, a in enumerate(frames)]
    for name, key in (
        ("energy", keys.energy),
        ("forces", keys.forces),
        ("stress", keys.stress),
        ("stress", keys.virial),
    ):
        if key and not any(labels(a)[name] is not None for a in loaded):
            raise DataError(
                f"{path}: no structure has {name} under the key {key!r}; the first one has "
                f"info keys {sorted(frames[0].info)} and arrays keys {sorted(frames[0].arrays)}"
            )
    return loaded


def labels(atoms: ase.Atoms) -> dict:
    """The canonical labels of a loaded structure (missing ones are ``None``)."""
    return {
        "energy": atoms.info.get(ENERGY),
        "forces": atoms.arrays.get(FORCES),
        "stress": atoms.info.get(STRESS),
        "weight": atoms.info.get("config_weight", 1.0),
        "config_type": atoms.info.get("config_type", "Default"),
    }
