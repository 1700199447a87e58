"""Start-up cost of the commands users repeat: wall time of ``eqpot eval`` (15 and 650
structures), ``eqpot md`` (100 steps) and a first training epoch, cold and warm.

Each case runs as a fresh process. ``cold``: an empty persistent compilation cache
(``EQPOT_COMPILE_CACHE`` set to a new directory); ``warm``: the same command again on that
cache; ``off``: the cache switched off (``EQPOT_COMPILE_CACHE=off``). ``--python`` runs
another interpreter (an install of an earlier commit, say) in ``--mode uncached``: no cache
setting at all, as before the cache existed. Rows are appended to ``--out`` (JSON), so the
file keeps the history of measurements::

    python benchmarks/startup.py --label after --out benchmarks/results/startup_cpu2.json
    python benchmarks/startup.py --label before --python /tmp/old/bin/python --mode uncached

Needs the shared data (AcAc) and ``runs/quickstart`` (``eqpot quickstart``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACAC_MODEL = ROOT / "benchmarks/results/mace_acac_cpu2_c128/run"
QUICKSTART = ROOT / "runs/quickstart"


def _inputs(work: Path, data_dir: Path) -> dict[str, Path]:
    import ase.build
    import ase.io

    acac15 = work / "acac15.xyz"
    ase.io.write(acac15, ase.io.read(data_dir / "acac/test_MD_300K.xyz", ":15"))
    cu15 = work / "cu15.extxyz"
    ase.io.write(cu15, ase.io.read(ROOT / "quickstart-data/cu_emt_test.extxyz", ":15"))
    cu108 = work / "cu108.extxyz"
    ase.io.write(cu108, ase.build.bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3))
    return {"acac15": acac15, "cu15": cu15, "cu108": cu108}


def cases(work: Path, data_dir: Path, with_acac_epoch: bool) -> dict[str, list[str]]:
    files = _inputs(work, data_dir)
    out = {
        "eval acac 128ch, 15 structures": ["eval", str(ACAC_MODEL), str(files["acac15"])],
        "eval acac 128ch, 650 structures": ["eval", str(ACAC_MODEL), "acac:test"],
        "eval quickstart, 15 structures": ["eval", str(QUICKSTART), str(files["cu15"])],
        "md quickstart, 108 atoms, 100 steps": [
            "md",
            str(files["cu108"]),
            "--model",
            str(QUICKSTART),
            "--steps",
            "100",
            "--output",
            str(work / "md.extxyz"),
            "--log",
            str(work / "md.log"),
        ],
        "train quickstart, 1 epoch": [
            "train",
            str(ROOT / "train/configs/quickstart.yaml"),
            f"train_file={ROOT / 'quickstart-data/cu_emt_train.extxyz'}",
            "test_files=[]",
            "max_num_epochs=1",
            f"run_dir={work / 'runs'}",
            "name=NAME",
        ],
    }
    if with_acac_epoch:
        out["train acac 128ch float32, 1 epoch"] = [
            "train",
            str(ROOT / "train/configs/mace-acac.yaml"),
            "model_config.num_channels=128",  # the committed CPU run's width and precision
            "dtype=float32",
            "max_num_epochs=1",
            "test_files=[]",
            f"run_dir={work / 'runs'}",
            "name=NAME",
        ]
    return out


def run_case(python: str, args: list[str], env: dict, name: str, cwd: Path) -> dict:
    """One command in a fresh process, from ``cwd`` (not the checkout: ``python -m`` puts
    the working directory first on the path, which would shadow another install)."""
    args = [a.replace("NAME", name) for a in args]
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "eqpot.cli", *args], env=env, capture_output=True, text=True, cwd=cwd
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr}")
    compile_line = re.findall(r"^compil\w+: .*$", done.stdout, re.MULTILINE)
    return {"wall_s": round(wall, 2), "compile_line": compile_line[-1] if compile_line else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="e.g. before / after")
    parser.add_argument("--python", default=sys.executable, help="interpreter with eqpot")
    parser.add_argument("--mode", choices=("cached", "uncached"), default="cached")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--acac-epoch", action="store_true", help="also the AcAc recipe")
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("--commit", help="the commit --python runs (default: this checkout's)")
    parser.add_argument("--out", type=Path, default=Path("startup.json"))
    args = parser.parse_args()
    from eqpot.bench import provenance

    record = json.loads(args.out.read_text()) if args.out.is_file() else {"rows": []}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    meta = dict(
        **provenance(), label=args.label, commit=args.commit or commit, interpreter=args.python
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION")}
        env["EQPOT_DATA"] = str(args.data_dir)
        for k, (case, command) in enumerate(cases(work, args.data_dir, args.acac_epoch).items()):
            if args.only and args.only not in case:
                continue
            modes = ["uncached", "uncached"] if args.mode == "uncached" else ["cold", "warm"]
            case_env = dict(env)
            if args.mode == "cached":
                case_env["EQPOT_COMPILE_CACHE"] = str(work / f"cache{k}")
            for i, mode in enumerate(modes):
                row = run_case(args.python, command, case_env, f"run{k}_{i}", work)
                row.update(case=case, mode=mode, **meta)
                row["time"] = datetime.datetime.now().isoformat(timespec="seconds")
                print(json.dumps(row), flush=True)
                record["rows"].append(row)
                args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
