"""From a :class:`~eqpot.train.config.TrainConfig` to labelled graphs and the statistics a
model needs (MACE's data preparation):

* structures from a registered dataset (``eqpot data list``) or any ASE-readable file, their
  labels read under the config's ``energy_key``/``forces_key``/``stress_key``/``virials_key``;
* single-atom structures of ``config_type`` ``IsolatedAtom`` (mace-torch's convention; the
  tag is matched ignoring case, ``_`` and ``-``, so BOTNet's ``isolated_atom`` counts too)
  taken out of the training file: they give isolated-atom energies, not training targets;
* a seeded train/validation split unless a validation file is given;
* each structure's loss weight: its ``config_weight`` times ``config_type_weights[type]``;
* when resuming, the type map and statistics of the run continued; when fine-tuning
  (``foundation_model``), the foundation's, with ``E0s`` as mace-torch chooses them:
  ``"foundation"`` keeps its E0s, ``"estimated"`` fits them to the reference energies minus
  the foundation's interaction energies (for data from other reference calculations), and
  the choices below fit them to this data (elements it lacks keep the foundation's);
* otherwise the type map (atomic numbers present, sorted), isolated-atom energies ``E0s``
  (``"average"``: least squares over the training set; ``"isolated"``: the registered
  dataset's isolated-atom file, or the training file's ``IsolatedAtom`` structures; or
  explicit ``{Z or element: eV}``, inline or in a JSON file), ``scale`` and ``shift`` by
  the config's ``scaling`` (default: RMS force component and mean per-atom interaction
  energy), and the average number of neighbours.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import ase
import ase.data
import numpy as np

from eqpot import datasets
from eqpot.datasets.readers import DEFAULT_KEYS, LabelKeys, labels
from eqpot.graph import GraphData, graph_from_atoms
from eqpot.train.config import ConfigError, TrainConfig


@dataclasses.dataclass
class Statistics:
    """What the model's energy head and message normalisation take from the data. A model
    with several energy heads (``heads``, their names) has ``atomic_energies``, ``scale``
    and ``shift`` per head: a list of lists and two lists."""

    type_map: list[int]
    atomic_energies: list
    scale: float | list[float]
    shift: float | list[float]
    avg_num_neighbors: float
    heads: list[str] | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PreparedData:
    statistics: Statistics
    train: list[GraphData]
    valid: list[GraphData]
    tests: dict[str, list[GraphData]]


ISOLATED_ATOM = "IsolatedAtom"


def is_isolated_atom_tag(config_type: str) -> bool:
    """Whether ``config_type`` spells mace-torch's ``IsolatedAtom``: case, ``_``, ``-`` and
    spaces are ignored (``isolated_atom`` in BOTNet's files, ``Isolated-Atom``, …)."""
    return re.sub(r"[\s_-]", "", str(config_type)).lower() == ISOLATED_ATOM.lower()


#: the heads of a multi-head fine-tuned model: the foundation's (trained on the replay
#: structures) and the new data's, last (the default head of eval, md and the calculator)
HEADS = ["foundation", "fine_tuned"]
#: the test set of held-out replay structures (on the foundation head) of a multi-head run
REPLAY_TEST = "replay test"


class BaseModel(NamedTuple):
    """The model a run continues (its own when resumed, the foundation's when fine-tuning):
    ``where`` names it in errors; ``record`` is its ``model.json``; ``foundation`` is the
    foundation's run directory (None when resuming)."""

    where: str
    record: dict
    foundation: str | None = None


def label_keys(config: TrainConfig) -> LabelKeys:
    return LabelKeys(
        energy=config.energy_key,
        forces=config.forces_key,
        stress=config.stress_key,
        virial=config.virials_key,
    )


def load_structures(
    spec: str, split: str, data_dir: str | None, keys: LabelKeys = DEFAULT_KEYS
) -> list[ase.Atoms]:
    """``spec`` is a dataset name, ``name:split`` or a file path."""
    name, _, explicit = spec.partition(":")
    if name in datasets.REGISTRY:
        return datasets.load(name, explicit or split, data_dir=data_dir, keys=keys)
    return datasets.load(spec, keys=keys)


def split_isolated_atoms(structures: list[ase.Atoms]) -> tuple[list[ase.Atoms], dict[int, float]]:
    """``(the other structures, {Z: energy})`` of the single-atom ones tagged ``IsolatedAtom``
    (:func:`is_isolated_atom_tag`)."""
    rest, energies = [], {}
    for atoms in structures:
        label = labels(atoms)
        if len(atoms) == 1 and is_isolated_atom_tag(label["config_type"]):
            if label["energy"] is not None:
                energies[int(atoms.numbers[0])] = label["energy"]
        else:
            rest.append(atoms)
    return rest, energies


def graphs_from_structures(
    structures: Sequence[ase.Atoms],
    r_max: float,
    type_map: Sequence[int],
    config_type_weights: dict | None = None,
    head: int = 0,
    weight: float = 1.0,
) -> list[GraphData]:
    """Labelled graphs for energy head ``head``; a structure's weight is ``weight`` times its
    ``config_weight`` times the weight of its ``config_type`` in ``config_type_weights`` (1
    where that does not name it)."""
    type_weights = config_type_weights or {}
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
                weight=weight * lab["weight"] * float(type_weights.get(lab["config_type"], 1.0)),
                source=atoms.info.get("source", ""),
                head=head,
            )
        )
    return out


