"""What the training tests share: a tiny MACE on the quickstart's EMT data."""

from pathlib import Path

from eqpot.train.config import TrainConfig, load_config
from eqpot.train.quickstart import RECIPE

TINY = [
    "model_config.num_channels=4",
    "model_config.radial_MLP=[8]",
    "model_config.MLP_irreps=4",
    "max_num_epochs=4",
    "num_buckets=1",  # one shape per batch size: a third of the compilations
    "progress=false",
]


def tiny_config(
    run_dir: Path, data: tuple[Path, Path], name: str, extra: list[str] = ()
) -> TrainConfig:
    """The quickstart recipe at tiny size on ``data`` (train and test file), run
    ``run_dir/name``, then the overrides ``extra``."""
    train, test = data
    return load_config(
        RECIPE,
        [
            f"train_file={train}",
            f"test_files=[{test}]",
            f"run_dir={run_dir}",
            f"name={name}",
            *TINY,
            *extra,
        ],
    )


def shifted_copy(source: Path, out: Path, offset: float) -> Path:
    """``source``'s structures with ``offset`` eV per atom added to their energies (as
    another reference calculation would), written to ``out``."""
    import ase.io

    frames = ase.io.read(source, ":")
    for atoms in frames:
        atoms.info["REF_energy"] += offset * len(atoms)
    ase.io.write(out, frames, format="extxyz")
    return out


def multihead_overrides(foundation: Path, train_file: Path) -> list[str]:
    """One epoch of multi-head fine-tuning of ``foundation`` on ``train_file``, replaying
    27 structures of the foundation's data, with E0s estimated for the new head."""
    return [
        "multihead_finetuning=true",
        f"foundation_model={foundation}",
        "E0s=estimated",
        f"train_file={train_file}",
        "replay_samples=27",
        "max_num_epochs=1",
    ]
