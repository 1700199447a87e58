"""Errors of a potential on labelled graphs, parity plots and learning curves.

Metrics (eV units): energy per atom and total energy RMSE/MAE over structures with an
energy label, force RMSE/MAE over every Cartesian component of atoms with force labels,
stress RMSE/MAE over the 9 components of structures with stress labels (eV/Å^3).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from eqpot.atomic_write import atomic_write
from eqpot.datasets import LabelKeys, labels
from eqpot.graph import (
    Budget,
    Graph,
    GraphData,
    evaluation_budgets,
    iterate_batches,
    reference_totals,
)
from eqpot.models import Potential
from eqpot.models.predict import Predictions
from eqpot.train.epoch_log import read_rows


class StructurePrediction(NamedTuple):
    """One structure's predictions and its labels (``None`` where it has none): energy
    (eV), forces ``(n, 3)`` (eV/Å), stress ``(3, 3)`` (eV/Å^3)."""

    energy: float
    forces: np.ndarray
    stress: np.ndarray
    ref_energy: float | None
    ref_forces: np.ndarray | None
    ref_stress: np.ndarray | None


_BATCH_FIELDS = ("graph_mask", "node_mask", "node_graph", "energy", "forces", "stress")
_BATCH_FIELDS += ("has_energy", "has_forces", "has_stress")


def split_batch(batch: Graph, pred: Predictions) -> list[StructurePrediction]:
    """The real graphs of a padded ``batch`` and their predictions ``pred``, in batch order."""
    b = {k: np.asarray(getattr(batch, k)) for k in _BATCH_FIELDS}
    forces, stress = np.asarray(pred.forces), np.asarray(pred.stress)
    references = reference_totals(batch)  # float64: the absolute energies keep their digits
    energy = np.asarray(pred.energy, np.float64) + references
    ref_energy = b["energy"].astype(np.float64) + references
    out = []
    for g in np.flatnonzero(b["graph_mask"]):
        nodes = b["node_mask"] & (b["node_graph"] == g)
        out.append(
            StructurePrediction(
                float(energy[g]),
                forces[nodes],
                stress[g],
                float(ref_energy[g]) if b["has_energy"][g] else None,
                b["forces"][nodes] if b["has_forces"][g] else None,
                b["stress"][g] if b["has_stress"][g] else None,
            )
        )
    return out


def collect(
    predict: Callable[[Graph], Predictions], batches: Iterable[Graph]
) -> list[StructurePrediction]:
    """The predictions and labels of every real graph of ``batches``, in order;
    ``predict(batch)`` gives the predictions of one batch."""
    return [s for batch in batches for s in split_batch(batch, predict(batch))]


def predict_structures(
    pot: Potential,
    graphs: Sequence[GraphData],
    batch_size: int,
    budgets: Sequence[Budget] | None = None,
    params=None,
) -> list[StructurePrediction]:
    """:func:`collect` over ``graphs`` (labelled or not) in batches of ``batch_size``,
    padded to ``budgets``, with ``params`` (default: the potential's own)."""
    batches = iterate_batches(
        graphs, batch_size, budgets=budgets, reference_energies=pot.atomic_energies
    )
    return collect(lambda b: pot(b, params), batches)


def error_values(structures: Iterable[StructurePrediction]) -> dict:
    """The labelled values of ``structures`` as flat arrays for :func:`metrics_from` and the
    parity plots: ``e_ref``/``e_pred``/``n_atoms`` per structure with an energy,
    ``f_ref``/``f_pred`` per force component, ``s_ref``/``s_pred`` per stress component."""
    structures = list(structures)
    e = [s for s in structures if s.ref_energy is not None]
    f = [s for s in structures if s.ref_forces is not None]
    st = [s for s in structures if s.ref_stress is not None]

    def flat(arrays) -> np.ndarray:
        return np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)

    return {
        "e_ref": np.array([s.ref_energy for s in e], np.float64),
        "e_pred": np.array([s.energy for s in e], np.float64),
        "n_atoms": np.array([len(s.forces) for s in e], np.int64),
        "f_ref": flat([s.ref_forces for s in f]),
        "f_pred": flat([s.forces for s in f]),
        "s_ref": flat([s.ref_stress for s in st]),
        "s_pred": flat([s.stress for s in st]),
    }


PREDICTION_PREFIX = "eqpot_"  # mace-torch's eval writes MACE_energy, MACE_forces, MACE_stress