def explicit_e0s(value: dict | str) -> dict[int, float]:
    """E0s given by the user, as mace-torch takes them: ``{Z or symbol: eV}`` (``{1: -13.6,
    O: -2041.8}``) or the path of a JSON file holding that mapping."""
    where = "E0s"
    if isinstance(value, str):
        path, where = Path(value), f"E0s file {value}"
        if not path.is_file():
            raise ConfigError(f"{where} does not exist")
        try:
            value = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"{where}: not valid JSON ({error})") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping of elements to energies")
    e0s = {}
    for key, energy in value.items():
        text = str(key).strip()
        z = int(text) if text.isdigit() else ase.data.atomic_numbers.get(text)
        if z is None or not 0 < z < len(ase.data.chemical_symbols):
            raise ConfigError(f"{where}: {key!r} is neither an atomic number nor an element")
        if isinstance(energy, bool) or not isinstance(energy, int | float):
            raise ConfigError(f"{where}: the energy of {key!r} must be a number, got {energy!r}")
        e0s[z] = float(energy)
    return e0s


def _e0s(
    config: TrainConfig, train: list[ase.Atoms], type_map: list[int], in_file: dict[int, float]
) -> dict[int, float]:
    if isinstance(config.E0s, dict) or str(config.E0s).endswith(".json"):
        e0s = explicit_e0s(config.E0s)
    elif config.E0s == "average":
        e0s = datasets.fit_e0s(train, type_map)
    elif config.E0s == "isolated":
        name = config.train_file.partition(":")[0]
        if name in datasets.REGISTRY:
            e0s = datasets.isolated_atom_energies(name, config.data_dir)
        elif in_file:
            e0s = in_file
        else:
            raise ConfigError(
                f"E0s: 'isolated' needs a registered dataset as train_file, or single-atom "
                f"structures with config_type={ISOLATED_ATOM} (or isolated_atom, any case) "
                f"in {config.train_file}"
            )
    elif config.E0s in FOUNDATION_E0S:
        raise ConfigError(f"E0s: {config.E0s!r} needs a foundation_model to fine-tune")
    else:
        raise ConfigError(
            "E0s must be 'average', 'isolated', {Z or element: eV}, a .json file of that "
            "mapping, or with a foundation_model "
            f"'foundation' or 'estimated'; got {config.E0s!r}"
        )
    missing = [z for z in type_map if z not in e0s]
    if missing:
        raise ConfigError(f"E0s: no isolated-atom energy for atomic numbers {missing}")
    return e0s


def statistics_from_record(
    config: TrainConfig, base: BaseModel, structures: list[ase.Atoms]
) -> Statistics:
    """The statistics of ``base``, the model a run continues, after checking that
    ``config`` describes that model: its ``model``, ``r_max`` and every ``model_config`` key
    set equal the record's, and the data holds only its elements."""
    where, record = base.where, base.record
    differences = [
        f"{key}: {mine!r} here, {theirs!r} there"
        for key, mine, theirs in [
            ("model", config.model, record["model"]),
            ("r_max", config.r_max, record["r_max"]),
            *(
                (f"model_config.{k}", v, record["model_config"].get(k, "(its default)"))
                for k, v in config.model_config.items()
            ),
        ]
        if mine != theirs
    ]
    if differences:
        raise ConfigError(f"{where} is another model; " + "; ".join(differences))
    type_map = record["statistics"]["type_map"]
    extra = sorted({int(z) for a in structures for z in a.numbers} - set(type_map))
    if extra:
        raise ConfigError(f"{where} knows the atomic numbers {type_map}; the data also has {extra}")
    return Statistics(**record["statistics"])


FOUNDATION_E0S = ("foundation", "estimated")


