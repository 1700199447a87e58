"""The quickstart (the README's main job): synthetic EMT copper data -> small MACE -> metrics.

``quickstart(workdir)`` writes the embedded default data (``datasets.synthetic``; EMT-labelled
bulk with vacancies, surfaces, strained cells and 1200 K MD snapshots) to
``workdir/quickstart-data`` unless present, trains ``train/configs/quickstart.yaml`` into
``workdir/runs/quickstart`` and evaluates on a held-out set generated with another seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from eqpot.datasets import synthetic
from eqpot.train.config import load_config, to_dict
from eqpot.train.epoch_log import read_rows
from eqpot.train.trainer import Result, fit

RECIPE = Path(__file__).parent / "configs" / "quickstart.yaml"
TRAIN_SIZE, TEST_SIZE = 8, 3  # structures per kind


def ensure_data(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    train, test = directory / "cu_emt_train.extxyz", directory / "cu_emt_test.extxyz"
    if not train.exists():
        synthetic.synthesize(train, ("Cu",), num_per_kind=TRAIN_SIZE, seed=0)
    if not test.exists():
        synthetic.synthesize(test, ("Cu",), num_per_kind=TEST_SIZE, seed=1)
    return train, test


def quickstart(
    workdir: str | Path = ".", overrides: list[str] = (), resume: bool = False, log=print
) -> Result:
    workdir = Path(workdir)
    train, test = ensure_data(workdir / "quickstart-data")
    config = load_config(
        RECIPE,
        [f"train_file={train}", f"test_files=[{test}]", f"run_dir={workdir / 'runs'}", *overrides],
    )
    return fit(config, resume=resume, log=log)


#: config keys that name places or the terminal, not what is trained
_LOCAL_KEYS = ("train_file", "test_files", "run_dir", "progress")


def _newest_source() -> float:
    root = Path(__file__).resolve().parents[1]  # the checkout (editable install)
    sources = [
        p for d in ("eqpot", "train", "datasets", "kernels") for p in (root / d).rglob("*.py")
    ]
    return max(p.stat().st_mtime for p in [*sources, RECIPE])


def finished_run(workdir: str | Path = ".") -> Result | None:
    """The quickstart run in ``workdir/runs/quickstart`` if it finished, trained what the
    recipe says now (paths aside) and is newer than every source file of this checkout;
    otherwise None. Lets the tests examine the run the README's main job just made instead
    of training the same model again."""
    run_dir = Path(workdir) / "runs" / "quickstart"
    metrics, saved = run_dir / "metrics.json", run_dir / "config.yaml"
    if not (metrics.is_file() and saved.is_file()):
        return None
    if metrics.stat().st_mtime < _newest_source():
        return None
    current = to_dict(load_config(RECIPE))
    previous = yaml.safe_load(saved.read_text())
    if any(current[k] != previous.get(k) for k in current if k not in _LOCAL_KEYS):
        return None
    epochs = len(read_rows(run_dir / "metrics.csv"))
    return Result(run_dir, json.loads(metrics.read_text()), epochs)
