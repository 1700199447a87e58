"""Errors of a potential on labelled graphs, parity plots and learning curves.

Metrics (eV units): energy per atom and total energy RMSE/MAE over structures with an
energy label, force RMSE/MAE over every Cartesian component of atoms with force labels,
stress RMSE/MAE over the 9 components of structures with stress labels (eV/Å^3).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from eqpot.atomic_write import atomic_write
from eqpot.datasets import LabelKeys, labels
from eqpot.graph import Budget, Graph, GraphData, bucket_budgets, iterate_batches
from eqpot.models import Potential
from eqpot.models.predict import Predictions
from eqpot.train.epoch_log import read_rows


def collect(predict: Callable[[Graph], Predictions], batches: Iterable[Graph]) -> dict:
    """Reference and predicted values of the real graphs and atoms of ``batches``, as NumPy
    arrays concatenated in order; ``predict(batch)`` gives the predictions of one batch."""
    out = {k: [] for k in ("e_ref", "e_pred", "n_atoms", "f_ref", "f_pred", "s_ref", "s_pred")}
    for batch in batches:
        pred = predict(batch)
        real = np.asarray(batch.graph_mask)
        n_node = np.asarray(batch.n_node)[real]
        has_e = np.asarray(batch.has_energy)[real]
        out["e_ref"].append(np.asarray(batch.energy)[real][has_e])
        out["e_pred"].append(np.asarray(pred.energy)[real][has_e])
        out["n_atoms"].append(n_node[has_e])
        node_ok = (
            np.asarray(batch.node_mask) & np.asarray(batch.has_forces)[np.asarray(batch.node_graph)]
        )
        out["f_ref"].append(np.asarray(batch.forces)[node_ok].ravel())
        out["f_pred"].append(np.asarray(pred.forces)[node_ok].ravel())
        has_s = real & np.asarray(batch.has_stress)
        out["s_ref"].append(np.asarray(batch.stress)[has_s].ravel())
        out["s_pred"].append(np.asarray(pred.stress)[has_s].ravel())
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def predict_graphs(
    pot: Potential,
    params,
    graphs: Sequence[GraphData],
    batch_size: int,
    budgets: Sequence[Budget] | None = None,
) -> dict:
    """:func:`collect` over ``graphs`` in batches of ``batch_size`` (padded to ``budgets``)."""
    return collect(lambda b: pot(b, params), iterate_batches(graphs, batch_size, budgets=budgets))


PREDICTION_PREFIX = "eqpot_"  # mace-torch's eval writes MACE_energy, MACE_forces, MACE_stress


def predict_structures(
    pot: Potential,
    graphs: Sequence[GraphData],
    batch_size: int,
    budgets: Sequence[Budget] | None = None,
) -> list[dict]:
    """Each graph's predictions, in the order of ``graphs`` and labelled or not:
    ``energy`` (eV), ``forces`` ``(n, 3)`` (eV/Å) and ``stress`` ``(3, 3)`` (eV/Å^3)."""
    out = []
    for batch in iterate_batches(graphs, batch_size, budgets=budgets):
        pred = pot(batch, None)
        energy, forces, stress = (np.asarray(a) for a in (pred.energy, pred.forces, pred.stress))
        node_graph, node_mask = np.asarray(batch.node_graph), np.asarray(batch.node_mask)
        for g in np.flatnonzero(np.asarray(batch.graph_mask)):
            nodes = node_mask & (node_graph == g)
            out.append({"energy": float(energy[g]), "forces": forces[nodes], "stress": stress[g]})
    return out


def write_predictions(structures: Sequence, predictions: Sequence[dict], path: Path) -> None:
    """``structures`` with their predictions as ``eqpot_energy`` (info), ``eqpot_forces``
    (arrays) and, for periodic structures, ``eqpot_stress`` (info, Voigt, ASE's sign) in
    extended XYZ; the reference labels stay as ``REF_*``. Written atomically."""
    import ase.io
    from ase.stress import full_3x3_to_voigt_6_stress

    frames = []
    for atoms, pred in zip(structures, predictions, strict=True):
        frame = atoms.copy()
        frame.info[f"{PREDICTION_PREFIX}energy"] = pred["energy"]
        frame.arrays[f"{PREDICTION_PREFIX}forces"] = np.asarray(pred["forces"], np.float64)
        if atoms.pbc.all():
            frame.info[f"{PREDICTION_PREFIX}stress"] = full_3x3_to_voigt_6_stress(pred["stress"])
        frames.append(frame)
    with atomic_write(path) as tmp:
        ase.io.write(tmp, frames, format="extxyz")


def with_config_types(name: str, structures: Sequence) -> dict[str, list]:
    """``{name: structures}``, plus ``{"name [TYPE]": part}`` for each ``config_type`` in
    the structures' ``info`` when there are several (MACE's per-config-type error table)."""
    parts: dict[str, list] = {}
    for atoms in structures:
        parts.setdefault(str(labels(atoms)["config_type"]), []).append(atoms)
    out = {name: list(structures)}
    if len(parts) > 1:
        out.update({f"{name} [{kind}]": part for kind, part in sorted(parts.items())})
    return out


def _errors(ref: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    if ref.size == 0:
        return float("nan"), float("nan")
    diff = pred - ref
    return float(np.sqrt(np.mean(diff**2))), float(np.mean(np.abs(diff)))


def metrics_from(values: dict) -> dict[str, float]:
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
    return metrics_from(predict_graphs(pot, params, graphs, batch_size))


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
) -> dict[str, dict]:
    """``eqpot eval`` from Python: the metrics of a run's checkpoint on each file or dataset
    of ``specs`` (rows as :func:`metrics_from`), and with ``by_config_type`` on each
    ``config_type`` of each. Labels are read under ``keys`` (default: the run's);
    ``plots`` receives a parity plot per labelled set; ``output`` the predictions of every
    structure (:func:`write_predictions`). All sets share padded shapes: each compiles once."""
    from eqpot.train.checkpoint import load_potential, read_model_file
    from eqpot.train.data import graphs_from_structures, load_structures

    pot = load_potential(run_dir, which, dtype=dtype)
    record = read_model_file(Path(run_dir))
    keys = keys or run_label_keys(run_dir)
    files = {spec: load_structures(spec, "test", data_dir, keys) for spec in specs}
    structure_sets = files
    if by_config_type:
        structure_sets = {
            name: part
            for spec, structures in files.items()
            for name, part in with_config_types(spec, structures).items()
        }
    type_map = record["statistics"]["type_map"]
    sets = {
        name: graphs_from_structures(structures, record["r_max"], type_map)
        for name, structures in structure_sets.items()
    }
    budgets = bucket_budgets([g for graphs in sets.values() for g in graphs], batch_size)
    rows = {}
    for name, graphs in sets.items():
        values = predict_graphs(pot, None, graphs, batch_size, budgets)
        rows[name] = metrics_from(values)
        if plots is not None and (values["e_ref"].size or values["f_ref"].size):  # labelled
            parity_plot(values, name, Path(plots) / parity_file_name(name))
    if output is not None:
        graphs = [g for spec in specs for g in sets[spec]]
        predictions = predict_structures(pot, graphs, batch_size, budgets)
        write_predictions([a for spec in specs for a in files[spec]], predictions, Path(output))
    return rows


def format_table(rows: dict[str, dict]) -> str:
    """A plain-text table: one row per set, errors in meV, meV/atom, meV/Å, meV/Å^3."""
    header = f"{'set':<28}{'n':>6}{'E meV':>10}{'E meV/at':>10}{'F meV/Å':>10}{'S meV/Å³':>10}"
    lines = [header, "-" * len(header)]
    for name, m in rows.items():
        lines.append(
            f"{name[:27]:<28}{m['num_structures']:>6}{1e3 * m['rmse_e']:>10.2f}"
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
    validation loss, and the validation energy (meV/atom) and force (meV/Å) RMSE, against
    the epoch, on log scales."""
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
    ):
        rmse_ax.plot(*column(key, 1000.0), label=label)
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