def fine_tuned_e0s(
    config: TrainConfig,
    base: BaseModel,
    train: list[ase.Atoms],
    isolated: dict[int, float],
) -> list[float]:
    """The E0s of a model fine-tuned from ``base`` (per its type map), chosen by
    ``config.E0s``: ``"foundation"`` keeps the foundation's; ``"estimated"`` (mace-torch's)
    is the least-squares fit of ``E_s - (F_s - sum_Z n_sZ E0_Z^foundation)``, the reference
    energies minus the foundation's interaction energies ``F_s`` the rest of the model
    keeps predicting, so a constant per-element offset between two reference calculations
    is absorbed exactly; other choices as for a new model, fitted to ``train``. Elements
    absent from ``train`` keep the foundation's E0s."""
    stats = base.record["statistics"]
    type_map = stats["type_map"]
    foundation = dict(zip(type_map, stats["atomic_energies"], strict=True))
    if config.E0s == "foundation":
        return list(stats["atomic_energies"])
    present = sorted({int(z) for atoms in train for z in atoms.numbers})
    if config.E0s == "estimated":
        targets = _energies_minus_interaction(config, base, train, foundation)
        e0s = datasets.fit_e0s(train, present, targets)
    else:
        e0s = _e0s(config, train, present, isolated)
    return [e0s.get(z, foundation[z]) for z in type_map]


def _energies_minus_interaction(
    config: TrainConfig, base: BaseModel, train: list[ase.Atoms], foundation_e0s: dict
) -> list[float | None]:
    """Each structure's reference energy minus the foundation's interaction energy (its
    prediction less its E0s); None without an energy. Loads the foundation's weights, which
    ``Trainer.initial`` loads again: once per fine-tuning run, not on a hot path."""
    from eqpot.train.checkpoint import load_potential
    from eqpot.train.evaluate import predict_structures

    pot = load_potential(base.foundation, config.foundation_which, dtype=config.dtype)
    graphs = graphs_from_structures(train, config.r_max, base.record["statistics"]["type_map"])
    predicted = predict_structures(pot, graphs, config.valid_batch_size)  # bucketed shapes
    out = []
    for atoms, p in zip(train, predicted, strict=True):
        energy = labels(atoms)["energy"]
        reference = sum(foundation_e0s[int(z)] for z in atoms.numbers)
        out.append(None if energy is None else energy - (p.energy - reference))
    return out


def _check_config_types(config: TrainConfig, structures: list[ase.Atoms]) -> None:
    present = sorted({labels(a)["config_type"] for a in structures})
    unknown = sorted(set(config.config_type_weights) - set(present))
    if unknown:
        raise ConfigError(
            f"config_type_weights: no training or validation structure has config_type "
            f"{', '.join(map(repr, unknown))}; present: {', '.join(map(repr, present))}"
        )


def prepare(config: TrainConfig, base: BaseModel | None = None) -> PreparedData:
    """Graphs and statistics for ``config``. With ``base``, the model the run continues,
    its statistics are kept (:func:`statistics_from_record`) instead of fitted to the data.
    With ``multihead_finetuning`` the data is the fine-tuned head's and the replay
    structures are added (:func:`add_replay`)."""
    keys = label_keys(config)
    structures = load_structures(config.train_file, config.train_split, config.data_dir, keys)
    structures, isolated = split_isolated_atoms(structures)
    if config.valid_file:
        train = structures
        valid = load_structures(config.valid_file, config.valid_split, config.data_dir, keys)
        valid, _ = split_isolated_atoms(valid)
    else:
        train, valid = datasets.split(structures, config.valid_fraction, config.seed)
    _check_config_types(config, train + valid)
    if config.max_train is not None:
        train = train[: config.max_train]
    if not train:
        raise ConfigError(f"train_file {config.train_file!r}: no training structures")
    weights = config.config_type_weights
    head = len(HEADS) - 1 if config.multihead_finetuning else 0
    if base is not None:
        statistics = statistics_from_record(config, base, structures + valid)
        if statistics.heads and not (config.multihead_finetuning and base.foundation is None):
            raise ConfigError(
                f"{base.where} has the energy heads {statistics.heads}: a multi-head run "
                "resumes with multihead_finetuning=true, and fine-tuning starts from a "
                "one-head model"
            )
        if base.foundation is not None:
            e0s = fine_tuned_e0s(config, base, train, isolated)
            statistics = dataclasses.replace(statistics, atomic_energies=e0s)
        train_graphs = graphs_from_structures(
            train, config.r_max, statistics.type_map, weights, head
        )
    else:
        type_map = sorted({int(z) for atoms in structures for z in atoms.numbers})
        e0s = _e0s(config, train, type_map, isolated)
        scale, shift = datasets.scale_shift(train, e0s, config.scaling)
        train_graphs = graphs_from_structures(train, config.r_max, type_map, weights)
        avg = datasets.average_num_neighbors(
            [g.num_edges for g in train_graphs], [g.num_nodes for g in train_graphs]
        )
        statistics = Statistics(type_map, [e0s[z] for z in type_map], scale, shift, avg)
    type_map = statistics.type_map
    tests = {
        spec: graphs_from_structures(
            load_structures(spec, "test", config.data_dir, keys), config.r_max, type_map, head=head
        )
        for spec in config.test_files
    }
    valid_graphs = graphs_from_structures(valid, config.r_max, type_map, weights, head)
    data = PreparedData(statistics, train_graphs, valid_graphs, tests)
    return add_replay(config, base, data) if config.multihead_finetuning else data


