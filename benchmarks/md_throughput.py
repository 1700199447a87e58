"""MD throughput of the ASE calculator: ms per energy+forces+stress step against system size.

    python benchmarks/md_throughput.py OUT.json [--sizes 64 256 512] [--models ...]
        [--peer mace_torch.json] [--plot OUT.png]

Rattled fcc Cu (a = 3.61 Å, cubic cells repeated) with untrained float32 models, r_max 5 Å:

* ``mace-small``: MACE 64x(0e+1o), max_ell 3, correlation 3, 2 interactions, 8 Bessel,
  radial MLP [64, 64, 64] (DESIGN §5's CPU anchor; mace-torch's peer numbers use the same);
* ``mace-medium``: the same with 128x(0e+1o);
* ``tensornet``: 128 channels, 2 layers, 32 radial functions;
* ``escn``: 64 sphere channels, lmax 3, mmax 2, 2 layers.

Each step moves every atom by ~1e-3 Å and asks the calculator for energy, forces and
stress, as an MD step does (neighbour-list skin 0 = a fresh list each step, or ``--skins``
like 0.5: the list is reused until an atom moved skin/2). Reported: the median ms
over ``repeats`` steps after the first (``compile_s`` is the first call), atom-steps/s, edge
count, and, with ``--peer``, the ratio to mace-torch's calculator at the same size.
"""

from __future__ import annotations

import argparse
import itertools
import json

from eqpot.bench import provenance
from eqpot.bench.model import STEP_MODELS, fcc_copper, md_step, step_potential

PEER_NAMES = {"mace-small": "64x(0e+1o)", "mace-medium": "128x(0e+1o)"}


def plot(record: dict, path: str) -> None:
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    skins = sorted({r["skin"] for r in record["results"]})
    names = dict.fromkeys(r["model"] for r in record["results"])
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, name in zip(colors, names, strict=False):
        for skin in skins:
            rows = [r for r in record["results"] if r["model"] == name and r["skin"] == skin]
            if not rows:
                continue
            label = name if len(skins) == 1 else f"{name}, skin {skin} Å"
            style = "o-" if skin == skins[-1] else "s:"
            x, y = [r["atoms"] for r in rows], [r["ms_per_step"] for r in rows]
            ax.loglog(x, y, style, color=color, label=label)
        peer = [r for r in record["results"] if r["model"] == name and "mace_torch_ms" in r]
        if peer:
            x, y = [r["atoms"] for r in peer], [r["mace_torch_ms"] for r in peer]
            ax.loglog(x, y, "x--", color=color, label=f"mace-torch {PEER_NAMES[name]}")
    ax.set_xlabel("atoms (fcc Cu, r_max 5 Å)")
    ax.set_ylabel("ms per step (energy+forces+stress)")
    ax.set_title(f"{record['device']}, JAX {record['jax']}, float32, {record['date']}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--models", nargs="+", default=list(STEP_MODELS), choices=list(STEP_MODELS))
    parser.add_argument("--skins", type=float, nargs="+", default=[0.0], help="Å")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        help="fewer repeats (at least 5) when one step is slow",
    )
    parser.add_argument("--peer", help="JSON written by benchmarks/peers/mace_torch.py")
    parser.add_argument("--plot", help="PNG of ms/step against atoms")
    args = parser.parse_args()
    peer = {}
    if args.peer:
        with open(args.peer) as f:
            peer = {(r["model"], r["atoms"]): r["median_ms"] for r in json.load(f)["results"]}
    results = []
    record = dict(
        **provenance(),
        dtype="float32",
        results=results,
    )
    for name in args.models:
        pot = step_potential(name)
        for n, skin in itertools.product(args.sizes, args.skins):
            timing = md_step(pot, fcc_copper(n), skin, args.repeats, args.max_seconds)
            row = dict(model=name, atoms=n, skin=skin, **timing)
            if (PEER_NAMES.get(name), n) in peer and skin == 0:
                row["mace_torch_ms"] = peer[(PEER_NAMES[name], n)]
                row["ratio_vs_mace_torch"] = row["ms_per_step"] / row["mace_torch_ms"]
            results.append(row)
            print(json.dumps(row), flush=True)
            with open(args.out, "w") as f:  # after every row: a cut-off run keeps its rows
                json.dump(record, f, indent=1)
    if args.plot:
        plot(record, args.plot)


if __name__ == "__main__":
    main()
