"""eqpot MACE energy+forces+stress step on rattled fcc Cu (CPU), next to mace-torch.

The same hyperparameters as ``benchmarks/peers/mace_torch.py`` (r_max 5, 8 Bessel, max_ell
3, correlation 3, 2 interactions, radial MLP [64, 64, 64], float32); hidden irreps
64x(0e+1o) and 128x(0e+1o); 64 and 512 atoms. Two timings per case, median ms:

* ``model_ms``: the jitted prediction (energy, forces, stress) on a prebuilt graph;
* ``step_ms``: neighbour list + graph batch + prediction, what a calculator pays per MD step.

Compile time is reported separately. Usage:

    python benchmarks/mace_cpu.py OUT.json [--peer mace_torch_cpu.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import ase.build
import jax
import numpy as np

from eqpot import models
from eqpot.bench import provenance
from eqpot.graph import Budget, batch_graphs, graph_from_atoms, round_up

SIZES = {64: (2, 2, 4), 512: (4, 4, 8)}
CHANNELS = {"64x(0e+1o)": 64, "128x(0e+1o)": 128}
CUTOFF = 5.0


def build(channels: int) -> models.Potential:
    model = models.build(
        "mace",
        num_elements=1,
        r_max=CUTOFF,
        num_bessel=8,
        max_ell=3,
        max_L=1,
        num_channels=channels,
        correlation=3,
        num_interactions=2,
        radial_MLP=(64, 64, 64),
        avg_num_neighbors=40.0,
        dtype="float32",
    )
    return models.Potential(model)


def _graph(atoms, budget):
    return batch_graphs([graph_from_atoms(atoms, CUTOFF, [29])], budget, dtype=np.float32)


def measure(pot: models.Potential, atoms, repeats: int) -> dict:
    base = Budget.for_graphs([graph_from_atoms(atoms, CUTOFF, [29])])
    budget = Budget(base.n_node, round_up(int(base.n_edge * 1.05), 64), base.n_graph)  # 5% room
    graph = _graph(atoms, budget)
    start = time.perf_counter()
    jax.block_until_ready(pot(graph))
    compile_s = time.perf_counter() - start
    model_times, step_times = [], []
    rng = np.random.default_rng(0)
    for _ in range(repeats):
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        start = time.perf_counter()
        jax.block_until_ready(pot(graph))
        model_times.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        out = pot(_graph(atoms, budget))
        np.asarray(out.energy), np.asarray(out.forces), np.asarray(out.stress)
        step_times.append((time.perf_counter() - start) * 1e3)
    return dict(
        compile_s=compile_s,
        model_ms=statistics.median(model_times),
        step_ms=statistics.median(step_times),
        num_edges=int(graph.n_edge[0]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--peer", help="JSON written by benchmarks/peers/mace_torch.py")
    args = parser.parse_args()
    peer = {}
    if args.peer:
        with open(args.peer) as f:
            peer_record = json.load(f)
        peer = {(r["model"], r["atoms"]): r["median_ms"] for r in peer_record["results"]}
    results = []
    for name, channels in CHANNELS.items():
        pot = build(channels)
        for n, rep in SIZES.items():
            atoms = ase.build.bulk("Cu", "fcc", a=3.61, cubic=True).repeat(rep)
            atoms.rattle(0.05, seed=0)
            row = dict(model=name, atoms=n, **measure(pot, atoms, 20 if n == 64 else 7))
            if (name, n) in peer:
                row["mace_torch_ms"] = peer[(name, n)]
                row["ratio_step_vs_mace_torch"] = row["step_ms"] / peer[(name, n)]
            results.append(row)
            print(json.dumps(row), flush=True)
    record = dict(
        **provenance(),
        dtype="float32",
        peer=peer_record.get("peer") if args.peer else None,
        results=results,
    )
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