def replay_file(config: TrainConfig, foundation: str | None) -> str:
    """``config.replay_file``, by default the foundation's training data as its
    ``config.yaml`` names it (``name:split`` for a registered dataset)."""
    if config.replay_file:
        return config.replay_file
    saved = Path(foundation or "") / "config.yaml"
    if foundation is None or not saved.is_file():
        missing = f": {saved} is missing" if foundation else ""
        raise ConfigError(
            f"multihead_finetuning: set replay_file (the foundation's training data){missing}"
        )
    from eqpot.train.config import load_config

    theirs = load_config(saved)
    name = theirs.train_file
    if name in datasets.REGISTRY and ":" not in name:
        name = f"{name}:{theirs.train_split}"
    return name


def add_replay(config: TrainConfig, base: BaseModel | None, data: PreparedData) -> PreparedData:
    """Multi-head replay fine-tuning: ``data`` (the fine-tuned head's) plus, for the
    foundation's head (head 0), ``replay_samples`` structures drawn (seeded) from the
    training part of ``replay_file``'s seeded split, weighted by ``replay_weight``; its
    held-out part (as many as the sample times ``valid_fraction / (1 - valid_fraction)``)
    becomes the test set ``replay test``, which shows what the foundation's
    head kept. A new run (fine-tuning a one-head foundation) gets two-head statistics: the
    foundation's E0s, scale and shift for head 0, ``data``'s for head 1."""
    spec = replay_file(config, base.foundation if base else None)
    keys = label_keys(config)
    structures, _ = split_isolated_atoms(load_structures(spec, "train", config.data_dir, keys))
    pool, held_out = datasets.split(structures, config.valid_fraction, config.seed)
    count = len(pool) if config.replay_samples is None else min(config.replay_samples, len(pool))
    chosen = np.random.default_rng(config.seed).permutation(len(pool))[:count]
    sample = [pool[i] for i in sorted(chosen)]
    ratio = config.valid_fraction / (1 - config.valid_fraction)
    held_out = held_out[: max(1, round(ratio * count))]
    if not sample:
        raise ConfigError(f"replay_file {spec!r}: no structures to replay")
    statistics = data.statistics
    if statistics.heads is None:
        statistics = two_heads(base, statistics)
    type_map = statistics.type_map
    extra = sorted({int(z) for a in sample + held_out for z in a.numbers} - set(type_map))
    if extra:
        raise ConfigError(f"replay_file {spec!r} has atomic numbers {extra} the model lacks")
    replay = graphs_from_structures(sample, config.r_max, type_map, weight=config.replay_weight)
    tests = {
        **data.tests,
        REPLAY_TEST: graphs_from_structures(held_out, config.r_max, type_map),
    }
    return PreparedData(statistics, data.train + replay, data.valid, tests)


def split_replay(data: PreparedData) -> tuple[list[GraphData], list[GraphData]]:
    """``(the new data's training graphs, the replayed ones)``; the second is empty unless
    the run is multi-head (its new data is on the last head)."""
    new = len(data.statistics.heads or [None]) - 1
    return [g for g in data.train if g.head == new], [g for g in data.train if g.head != new]


def two_heads(base: BaseModel | None, fine_tuned: Statistics) -> Statistics:
    """The statistics of a two-head model fine-tuned from ``base``, a one-head foundation:
    head 0 keeps the foundation's E0s, scale and shift, head 1 has ``fine_tuned``'s."""
    if base is None or base.foundation is None:
        raise ConfigError("multihead_finetuning: needs a foundation_model to fine-tune")
    theirs = base.record["statistics"]
    if theirs.get("heads"):
        raise ConfigError(
            f"{base.where} already has the energy heads {theirs['heads']}; multi-head "
            "fine-tuning starts from a one-head model"
        )
    return dataclasses.replace(
        fine_tuned,
        atomic_energies=[list(theirs["atomic_energies"]), list(fine_tuned.atomic_energies)],
        scale=[theirs["scale"], fine_tuned.scale],
        shift=[theirs["shift"], fine_tuned.shift],
        heads=list(HEADS),
    )