def write_predictions(
    structures: Sequence, predictions: Sequence[StructurePrediction], path: Path
) -> None:
    """``structures`` with their predictions as ``eqpot_energy`` (info), ``eqpot_forces``
    (arrays) and, for periodic structures, ``eqpot_stress`` (info, Voigt, ASE's sign) in
    extended XYZ; the reference labels stay as ``REF_*``. Written atomically."""
    import ase.io
    from ase.stress import full_3x3_to_voigt_6_stress

    frames = []
    for atoms, pred in zip(structures, predictions, strict=True):
        frame = atoms.copy()
        frame.info[f"{PREDICTION_PREFIX}energy"] = pred.energy
        frame.arrays[f"{PREDICTION_PREFIX}forces"] = np.asarray(pred.forces, np.float64)
        if atoms.pbc.all():
            frame.info[f"{PREDICTION_PREFIX}stress"] = full_3x3_to_voigt_6_stress(pred.stress)
        frames.append(frame)
    with atomic_write(path) as tmp:
        ase.io.write(tmp, frames, format="extxyz")


def config_type_parts(name: str, structures: Sequence) -> dict[str, list[int]]:
    """``{name: every index}``, plus ``{"name [TYPE]": indices}`` for each ``config_type``
    in the structures' ``info`` when there are several (MACE's per-config-type error table)."""
    parts: dict[str, list[int]] = {}
    for i, atoms in enumerate(structures):
        parts.setdefault(str(labels(atoms)["config_type"]), []).append(i)
    out = {name: list(range(len(structures)))}
    if len(parts) > 1:
        out.update({f"{name} [{kind}]": part for kind, part in sorted(parts.items())})
    return out


def _errors(ref: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    if ref.size == 0:
        return float("nan"), float("nan")
    diff = pred - ref
    return float(np.sqrt(np.mean(diff**2))), float(np.mean(np.abs(diff)))


def metrics_from(values: dict) -> dict[str, float]:
    """RMSE and MAE of energy (total and per atom), forces and stress, the counts and the
    RMS reference force, from the arrays of :func:`error_values`."""
    n = np.maximum(values["n_atoms"], 1)
    rmse_e, mae_e = _errors(values["e_ref"], values["e_pred"])
    rmse_epa, mae_epa = _errors(values["e_ref"] / n, values["e_pred"] / n)
    rmse_f, mae_f = _errors(values["f_ref"], values["f_pred"])
    rmse_s, mae_s = _errors(values["s_ref"], values["s_pred"])
    return {
        "num_structures": int(values["e_ref"].size),
        "rmse_e": rmse_e,
        "mae_e": mae_e,
        "rmse_e_per_atom": rmse_epa,
        "mae_e_per_atom": mae_epa,
        "rmse_f": rmse_f,
        "mae_f": mae_f,
        "rmse_stress": rmse_s,
        "mae_stress": mae_s,
        "num_force_components": int(values["f_ref"].size),
        "rms_f_ref": float(np.sqrt(np.mean(values["f_ref"] ** 2)))
        if values["f_ref"].size
        else float("nan"),
    }


def evaluate(pot: Potential, params, graphs: Sequence[GraphData], batch_size: int = 10) -> dict:
    """The metrics (:func:`metrics_from`) of ``pot`` with ``params`` on labelled ``graphs``."""
    return metrics_from(error_values(predict_structures(pot, graphs, batch_size, params=params)))


def run_label_keys(run_dir: str | os.PathLike) -> LabelKeys:
    """The label keys a run was trained with (``energy_key`` etc. of its ``config.yaml``)."""
    from eqpot.train.config import load_config
    from eqpot.train.data import label_keys

    saved = Path(run_dir) / "config.yaml"
    return label_keys(load_config(saved if saved.is_file() else None))


def evaluate_run(
    run_dir: str | os.PathLike,
    specs: Sequence[str],
    *,
    which: str = "best",
    dtype: str | None = None,
    batch_size: int = 10,
    data_dir: str | None = None,
    keys: LabelKeys | None = None,
    by_config_type: bool = False,
    plots: str | os.PathLike | None = None,
    output: str | os.PathLike | None = None,
    head: str | int | None = None,
) -> dict[str, dict]:
    """``eqpot eval`` from Python: the metrics of a run's checkpoint on each file or dataset
    of ``specs`` (rows as :func:`metrics_from`), and with ``by_config_type`` on each
    ``config_type`` of each. Labels are read under ``keys`` (default: the run's);
    ``plots`` receives a parity plot per labelled set; ``output`` the predictions of every
    structure (:func:`write_predictions`); ``head`` picks the energy head of a multi-head
    model (default: the last). Each structure is predicted once, and all sets share padded
    shapes (:func:`~eqpot.graph.evaluation_budgets`: as few as the data needs), each
    compiled once."""
    from eqpot.train.checkpoint import load_potential, read_model_file
    from eqpot.train.data import graphs_from_structures, load_structures

    pot = load_potential(run_dir, which, dtype=dtype)
    record = read_model_file(Path(run_dir))
    keys = keys or run_label_keys(run_dir)
    files = {spec: load_structures(spec, "test", data_dir, keys) for spec in specs}
    type_map = record["statistics"]["type_map"]
    graphs = {
        spec: graphs_from_structures(
            structures, record["r_max"], type_map, head=pot.head_index(head)
        )
        for spec, structures in files.items()
    }
    budgets = evaluation_budgets(list(graphs.values()), batch_size)
    rows, predictions = {}, {}
    for spec, structures in files.items():
        predictions[spec] = predict_structures(pot, graphs[spec], batch_size, budgets)
        parts = {spec: range(len(structures))}
        if by_config_type:
            parts = config_type_parts(spec, structures)
        for name, indices in parts.items():
            values = error_values(predictions[spec][i] for i in indices)
            rows[name] = metrics_from(values)
            if plots is not None and (values["e_ref"].size or values["f_ref"].size):  # labelled
                parity_plot(values, name, Path(plots) / parity_file_name(name))
    if output is not None:
        write_predictions(
            [a for structures in files.values() for a in structures],
            [p for spec_predictions in predictions.values() for p in spec_predictions],
            Path(output),
        )
    return rows


def json_safe(value):
    """``value`` with every non-finite float (a metric of a set without such labels) as
    ``None``, so ``json.dumps(..., allow_nan=False)`` writes strict JSON (``null``)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, value) -> None:
    """``value`` as strict JSON (:func:`json_safe`), written atomically."""
    with atomic_write(Path(path)) as tmp:
        tmp.write_text(json.dumps(json_safe(value), indent=1, allow_nan=False))


def format_table(rows: dict[str, dict]) -> str:
    """A plain-text table: one row per set (its whole name), errors in meV, meV/atom,
    meV/Å, meV/Å^3."""
    width = max([len("set"), *(len(name) for name in rows)]) + 2
    header = f"{'set':<{width}}{'n':>6}{'E meV':>10}{'E meV/at':>10}{'F meV/Å':>10}{'S meV/Å³':>10}"
    lines = [header, "-" * len(header)]
    for name, m in rows.items():
        lines.append(
            f"{name:<{width}}{m['num_structures']:>6}{1e3 * m['rmse_e']:>10.2f}"
            f"{1e3 * m['rmse_e_per_atom']:>10.2f}{1e3 * m['rmse_f']:>10.2f}"
            f"{1e3 * m['rmse_stress']:>10.3f}"
        )
    lines.append("(RMSE; MAE in the JSON)")
    return "\n".join(lines)


def parity_file_name(set_name: str) -> str:
    """``parity_<set>.png`` with the set's name made safe for a file name (``acac:test
    [300K_MD]`` -> ``parity_acac_test_300K_MD.png``)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(set_name).name).strip("_")
    return f"parity_{stem}.png"


