"""eqpot's trainer against mace-torch's on the same recipe: validation curves and test errors.

Both runs train MACE on AcAc (450/50 split of train_300K, test_MD_300K) with the recipe of
``train/configs/mace-acac.yaml`` at a reduced width so that they fit a CPU session:

    # mace-torch 0.3.16 in its own environment, in an empty directory
    bash benchmarks/peers/mace_torch_acac.sh 40 30 > mace.log 2>&1
    # eqpot, the same hyperparameters
    eqpot train train/configs/mace-acac.yaml run_dir=RUNS model_config.num_channels=32 \\
        model_config.max_L=1 max_num_epochs=40 start_stage_two=30 progress=false
    python benchmarks/training_vs_mace_torch.py mace.log RUNS/mace-acac OUT.json --plot OUT.png

This reads mace-torch's log (per-epoch validation RMSE, total energy in meV and forces in
meV/Å; its test table) and eqpot's ``metrics.csv`` and ``metrics.json``, and writes both
curves and the test errors side by side. The validation sets differ (each code draws its own
random 10 %); the test set is the same 650 structures.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import re
from pathlib import Path

EPOCH = re.compile(r"Epoch (\d+): .*RMSE_E=\s*([\d.]+) meV, RMSE_F=\s*([\d.]+) meV")
TEST_ROW = re.compile(r"\|\s*300K_MD_Default\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|")
ACAC_ATOMS = 15


def mace_torch_curve(log: Path) -> tuple[list[dict], dict]:
    text = log.read_text()
    curve = [
        {"epoch": int(e) + 1, "valid_rmse_e_meV": float(ev), "valid_rmse_f_meV_A": float(f)}
        for e, ev, f in EPOCH.findall(text)
    ]
    tests = TEST_ROW.findall(text)
    if not curve or not tests:
        raise SystemExit(f"{log}: no per-epoch lines or no test table (is it a finished run?)")
    e, f = tests[-1]  # the last table: the stage-two model
    return curve, {"rmse_e_meV": float(e), "rmse_f_meV_A": float(f)}


def eqpot_curve(run: Path) -> tuple[list[dict], dict]:
    with open(run / "metrics.csv") as handle:
        curve = [
            {
                "epoch": int(row["epoch"]),
                "valid_rmse_e_meV": 1e3 * ACAC_ATOMS * float(row["valid_rmse_e_per_atom"]),
                "valid_rmse_f_meV_A": 1e3 * float(row["valid_rmse_f"]),
                "epoch_time_s": float(row["epoch_time_s"]),
            }
            for row in csv.DictReader(handle)
        ]
    test = json.loads((run / "metrics.json").read_text())["acac:test"]
    return curve, {"rmse_e_meV": 1e3 * test["rmse_e"], "rmse_f_meV_A": 1e3 * test["rmse_f"]}


def plot(record: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for name, style in (("mace-torch", "o-"), ("eqpot", "s-")):
        curve = record[name]["curve"]
        epochs = [p["epoch"] for p in curve]
        axes[0].plot(epochs, [p["valid_rmse_f_meV_A"] for p in curve], style, ms=3, label=name)
        axes[1].plot(epochs, [p["valid_rmse_e_meV"] for p in curve], style, ms=3, label=name)
    axes[0].set(xlabel="epoch", ylabel="validation force RMSE (meV/Å)", yscale="log")
    axes[1].set(xlabel="epoch", ylabel="validation energy RMSE (meV)", yscale="log")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"MACE 32x(0e+1o) on AcAc, same recipe, {record['machine']}, {record['date']}")
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mace_log", type=Path)
    parser.add_argument("eqpot_run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--machine", default="2-core CPU")
    args = parser.parse_args()
    mt_curve, mt_test = mace_torch_curve(args.mace_log)
    eq_curve, eq_test = eqpot_curve(args.eqpot_run)
    record = {
        "machine": args.machine,
        "date": datetime.date.today().isoformat(),
        "recipe": "train/configs/mace-acac.yaml with num_channels=32, max_L=1, float64",
        "mace-torch": {"curve": mt_curve, "test_MD_300K": mt_test},
        "eqpot": {"curve": eq_curve, "test_MD_300K": eq_test},
    }
    args.out.write_text(json.dumps(record, indent=1))
    if args.plot:
        plot(record, args.plot)
    for name in ("mace-torch", "eqpot"):
        t = record[name]["test_MD_300K"]
        print(f"{name:>10}: test_MD_300K {t['rmse_e_meV']:.2f} meV, {t['rmse_f_meV_A']:.2f} meV/Å")


if __name__ == "__main__":
    main()
