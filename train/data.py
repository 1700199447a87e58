"""From a :class:`~eqpot.train.config.TrainConfig` to labelled graphs and the statistics a
model needs (MACE's data preparation):

* structures from a registered dataset (``eqpot data list``) or any ASE-readable file;
* a seeded train/validation split unless a validation file is given;
* the type map (atomic numbers present, sorted), isolated-atom energies ``E0s``
  (``"average"``: least squares over the training set; ``"isolated"``: the dataset's
  isolated-atom file; or an explicit ``{Z: eV}``), ``scale`` = RMS force component and
  ``shift`` = mean per-atom interaction energy, and the average number of neighbours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import ase

from eqpot import datasets
from eqpot.datasets.readers import labels
from eqpot.graph import GraphData, graph_from_atoms
from eqpot.train.config import ConfigError, TrainConfig


@dataclasses.dataclass
class Statistics:
    """What the model's energy head and message normalisation take from the data."""

    type_map: list[int]
    atomic_energies: list[float]
    scale: float
    shift: float
    avg_num_neighbors: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PreparedData:
    statistics: Statistics
    train: list[GraphData]
    valid: list[GraphData]
    tests: dict[str, list[GraphData]]


def load_structures(spec: str, split: str, data_dir: str | None) -> list[ase.Atoms]:
    """``spec`` is a dataset name, ``name:split`` or a file path."""
    name, _, explicit = spec.partition(":")
    if name in datasets.REGISTRY:
        return datasets.load(name, explicit or split, data_dir=data_dir)
    return datasets.load(spec)


def graphs_from_structures(
    structures: Sequence[ase.Atoms], r_max: float, type_map: Sequence[int]
) -> list[GraphData]:
    out = []
    for atoms in structures:
        lab = labels(atoms)
        out.append(
            graph_from_atoms(
                atoms,
                r_max,
                type_map,
                energy=lab["energy"],
                forces=lab["forces"],
                stress=lab["stress"],
                weight=lab["weight"],
                source=atoms.info.get("source", ""),
            )
        )
    return out


def _e0s(config: TrainConfig, train: list[ase.Atoms], type_map: list[int]) -> dict[int, float]:
    if isinstance(config.E0s, dict):
        e0s = {int(z): float(e) for z, e in config.E0s.items()}
    elif config.E0s == "average":
        e0s = datasets.fit_e0s(train, type_map)
    elif config.E0s == "isolated":
        name = config.train_file.partition(":")[0]
        if name not in datasets.REGISTRY:
            raise ConfigError("E0s: 'isolated' needs a registered dataset as train_file")
        e0s = datasets.isolated_atom_energies(name, config.data_dir)
    else:
        raise ConfigError(f"E0s must be 'average', 'isolated' or {{Z: eV}}, got {config.E0s!r}")
    missing = [z for z in type_map if z not in e0s]
    if missing:
        raise ConfigError(f"E0s: no isolated-atom energy for atomic numbers {missing}")
    return e0s


def prepare(config: TrainConfig) -> PreparedData:
    structures = load_structures(config.train_file, config.train_split, config.data_dir)
    if config.valid_file:
        train = structures
        valid = load_structures(config.valid_file, config.valid_split, config.data_dir)
    else:
        train, valid = datasets.split(structures, config.valid_fraction, config.seed)
    if config.max_train is not None:
        train = train[: config.max_train]
    if not train:
        raise ConfigError(f"train_file {config.train_file!r}: no training structures")
    type_map = sorted({int(z) for atoms in structures for z in atoms.numbers})
    e0s = _e0s(config, train, type_map)
    scale, shift = datasets.scale_shift(train, e0s)
    train_graphs = graphs_from_structures(train, config.r_max, type_map)
    avg = datasets.average_num_neighbors(
        [g.num_edges for g in train_graphs], [g.num_nodes for g in train_graphs]
    )
    statistics = Statistics(type_map, [e0s[z] for z in type_map], scale, shift, avg)
    tests = {
        spec: graphs_from_structures(
            load_structures(spec, "test", config.data_dir), config.r_max, type_map
        )
        for spec in config.test_files
    }
    valid_graphs = graphs_from_structures(valid, config.r_max, type_map)
    return PreparedData(statistics, train_graphs, valid_graphs, tests)
