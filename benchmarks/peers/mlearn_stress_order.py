"""Which order of ``virial_stress`` each of mlearn's JSON files uses, read from the data.

mlearn (materialsvirtuallab/mlearn, ``data/<element>/{training,test}.json``) stores VASP's
stress in kBar, compressive positive, six components whose order its docstrings do not
state reliably. Two independent readings of each element's strained "Elastic" cells:

1. *shear slot*: for a cell strained in a single shear (one off-diagonal pair of the lattice
   matrix non-zero), the slot of the largest of the three shear components;
2. *finite differences*: between neighbouring strains of one series (same mode, strain step
   at most ``--max-step``), ``E2 - E1`` against ``V sigma : d eps`` with ``sigma`` the mean
   of the two stresses read in each candidate order, ``d eps`` the symmetric part of
   ``L1^-1 L2 - 1`` (rows of ``L`` are the lattice vectors) and ``V`` the mean volume: the
   RMS residual per order (eV), beside the RMS of ``E2 - E1``.

With ``--shared`` it also checks eqpot's reader against the converted extended-XYZ copies of
the shared data directory (``mlearn/<El>_{train,test}.xyz``). Writes a JSON of all of it::

    python benchmarks/peers/mlearn_stress_order.py MLEARN_DATA_DIR \
        --shared ../shared/data --out benchmarks/results/mlearn_stress_order.json

where ``MLEARN_DATA_DIR`` holds mlearn's ``data/`` tree (a clone of the repository).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from eqpot.bench import provenance
from eqpot.datasets import load_file
from eqpot.datasets.mlearn import (
    STRESS_ORDER,
    SWAPPED_SHEAR_ORDER,
    VASP_ORDER,
    mlearn_stress_to_ase,
)
from eqpot.graph import voigt_to_matrix

CANDIDATES = {
    "xx yy zz xy yz zx": VASP_ORDER,
    "xx yy zz xy zx yz": SWAPPED_SHEAR_ORDER,
    "xx yy zz yz zx xy": ("xx", "yy", "zz", "yz", "zx", "xy"),
}
_SERIES = re.compile(r"cell, mode (\d+), strain ([-+\d.]+)")


def stress_matrix(virial_stress, order) -> np.ndarray:
    """ASE-sign stress (eV/Å³) as a 3x3 matrix, the components read in ``order``."""
    return voigt_to_matrix(mlearn_stress_to_ase(virial_stress, order))


def shear_slots(entries) -> dict[str, dict[str, int]]:
    """``{"xy": {slot: count}, ...}`` over the single-shear Elastic cells."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        if entry.get("group") != "Elastic":
            continue
        lattice = np.array(entry["structure"]["lattice"]["matrix"])
        scale = np.linalg.norm(lattice, axis=1)
        pairs = {
            tuple(sorted((i, j)))
            for i in range(3)
            for j in range(3)
            if i != j and abs(lattice[i, j]) > 1e-3 * scale[i]
        }
        if len(pairs) == 1:
            (pair,) = pairs
            name = {(0, 1): "xy", (1, 2): "yz", (0, 2): "zx"}[pair]
            shear = np.abs(entry["outputs"]["virial_stress"][3:])
            out[name][str(3 + int(np.argmax(shear)))] += 1
    return {k: dict(v) for k, v in out.items()}


def finite_differences(entries, max_step: float) -> dict:
    """The RMS residual of ``E2 - E1 = V sigma : d eps`` per candidate order."""
    series = defaultdict(list)
    for entry in entries:
        match = _SERIES.search(entry.get("description", ""))
        if entry.get("group") == "Elastic" and match:
            series[(entry["num_atoms"], match[1])].append((float(match[2]), entry))
    pairs = []
    for members in series.values():
        members.sort(key=lambda m: m[0])
        for (s1, a), (s2, b) in itertools.pairwise(members):
            if s2 - s1 <= max_step + 1e-9:
                pairs.append((a, b))
    d_energy = np.array([b["outputs"]["energy"] - a["outputs"]["energy"] for a, b in pairs])
    out = {"pairs": len(pairs), "rms_dE_eV": float(np.sqrt(np.mean(d_energy**2)))}
    for label, order in CANDIDATES.items():
        predicted = []
        for a, b in pairs:
            la = np.array(a["structure"]["lattice"]["matrix"])
            lb = np.array(b["structure"]["lattice"]["matrix"])
            g = np.linalg.solve(la, lb)  # lb = la @ g
            d_eps = 0.5 * (g + g.T) - np.eye(3)
            volume = 0.5 * (abs(np.linalg.det(la)) + abs(np.linalg.det(lb)))
            sigma = 0.5 * (
                stress_matrix(a["outputs"]["virial_stress"], order)
                + stress_matrix(b["outputs"]["virial_stress"], order)
            )
            predicted.append(volume * np.sum(sigma * d_eps))
        residual = d_energy - np.array(predicted)
        out[f"rms_residual_eV[{label}]"] = float(np.sqrt(np.mean(residual**2)))
    return out


def against_shared(element: str, mlearn_dir: Path, shared: Path) -> dict:
    """Largest differences between eqpot's reading of the JSON and the shared xyz copy."""
    out = {}
    for split, json_name in (("train", "training"), ("test", "test")):
        xyz = shared / "mlearn" / f"{element}_{split}.xyz"
        if not xyz.is_file():
            continue
        ours = load_file(mlearn_dir / element / f"{json_name}.json")
        theirs = load_file(xyz)
        out[split] = {
            "structures": [len(ours), len(theirs)],
            "max_abs_stress_diff_eV_per_A3": max(
                float(np.abs(a.info["REF_stress"] - b.info["REF_stress"]).max())
                for a, b in zip(ours, theirs, strict=True)
            ),
            "max_abs_energy_diff_eV": max(
                abs(a.info["REF_energy"] - b.info["REF_energy"])
                for a, b in zip(ours, theirs, strict=True)
            ),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mlearn_data", type=Path, help="mlearn's data/ directory")
    parser.add_argument("--shared", type=Path, help="the shared data directory, to compare")
    parser.add_argument("--max-step", type=float, default=0.021, help="largest strain step")
    parser.add_argument("--out", type=Path, default=Path("mlearn_stress_order.json"))
    args = parser.parse_args()
    results = {}
    for directory in sorted(p for p in args.mlearn_data.iterdir() if p.is_dir()):
        entries = []
        for name in ("training.json", "test.json"):
            path = directory / name
            if path.is_file() and path.stat().st_size:
                entries += json.loads(path.read_text())
        if not entries:
            continue
        element = directory.name
        results[element] = {
            "structures": len(entries),
            "shear_slot": shear_slots(entries),
            "finite_differences": finite_differences(entries, args.max_step),
            "eqpot_order": " ".join(STRESS_ORDER.get(element, ("unknown",))),
        }
        if args.shared:
            results[element]["against_shared_xyz"] = against_shared(
                element, args.mlearn_data, args.shared
            )
        print(element, json.dumps(results[element]))
    record = dict(**provenance(), max_strain_step=args.max_step, elements=results)
    args.out.write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
