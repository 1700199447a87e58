"""Benchmark outputs: CSV and JSON rows, plots, and the fastest-product table.

``write(rows, directory, name)`` writes ``name.csv``, ``name.json``, ``name_time.png`` (time
against L per family, one panel per setting/channels/order) and ``name_pareto.png``
(expressivity against forward+backward time, with the Pareto front), and returns the
Markdown table of :func:`fastest_table`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

#: exact products that compute the same map as the peers (so2 takes a vector as x2: not comparable)
EXACT = ("cg", "gaunt_grid", "gaunt_fourier")


def _title(rows: Sequence[dict]) -> str:
    r = rows[0]
    return f"{r['device']} ({r['backend']}), JAX {r['jax']}, {r['dtype']}, {r['date']}"


def fastest_table(rows: Sequence[dict], order: str = "fwd+bwd") -> str:
    """Per setting (MIMO, channel-wise) and L: the fastest exact eqpot product and its time
    ratio to e3nn-jax's CG and S2-grid products and to cuEquivariance's CG product (its
    fastest method) measured in the same run."""
    peer_names = ("e3nn_cg", "e3nn_s2grid", "cueq_cg")
    lines = [
        f"| setting | C | L | fastest exact eqpot ({order}) | ms | / e3nn CG | / e3nn S2 grid "
        "| / cuEquivariance CG |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["setting"], r["channels"], r["L"]) for r in rows if r["order"] == order})
    for setting, c, L in keys:
        here = [
            r
            for r in rows
            if (r["setting"], r["channels"], r["L"], r["order"]) == (setting, c, L, order)
        ]
        mine = [r for r in here if r["family"] in EXACT]
        if not mine:
            continue
        best = min(mine, key=lambda r: r["median_ms"])
        peers = {}
        for r in here:
            peers[r["family"]] = min(peers.get(r["family"], float("inf")), r["median_ms"])
        ratios = [f"{best['median_ms'] / peers[p]:.2f}" if p in peers else "–" for p in peer_names]
        lines.append(
            f"| {setting} | {c} | {L} | {best['family']} ({best['impl']}) | "
            f"{best['median_ms']:.3f} | {' | '.join(ratios)} |"
        )
    return "\n".join(lines)


def plot_time(rows: Sequence[dict], path: Path) -> None:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    panels = sorted({(r["setting"], r["channels"], r["order"]) for r in rows})
    fig = Figure(figsize=(4.2 * len(panels), 3.8))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (setting, c, order) in zip(axes[0], panels, strict=True):
        mine = [r for r in rows if (r["setting"], r["channels"], r["order"]) == (setting, c, order)]
        for family in dict.fromkeys(r["family"] for r in mine):
            pts = sorted((r["L"], r["median_ms"]) for r in mine if r["family"] == family)
            style = "--" if family.startswith("e3nn") else "-"
            ax.semilogy(*zip(*pts, strict=True), "o" + style, label=family, markersize=4)
        ax.set_title(f"{setting}, C={c}, {order}, batch {mine[0]['batch']}", fontsize=9)
        ax.set_xlabel("L (max degree of the inputs)")
        ax.set_ylabel("median time (ms)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(_title(rows), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points ``(time, expressivity)`` not beaten by a faster and at least as expressive one."""
    front, best = [], -1.0
    for t, e in sorted(points, key=lambda p: (p[0], -p[1])):
        if e > best:
            front.append((t, e))
            best = e
    return front


def plot_pareto(rows: Sequence[dict], path: Path, order: str = "fwd+bwd") -> None:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    mine = [r for r in rows if r["order"] == order and r.get("expressivity") is not None]
    if not mine:
        return
    fig = Figure(figsize=(6.2, 4.4))
    ax = fig.subplots()
    for family in dict.fromkeys(r["family"] for r in mine):
        pts = [(r["median_ms"], r["expressivity"]) for r in mine if r["family"] == family]
        ax.loglog(*zip(*pts, strict=True), "o", label=family, markersize=5, alpha=0.8)
    front = pareto_front([(r["median_ms"], r["expressivity"]) for r in mine])
    ax.loglog(*zip(*front, strict=True), "k-", lw=1, label="Pareto front")
    ax.set_xlabel(f"median time, {order} (ms)")
    ax.set_ylabel("expressivity (dimension of Lin∘T∘(Lin, Lin))")
    ax.set_title(_title(mine), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write(rows: Sequence[dict], directory: str | Path, name: str = "tp") -> str:
    if not rows:
        raise ValueError("no benchmark rows to write")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(directory / f"{name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    (directory / f"{name}.json").write_text(json.dumps(list(rows), indent=1))
    plot_time(rows, directory / f"{name}_time.png")
    plot_pareto(rows, directory / f"{name}_pareto.png")
    table = fastest_table(rows)
    (directory / f"{name}_fastest.md").write_text(table + "\n")
    return table
