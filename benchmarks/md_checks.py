"""Physics checks of the ASE calculator with a trained model (issue 6's measurements).

    python benchmarks/md_checks.py RUN_DIR [--out benchmarks/results/md_checks_cpu2.json]

RUN_DIR is a model trained on the synthetic EMT copper data (``eqpot quickstart``). Runs:

* NVE (velocity Verlet, 1 fs) of a rattled 32-atom fcc Cu cell from 300 K, for 5 ps, in
  float64 and float32: energy drift (least-squares slope) and largest deviation;
* NVT (Langevin, 600 K) for 2000 steps: compiled shapes, neighbour-list builds and the
  range of edge counts the lists held;
* a cell relaxation (FIRE, FrechetCellFilter, fmax 0.01 eV/Å) of a strained (+3 %),
  rattled cell: the lattice constant against EMT's own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ase.build
import jax
from ase.calculators.emt import EMT

from eqpot.bench import provenance
from eqpot.calculator import EqpotCalculator
from eqpot.sim import energy_drift, relax, run_md


def cu_cell(a: float = 3.6, strain: float = 0.0, rattle: float = 0.05, seed: int = 1):
    atoms = ase.build.bulk("Cu", "fcc", a=a, cubic=True).repeat(2)
    atoms.set_cell(atoms.cell * (1 + strain), scale_atoms=True)
    atoms.rattle(rattle, seed=seed)
    return atoms


def lattice_constant(atoms) -> float:
    return float((atoms.get_volume() / len(atoms) * 4) ** (1 / 3))  # 4 atoms per fcc cube


def nve(run_dir, dtype: str, steps: int) -> dict:
    atoms = cu_cell()
    atoms.calc = EqpotCalculator.from_checkpoint(run_dir, dtype=dtype)
    result = run_md(atoms, "nve", steps=steps, timestep=1.0, temperature=300.0, interval=10)
    return {
        "dtype": dtype,
        "steps": steps,
        **energy_drift(result.log, len(atoms)),
        "mean_temperature_K": float(result.log[:, 5].mean()),
        "ms_per_step": result.ms_per_step,
    }


def nvt(run_dir, steps: int) -> dict:
    atoms = cu_cell()
    calc = EqpotCalculator.from_checkpoint(run_dir)
    atoms.calc = calc
    result = run_md(atoms, "nvt", steps=steps, timestep=1.0, temperature=600.0, interval=10)
    return {
        "steps": steps,
        "temperature_K": 600.0,
        "mean_temperature_K": float(result.log[len(result.log) // 2 :, 5].mean()),
        "compile_count": calc.compile_count,
        "neighbor_list_builds": calc.neighbor_list_builds,
        "edge_count_range": calc.edge_count_range,
        "edge_budget": calc._budget.n_edge,
    }


def relaxation(run_dir) -> dict:
    reference = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True)
    reference.calc = EMT()
    relax(reference, "BFGS", fmax=1e-5, cell=True)
    atoms = cu_cell(strain=0.03, seed=2)
    atoms.calc = EqpotCalculator.from_checkpoint(run_dir)
    result = relax(atoms, "FIRE", fmax=0.01, cell=True, steps=2000)
    a_model, a_emt = lattice_constant(atoms), lattice_constant(reference)
    return {
        "converged": result.converged,
        "steps": result.steps,
        "fmax": result.fmax,
        "a_model": a_model,
        "a_emt": a_emt,
        "relative_error": (a_model - a_emt) / a_emt,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--out", default="benchmarks/results/md_checks_cpu2.json")
    parser.add_argument("--nve-steps", type=int, default=5000)
    parser.add_argument("--nvt-steps", type=int, default=2000)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    results = {
        **provenance(),
        "model": str(args.run_dir),
        "relax": relaxation(args.run_dir),
        "nvt": nvt(args.run_dir, args.nvt_steps),
        "nve": [nve(args.run_dir, dtype, args.nve_steps) for dtype in ("float64", "float32")],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
