"""Time turning a dataset into padded batches: neighbour lists, then batching.

Usage: python benchmarks/batching.py [--dataset acac] [--split train] [--cutoff 5.0]
       [--batch-size 5] [--out benchmarks/results/batching_<host>.json]

Prints and (optionally) writes JSON with the wall times (median of --repeats runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from eqpot import datasets
from eqpot import graph as eg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="acac")
    parser.add_argument("--split", default="train")
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    t0 = time.perf_counter()
    structures = datasets.load(args.dataset, args.split, require=("energy", "forces"))
    t_read = time.perf_counter() - t0
    type_map = sorted({int(z) for a in structures for z in a.numbers})
    build, batch = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        graphs = [
            eg.graph_from_atoms(
                a,
                args.cutoff,
                type_map,
                energy=a.info["REF_energy"],
                forces=a.arrays["REF_forces"],
                source=a.info["source"],
            )
            for a in structures
        ]
        build.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        batches = list(eg.iterate_batches(graphs, args.batch_size, seed=0))
        batch.append(time.perf_counter() - t0)
    shapes = sorted({b.shape_key for b in batches})
    result = {
        "dataset": args.dataset,
        "split": args.split,
        "structures": len(structures),
        "cutoff": args.cutoff,
        "batch_size": args.batch_size,
        "batches": len(batches),
        "shapes": shapes,
        "read_s": t_read,
        "neighbour_lists_s": statistics.median(build),
        "batching_s": statistics.median(batch),
        "edges": int(np.sum([g.num_edges for g in graphs])),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": __import__("os").cpu_count(),
        "jax": jax.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
