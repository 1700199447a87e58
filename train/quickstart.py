"""The quickstart (the README's main job): synthetic EMT copper data -> small MACE -> metrics.

``quickstart(workdir)`` writes the embedded default data (``datasets.synthetic``; EMT-labelled
bulk with vacancies, surfaces, strained cells and 1200 K MD snapshots) to
``workdir/quickstart-data`` unless present, trains ``train/configs/quickstart.yaml`` into
``workdir/runs/quickstart`` and evaluates on a held-out set generated with another seed.
"""

from __future__ import annotations

from pathlib import Path

from eqpot.datasets import synthetic
from eqpot.train.config import load_config
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