def parity_plot(values: dict, title: str, path: Path) -> Path:
    """Energy-per-atom and force parity plots side by side (PNG)."""
    fig, axes = _two_panels()
    n = np.maximum(values["n_atoms"], 1)
    panels = [
        (values["e_ref"] / n, values["e_pred"] / n, "energy (eV/atom)"),
        (values["f_ref"], values["f_pred"], "force component (eV/Å)"),
    ]
    for ax, (ref, pred, label) in zip(axes, panels, strict=True):
        if ref.size:
            lo, hi = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
            ax.plot([lo, hi], [lo, hi], color="0.6", lw=1)
            ax.scatter(ref, pred, s=4, alpha=0.5)
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"predicted {label}")
    return _save(fig, title, path)


def learning_curve_plot(metrics_csv: Path, title: str, path: Path) -> Path:
    """The per-epoch log of a run (``metrics.csv``) as two panels (PNG): training and
    validation loss, and the validation energy (meV/atom) and force (meV/Å) RMSE (and a
    multi-head run's on its held-out replay structures), against the epoch, on log scales."""
    rows = read_rows(metrics_csv)

    def column(key: str, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        pairs = [(float(r["epoch"]), float(r[key]) * scale) for r in rows if r.get(key)]
        pairs = [(e, v) for e, v in pairs if np.isfinite(v)]
        return np.array([e for e, _ in pairs]), np.array([v for _, v in pairs])

    fig, (loss_ax, rmse_ax) = _two_panels()
    for key, label in (("train_loss", "training"), ("valid_loss", "validation")):
        loss_ax.plot(*column(key), label=label)
    for key, label in (
        ("valid_rmse_e_per_atom", "energy (meV/atom)"),
        ("valid_rmse_f", "forces (meV/Å)"),
        ("replay_rmse_e_per_atom", "replay, foundation head: energy (meV/atom)"),
        ("replay_rmse_f", "replay, foundation head: forces (meV/Å)"),
    ):
        epochs, values = column(key, 1000.0)
        if len(epochs):  # replay: multi-head runs only
            rmse_ax.plot(epochs, values, label=label)
    for ax, ylabel in ((loss_ax, "loss"), (rmse_ax, "validation RMSE")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    return _save(fig, title, path)


def _two_panels():
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    fig = Figure(figsize=(9, 4.2))
    return fig, fig.subplots(1, 2)


def _save(fig, title: str, path: Path) -> Path:
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
