"""mlearn's JSON files (Zuo et al., J. Phys. Chem. A 124, 731 (2020); materialsvirtuallab/mlearn).

Each file is a list of entries::

    {"structure": <pymatgen Structure dict>, "outputs": {"energy": eV (total),
     "forces": [[eV/Å] * 3] * n, "virial_stress": [6 numbers, kBar]},
     "group": "Elastic" | "Surface" | "Vacancy" | "AIMD-NVT" | ..., "element": "Si",
     "description": "...", "num_atoms": n, "tag": ...}

``virial_stress`` is VASP's: kBar, positive under compression, and in an order of its six
components that is *not* the same for every element of the published set. Read from the
data itself (``benchmarks/peers/mlearn_stress_order.py``, results in
``benchmarks/results/mlearn_stress_order.json``): for each strained "Elastic" cell with a
single shear, the one non-zero shear slot; and the finite difference of the energy between
neighbouring strains of a series, ``dE = V sigma : d eps``, for each candidate order:

    Si, Ge, Li      xx yy zz xy yz zx      (VASP's OUTCAR order)
    Cu, Mo, Ni      xx yy zz xy zx yz

Si, Ge and Mo are settled by both readings (the finite differences leave an RMS residual of
0.7-1.5 % of the RMS ``dE`` in the order chosen, against 71-88 % in the other orders for Si
and Ge and 17 % for Mo); Li, Cu and Ni by the
shear slots alone (Li's shear stresses are below 1 kBar, and the Cu and Ni files hold no
neighbouring shear strains). For Si, Ge and Li the result equals the shared data's extended
XYZ copies, converted and checked separately, to 3e-17 eV/Å³.

The structures come out as ``ase.Atoms`` with ``REF_energy``, ``REF_forces`` and
``REF_stress`` in ASE's convention (eV/Å³, positive under tension, Voigt order xx yy zz yz
xz xy): ``sigma_ASE = -0.1 GPa/kBar * virial_stress``; ``config_type`` is the entry's
``group``, and ``description``/``tag`` stay in ``info``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import ase
import ase.units
import numpy as np

from .conversions import from_pymatgen
from .errors import DataError

#: the two orders of ``virial_stress`` found in the published files
VASP_ORDER = ("xx", "yy", "zz", "xy", "yz", "zx")
SWAPPED_SHEAR_ORDER = ("xx", "yy", "zz", "xy", "zx", "yz")
#: the order of each element's published file, as verified against its strained cells
STRESS_ORDER = {
    "Si": VASP_ORDER,
    "Ge": VASP_ORDER,
    "Li": VASP_ORDER,
    "Cu": SWAPPED_SHEAR_ORDER,
    "Mo": SWAPPED_SHEAR_ORDER,
    "Ni": SWAPPED_SHEAR_ORDER,
}
KBAR = 0.1 * ase.units.GPa  # eV/Å³
_ASE_VOIGT = ("xx", "yy", "zz", "yz", "zx", "xy")


def looks_like_mlearn(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a JSON file whose first entry has mlearn's ``structure`` and
    ``outputs`` (read from its start only, so a large file is not parsed twice)."""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as f:
        head = f.read(4096).decode("utf-8", "replace").lstrip()
    return head.startswith("[") and ('"outputs"' in head or '"structure"' in head)


def mlearn_stress_to_ase(virial_stress: Sequence[float], order: Sequence[str]) -> np.ndarray:
    """VASP's ``virial_stress`` (kBar, compressive positive, components in ``order``) as
    ASE's Voigt stress (eV/Å³, tensile positive, xx yy zz yz xz xy)."""
    by_name = dict(zip(order, np.asarray(virial_stress, np.float64), strict=True))
    return np.array([-KBAR * by_name[name] for name in _ASE_VOIGT])


def read_mlearn(
    path: str | os.PathLike, stress_order: Sequence[str] | None = None
) -> list[ase.Atoms]:
    """Every entry of an mlearn JSON file as labelled ``ase.Atoms`` (see the module's
    docstring). ``stress_order`` names the six components of ``virial_stress`` (e.g.
    :data:`VASP_ORDER`); by default it is the verified order of the entry's element
    (:data:`STRESS_ORDER`), and an element not there is an error unless it is given."""
    if stress_order is not None and sorted(stress_order) != sorted(VASP_ORDER):
        raise ValueError(f"stress_order must order {VASP_ORDER}, got {tuple(stress_order)}")
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot be read as mlearn JSON ({error})") from error
    if not isinstance(entries, list):
        raise DataError(f"{path}: mlearn JSON is a list of entries, got {type(entries).__name__}")
    return [_entry_atoms(e, f"{path}:{i}", stress_order) for i, e in enumerate(entries)]


def _entry_atoms(entry, where: str, stress_order) -> ase.Atoms:
    from pymatgen.core import Structure

    if not isinstance(entry, dict) or "structure" not in entry or "outputs" not in entry:
        raise DataError(f"{where}: an mlearn entry needs 'structure' and 'outputs'")
    try:
        atoms = from_pymatgen(Structure.from_dict(entry["structure"]))
    except Exception as error:  # pymatgen raises many types for a malformed dict
        raise DataError(f"{where}: 'structure' is not a pymatgen Structure ({error})") from error
    outputs = entry["outputs"]
    if outputs.get("energy") is not None:
        atoms.info["REF_energy"] = float(outputs["energy"])
    if outputs.get("forces") is not None:
        atoms.arrays["REF_forces"] = np.asarray(outputs["forces"], np.float64).reshape(-1, 3)
    if outputs.get("virial_stress") is not None:
        order = stress_order or _element_order(entry, atoms, where)
        atoms.info["REF_stress"] = mlearn_stress_to_ase(outputs["virial_stress"], order)
    atoms.info["config_type"] = str(entry.get("group", "Default"))
    for key in ("description", "tag"):
        if entry.get(key) is not None:
            atoms.info[key] = str(entry[key])
    return atoms


def _element_order(entry: dict, atoms: ase.Atoms, where: str) -> tuple[str, ...]:
    element = entry.get("element") or "".join(sorted(set(atoms.get_chemical_symbols())))
    if element not in STRESS_ORDER:
        raise DataError(
            f"{where}: the order of virial_stress for {element!r} is not known (verified for "
            f"{', '.join(sorted(STRESS_ORDER))}); read the file with "
            "eqpot.datasets.read_mlearn(path, stress_order=(...)) after checking it against "
            "the file's strained cells"
        )
    return STRESS_ORDER[element]
