"""Peer timing: mace-torch's ASE calculator on rattled fcc Cu (DESIGN §5 CPU anchor).

Runs in its own environment (mace-torch is not an eqpot dependency):

    python -m venv /tmp/mt && /tmp/mt/bin/pip install torch mace-torch==0.3.16
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 /tmp/mt/bin/python benchmarks/peers/mace_torch.py OUT.json

(The environment variable lets e3nn 0.4's constants load under torch >= 2.6.) Prints and
writes, per model and system size, the median ms of energy+forces+stress through the
calculator, and the parameter count of the 3BPA recipe.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time

import ase.build
import numpy as np
import torch
from e3nn import o3
from mace import __version__ as mace_version
from mace import modules
from mace.calculators import MACECalculator

SIZES = {64: (2, 2, 4), 512: (4, 4, 8)}
HIDDEN = {"64x(0e+1o)": "64x0e+64x1o", "128x(0e+1o)": "128x0e+128x1o"}


def build(hidden: str, num_elements: int = 1, atomic_numbers=(29,)) -> torch.nn.Module:
    return modules.ScaleShiftMACE(
        r_max=5.0,
        num_bessel=8,
        num_polynomial_cutoff=5,
        max_ell=3,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=2,
        num_elements=num_elements,
        hidden_irreps=o3.Irreps(hidden),
        MLP_irreps=o3.Irreps("16x0e"),
        gate=torch.nn.functional.silu,
        atomic_energies=np.zeros(num_elements),
        avg_num_neighbors=40.0,
        atomic_numbers=list(atomic_numbers),
        correlation=3,
        radial_MLP=[64, 64, 64],
        atomic_inter_scale=1.0,
        atomic_inter_shift=0.0,
    )


def time_calculator(model, atoms, repeats: int) -> tuple[float, list[float]]:
    calc = MACECalculator(models=[model], device="cpu", default_dtype="float32")
    atoms = atoms.copy()
    atoms.calc = calc
    rng = np.random.default_rng(0)
    times = []
    for k in range(repeats + 2):
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        start = time.perf_counter()
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
        if k >= 2:  # warm-up
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), times


def main(out: str) -> None:
    torch.set_default_dtype(torch.float32)
    results = []
    for name, hidden in HIDDEN.items():
        model = build(hidden).float()
        for n, rep in SIZES.items():
            atoms = ase.build.bulk("Cu", "fcc", a=3.61, cubic=True).repeat(rep)
            atoms.rattle(0.05, seed=0)
            median, times = time_calculator(model, atoms, repeats=20 if n == 64 else 7)
            results.append(dict(model=name, atoms=n, median_ms=median, times_ms=times))
            print(f"mace-torch {name:12s} {n:4d} atoms: {median:8.1f} ms", flush=True)
    recipe = build("256x0e+256x1o+256x2e", 4, (1, 6, 7, 8))
    record = dict(
        peer=f"mace-torch {mace_version}",
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        machine=platform.processor() or platform.machine(),
        dtype="float32",
        what="ASE calculator energy+forces+stress per step, median ms after 2 warm-up steps",
        params_3bpa_recipe=sum(p.numel() for p in recipe.parameters()),
        results=results,
        date=time.strftime("%Y-%m-%d"),
    )
    with open(out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "mace_torch_cpu.json")
