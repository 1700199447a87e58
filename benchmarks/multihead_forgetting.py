"""Forgetting in fine-tuning: plain fine-tuning against multi-head replay fine-tuning.

A foundation trained on one molecule and reference calculation is fine-tuned on another
molecule computed with another functional, twice with the same settings: plain
(``foundation_model`` with ``E0s=estimated``) and multi-head (``multihead_finetuning=true``,
replaying structures of the foundation's training data on its own head). Both are then
evaluated on the new data's test set (the fine-tuned head) and on the foundation's test set
(the only head of the plain model; the ``foundation`` head of the multi-head one), next to
the foundation itself. Default: the 64-channel AcAc MACE of
``benchmarks/results/mace_acac_cpu2/run`` (UHF-PBE+D3/def2-SVP) fine-tuned on rMD17 ethanol
(PBE/def2-SVP; C, H, O as AcAc):

    EQPOT_DATA=../shared/data python benchmarks/multihead_forgetting.py \\
        --out benchmarks/results/multihead_forgetting_cpu2.json [energy_weight=100 ...]

Writes the metrics (meV, meV/Å; with the mean and standard deviation of the energy errors),
the settings, epoch times and provenance as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import ase.io
import numpy as np

from eqpot.bench.timing import provenance
from eqpot.datasets import labels
from eqpot.train import evaluate_run, fit, load_config
from eqpot.train.epoch_log import read_rows

FOUNDATION = "benchmarks/results/mace_acac_cpu2/run"


def fine_tune(args: argparse.Namespace, name: str, extra: list[str]) -> Path:
    overrides = [
        f"foundation_model={args.foundation}",
        f"train_file={args.new}",
        f"test_files=[{args.new_test}]",
        "E0s=estimated",
        f"max_train={args.max_train}",
        f"max_num_epochs={args.epochs}",
        f"lr={args.lr}",
        "stage_two=false",
        "scheduler=constant",
        f"run_dir={args.runs}",
        f"name={name}",
        "progress=false",
        "tensorboard=false",
        "checkpoint_interval=5",
        *args.override,
        *extra,
    ]
    config = load_config(Path(args.foundation) / "config.yaml", overrides)
    return fit(config, log=lambda *a: None).run_dir


def errors(run: Path | str, spec: str, head: str | None = None) -> dict:
    """Test errors, and the mean and spread of the energy errors: a head whose shared layers
    moved may keep its forces and shift its energies by a constant."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "predicted.extxyz"
        row = evaluate_run(run, [spec], head=head, output=output)[spec]
        frames = ase.io.read(output, ":")
    energy_errors = np.array([a.info["eqpot_energy"] - labels(a)["energy"] for a in frames])
    return {
        "rmse_e_meV": 1000 * row["rmse_e"],
        "mean_e_error_meV": 1000 * float(energy_errors.mean()),
        "std_e_error_meV": 1000 * float(energy_errors.std()),
        "rmse_f_meV_A": 1000 * row["rmse_f"],
        "mae_f_meV_A": 1000 * row["mae_f"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--foundation", default=FOUNDATION, help="run directory")
    parser.add_argument("--old-test", default="acac:test", help="the foundation's test set")
    parser.add_argument("--new", default="rmd17-ethanol:train", help="fine-tuning data")
    parser.add_argument("--new-test", default="rmd17-ethanol:test")
    parser.add_argument("--max-train", type=int, default=100)
    parser.add_argument("--replay-samples", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--runs", default=".runs/multihead_forgetting")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "override",
        nargs="*",
        help="config overrides for both fine-tunings, e.g. energy_weight=100",
    )
    args = parser.parse_args()
    runs = {
        "plain": fine_tune(args, "plain", []),
        "multihead": fine_tune(
            args,
            "multihead",
            ["multihead_finetuning=true", f"replay_samples={args.replay_samples}"],
        ),
    }
    results = {
        "foundation": {args.old_test: errors(args.foundation, args.old_test)},
        "plain": {
            args.old_test: errors(runs["plain"], args.old_test),
            args.new_test: errors(runs["plain"], args.new_test),
        },
        "multihead": {
            f"{args.old_test} [foundation head]": errors(
                runs["multihead"], args.old_test, head="foundation"
            ),
            args.new_test: errors(runs["multihead"], args.new_test),
        },
    }
    epoch_s = {
        name: statistics.median(float(r["epoch_time_s"]) for r in read_rows(run / "metrics.csv"))
        for name, run in runs.items()
    }
    record = {
        **provenance(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "runs")},
        "median_epoch_s": epoch_s,
        "results": results,
    }
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
