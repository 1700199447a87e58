"""Typed training configuration: YAML file + ``key=value`` overrides, unknown keys rejected.

Names follow mace-torch where the concept is the same (``r_max``, ``E0s``,
``energy_weight``, ``forces_weight``, ``stress_weight``, ``ema_decay``, ``batch_size``,
``max_num_epochs``, ``lr``, ``amsgrad``, ``weight_decay``, ``clip_grad``, ``stage_two``,
``start_stage_two``, ``patience``). Model hyperparameters live under ``model_config`` and are
checked against the chosen model's own fields (:func:`eqpot.models.build`).

    config = load_config("train/configs/quickstart.yaml", ["lr=0.005", "batch_size=8"])
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import yaml

from eqpot.atomic_write import atomic_write
from eqpot.datasets.statistics import SCALINGS
from eqpot.suggest import did_you_mean


class ConfigError(ValueError):
    """A configuration problem, naming the key and where it came from."""


@dataclasses.dataclass
class TrainConfig:
    # run
    name: str = "run"
    run_dir: str = "runs"
    seed: int = 0
    dtype: str = "float64"
    # data: a registered dataset name (eqpot data list) or a file path
    train_file: str = "acac"
    train_split: str = "train"
    valid_file: str | None = None
    valid_split: str = "train"
    valid_fraction: float = 0.1
    test_files: list = dataclasses.field(default_factory=list)  # "name:split" or paths
    data_dir: str | None = None
    max_train: int | None = None
    # label keys in the files, mace-torch's names (None: REF_<label>, <label>, then the
    # results of the file's calculator); config_type_weights scale each config_type's loss
    energy_key: str | None = None
    forces_key: str | None = None
    stress_key: str | None = None
    virials_key: str | None = None
    config_type_weights: dict = dataclasses.field(default_factory=dict)
    # "average" (least squares), "isolated", {Z or element: eV} or a .json file of that
    # mapping; fine-tuning: also "foundation" (its E0s) or "estimated" (fitted to the
    # energies minus the foundation's interaction energies)
    E0s: Any = "average"
    # the model's energy scale and shift from the training data: rms_forces_scaling |
    # std_scaling | no_scaling (mace-torch's options; see eqpot.datasets.scale_shift)
    scaling: str = "rms_forces_scaling"
    r_max: float = 5.0
    # model
    model: str = "mace"
    model_config: dict = dataclasses.field(default_factory=dict)
    # fine-tuning (mace-torch's foundation_model): start from the weights of another run
    # (its EMA where kept) with its architecture, r_max, type map, E0s, scale and shift
    foundation_model: str | None = None  # run directory
    foundation_which: str = "best"
    # multi-head replay fine-tuning (mace-torch's multiheads_finetuning): the fine-tuned
    # model gets a second energy head for this data ("fine_tuned"), while the foundation's
    # head ("foundation") keeps training on replay_samples structures of replay_file, so the
    # shared layers keep what the foundation learned; replay_weight scales their loss
    multihead_finetuning: bool = False
    replay_file: str | None = None  # default: the foundation's train_file
    replay_samples: int | None = None  # None: all of replay_file's training part
    replay_weight: float = 1.0
    # parameters kept fixed during training: globs over their paths, e.g. ["embedding/*",
    # "layers/0/*"] to fine-tune only the later layers (null: every parameter trains)
    freeze: list | None = None
    # loss
    energy_weight: float = 1.0
    forces_weight: float = 100.0
    stress_weight: float = 1.0
    huber_delta: float | None = None
    # optimiser and schedule
    optimizer: str = "adam"  # adam | adamw
    amsgrad: bool = True
    lr: float = 0.01
    weight_decay: float = 5e-7
    # the parameters weight decay applies to: globs over their paths, e.g.
    # "layers/*/linear_message/*"; null: every weight matrix (ndim >= 2)
    weight_decay_on: list | None = None
    clip_grad: float | None = 10.0
    scheduler: str = "plateau"  # plateau | cosine | exponential | constant
    lr_scheduler_gamma: float = 0.9993  # exponential: lr * gamma^epoch
    lr_factor: float = 0.8
    scheduler_patience: int = 50
    warmup_epochs: int = 0
    ema_decay: float | None = 0.99
    stage_two: bool = False
    start_stage_two: int | None = None  # epoch; default: 80 % of max_num_epochs
    stage_two_lr: float = 1e-3
    stage_two_energy_weight: float = 1000.0
    stage_two_forces_weight: float = 100.0
    stage_two_stress_weight: float | None = None  # None: stress_weight
    # loop
    batch_size: int = 5
    valid_batch_size: int = 10
    num_buckets: int = 3  # padded shapes per batch size: more pad less and compile more
    max_num_epochs: int = 100
    eval_interval: int = 1
    checkpoint_interval: int = 1  # epochs between checkpoints of best and last (and at the end)
    patience: int | None = None  # early stopping, in evaluations
    # seconds for the whole run, final evaluation included: training stops after the epoch
    # past which another epoch and the final evaluation (at the validation rate) do not fit
    max_time: float | None = None
    progress: bool = True
    tensorboard: bool = True  # event files in run_dir/name/tensorboard (tensorboardX)


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
SET_BY_TRAINER = (
    "num_elements",
    "r_max",
    "dtype",
    "num_heads",
)  # model fields taken from the data/top level
FROM_DATA = {"avg_num_neighbors": "the training set's mean neighbour count unless given"}
# the values each numeric key may take: (lower, upper, lower included, upper included)
RANGES = {
    key: bounds
    for bounds, keys in {
        (1, None, True, False): "batch_size valid_batch_size num_buckets eval_interval "
        "checkpoint_interval max_num_epochs max_train replay_samples",
        (0, None, True, False): "lr stage_two_lr weight_decay energy_weight forces_weight "
        "stress_weight stage_two_energy_weight stage_two_forces_weight stage_two_stress_weight "
        "scheduler_patience warmup_epochs patience start_stage_two replay_weight",
        (0, None, False, False): "r_max clip_grad huber_delta max_time",
        (0, 1, True, False): "valid_fraction ema_decay",
        (0, 1, False, True): "lr_factor lr_scheduler_gamma",
    }.items()
    for key in keys.split()
}
CHOICES = {
    "optimizer": ("adam", "adamw"),
    "scheduler": ("plateau", "cosine", "exponential", "constant"),
    "dtype": ("float32", "float64"),
    "scaling": SCALINGS,
    "foundation_which": ("best", "last"),
}


def _coerce(key: str, value, where: str):
    hint = typing.get_type_hints(TrainConfig)[key]
    allowed = [t for t in typing.get_args(hint)] or [hint]
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{where}: {key} may not be null")
    for t in allowed:
        if t is float and isinstance(value, str):
            try:  # YAML 1.1 reads "1e-3" (no dot) as a string
                return float(value)
            except ValueError:
                continue
        if t is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool, list, dict) and isinstance(value, t):
            return value
        if t is Any:
            return value
    names = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
    raise ConfigError(f"{where}: {key} must be {names}, got {value!r}")


def _apply(config: dict, updates: dict, where: str) -> None:
    for key, value in updates.items():
        if key not in FIELDS:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, FIELDS)}")
        value = _coerce(key, value, where)
        if key in CHOICES and value not in CHOICES[key]:
            raise ConfigError(f"{where}: {key} must be one of {CHOICES[key]}, got {value!r}")
        if key in RANGES and value is not None:
            _check_range(key, value, RANGES[key], where)
        if key == "config_type_weights":
            _check_weights(value, f"{where}: {key}")
        if key in ("weight_decay_on", "freeze") and value is not None:
            _check_patterns(value, f"{where}: {key}")
        if key == "model_config":
            config.setdefault("model_config", {}).update(value)
        else:
            config[key] = value


def _check_range(key: str, value, bounds: tuple, where: str) -> None:
    lower, upper, lower_in, upper_in = bounds
    above = value >= lower if lower_in else value > lower
    below = upper is None or (value <= upper if upper_in else value < upper)
    if not (above and below):  # also catches NaN
        raise ConfigError(f"{where}: {key} must be {_allowed(key)}, got {value!r}")


def _allowed(key: str) -> str | None:
    """The values ``key`` may take, as the errors and ``describe_keys`` state them."""
    if key in CHOICES:
        return "one of " + " | ".join(CHOICES[key])
    if key not in RANGES:
        return None
    lower, upper, lower_in, upper_in = RANGES[key]
    if upper is None:
        return f"{'>=' if lower_in else '>'} {lower}"
    return f"in {'[' if lower_in else '('}{lower}, {upper}{']' if upper_in else ')'}"


def _check_weights(weights: dict, where: str) -> None:
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
            raise ConfigError(f"{where}: {name!r} must have a number >= 0, got {weight!r}")


def _check_patterns(patterns: list, where: str) -> None:
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ConfigError(f"{where}: give a list of path patterns, got {patterns!r}")


def _parse_yaml(text: str, where: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML{at}: {problem}") from None


def parse_overrides(overrides: list[str]) -> dict:
    """``["lr=0.01", "model_config.num_channels=8"]`` -> nested dict (values parsed as YAML)."""
    out: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, text = item.split("=", 1)
        value = _parse_yaml(text, f"override {item!r}") if text else None
        if key.startswith("model_config."):
            out.setdefault("model_config", {})[key.split(".", 1)[1]] = value
        else:
            out[key] = value
    return out


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> TrainConfig:
    """Defaults <- YAML file <- command-line overrides, every key validated."""
    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        loaded = _parse_yaml(path.read_text(), str(path)) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of keys to values")
        _apply(values, loaded, str(path))
    _apply(values, parse_overrides(list(overrides)), "command line")
    config = TrainConfig(**values)
    _check_model_config(config)
    if config.multihead_finetuning and not config.foundation_model:
        raise ConfigError("multihead_finetuning: needs a foundation_model to fine-tune")
    return config


def _check_model_config(config: TrainConfig) -> None:
    from eqpot.models import MODELS, check_counts

    if config.model not in MODELS:
        hint = did_you_mean(config.model, MODELS)
        raise ConfigError(f"model: unknown model {config.model!r}{hint}")
    fields = {f.name for f in dataclasses.fields(MODELS[config.model][1])}
    for key in config.model_config:
        if key not in fields or key in SET_BY_TRAINER:
            detail = " (set at the top level)" if key in ("r_max", "dtype") else ""
            if key == "num_heads":
                detail = " (multihead_finetuning=true gives a fine-tuned model two heads)"
            raise ConfigError(
                f"model_config: {key!r} is not a {config.model} hyperparameter"
                f"{detail}{did_you_mean(key, fields)}"
            )
    try:
        check_counts(config.model, config.model_config)
    except ValueError as error:
        raise ConfigError(f"model_config: {error}") from None


def _default(field: dataclasses.Field):
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def describe_keys() -> str:
    """Every training key with its default, then each model's ``model_config`` keys with
    theirs (the ones the trainer sets itself, like ``num_elements``, left out)."""
    from eqpot.models import MODELS

    def show(name: str, field: dataclasses.Field) -> str:
        if field.name in FROM_DATA:
            return f"  {name}: {FROM_DATA[field.name]}"
        allowed = _allowed(field.name) if name == field.name else None
        values = f"  ({allowed})" if allowed else ""
        return f"  {name}: {json.dumps(_default(field))}{values}"  # JSON is YAML

    lines = ["training keys (default, allowed values):"]
    lines += [show(name, f) for name, f in FIELDS.items()]
    for model, (_, config_cls) in MODELS.items():
        lines.append(f"model_config keys of model={model} (default):")
        lines += [
            show(f"model_config.{f.name}", f)
            for f in dataclasses.fields(config_cls)
            if f.name not in SET_BY_TRAINER
        ]
    return "\n".join(lines)


def to_dict(config: TrainConfig) -> dict:
    return dataclasses.asdict(config)


def changed_keys(before: TrainConfig, after: TrainConfig) -> list[str]:
    """``"key: old -> new"`` for each key whose value differs (``model_config`` key by key)."""

    def flat(config: TrainConfig) -> dict:
        values = to_dict(config)
        model = values.pop("model_config")
        return values | {f"model_config.{k}": v for k, v in model.items()}

    old, new = flat(before), flat(after)
    return [
        f"{key}: {old.get(key, '(unset)')!r} -> {new.get(key, '(unset)')!r}"
        for key in dict.fromkeys([*old, *new])
        if old.get(key, "(unset)") != new.get(key, "(unset)")
    ]


def save_config(config: TrainConfig, path: Path) -> None:
    with atomic_write(path) as tmp:  # a resume reads it back: never half written
        tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
