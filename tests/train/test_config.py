"""Config loading: defaults, overrides, and errors that name the key."""

import pytest

from eqpot.train import ConfigError, load_config
from eqpot.train.config import changed_keys
from eqpot.train.quickstart import RECIPE


def test_recipe_and_overrides():
    config = load_config(RECIPE, ["lr=0.005", "model_config.num_channels=8", "ema_decay=null"])
    assert config.lr == 0.005 and config.ema_decay is None
    assert config.model_config["num_channels"] == 8
    assert config.model_config["max_L"] == 1  # the rest of the recipe's model_config is kept


def test_unknown_key_names_the_nearest_valid_key():
    with pytest.raises(ConfigError, match=r"unknown key 'forces_weigth'.*'forces_weight'"):
        load_config(RECIPE, ["forces_weigth=10"])


def test_unknown_model_hyperparameter_names_the_nearest():
    with pytest.raises(ConfigError, match=r"num_chanels.*'num_channels'"):
        load_config(RECIPE, ["model_config.num_chanels=8"])


def test_wrong_type_and_choice():
    with pytest.raises(ConfigError, match="batch_size must be int"):
        load_config(RECIPE, ["batch_size=abc"])
    with pytest.raises(ConfigError, match="scheduler must be one of"):
        load_config(RECIPE, ["scheduler=step"])


def test_multihead_keys_are_checked():
    with pytest.raises(ConfigError, match="multihead_finetuning: needs a foundation_model"):
        load_config(RECIPE, ["multihead_finetuning=true"])
    with pytest.raises(ConfigError, match=r"'num_heads' is not a mace hyperparameter \(multihead"):
        load_config(RECIPE, ["model_config.num_heads=2"])
    with pytest.raises(ConfigError, match="replay_samples must be >= 1, got 0"):
        load_config(RECIPE, ["replay_samples=0"])


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_shipped_recipes_load():
    from pathlib import Path

    recipes = sorted((Path(RECIPE).parent).glob("*.yaml"))
    assert len(recipes) >= 1
    for path in recipes:
        load_config(path)


def test_keys_lists_every_training_key_and_model_hyperparameter(capsys):
    import dataclasses

    from eqpot import cli
    from eqpot.models import MODELS
    from eqpot.train.config import FIELDS, SET_BY_TRAINER

    assert cli.main(["train", "--keys"]) == 0
    out = capsys.readouterr().out
    listed = {line.split(":")[0].strip() for line in out.splitlines()}
    assert set(FIELDS) <= listed
    assert '  scheduler: "plateau"  (one of plateau | cosine | exponential | constant)' in out
    assert "  ema_decay: 0.99  (in [0, 1))" in out
    for _, config_cls in MODELS.values():
        for field in dataclasses.fields(config_cls):
            if field.name not in SET_BY_TRAINER:
                assert f"model_config.{field.name}" in listed


def test_invalid_yaml_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("lr: 0.01\nbatch_size: [5\nseed: 1\n")
    with pytest.raises(ConfigError, match=rf"{path}: not valid YAML \(line 3, column 5\)"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"override 'lr=\[0.1': not valid YAML"):
        load_config(None, ["lr=[0.1"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("r_max=-1", "r_max must be > 0, got -1.0"),
        ("lr=-0.1", "lr must be >= 0, got -0.1"),
        ("max_num_epochs=0", "max_num_epochs must be >= 1, got 0"),
        ("ema_decay=1.5", r"ema_decay must be in \[0, 1\), got 1.5"),
        ("lr_factor=2", r"lr_factor must be in \(0, 1\], got 2.0"),
        ("forces_weight=-1", "forces_weight must be >= 0"),
        ("huber_delta=0", "huber_delta must be > 0, got 0.0"),
        ("valid_fraction=.nan", "valid_fraction must be in"),
        ("batch_size=0", "batch_size must be >= 1, got 0"),
    ],
)
def test_out_of_range_values_name_the_key_and_the_allowed_range(override, message):
    with pytest.raises(ConfigError, match=rf"command line: {message}"):
        load_config(RECIPE, [override])


def test_every_range_belongs_to_a_numeric_key():
    from eqpot.train.config import FIELDS, RANGES

    assert {FIELDS[key].type for key in RANGES} <= {"int", "float", "int | None", "float | None"}


def test_boundary_values_that_make_sense_are_accepted():
    config = load_config(RECIPE, ["lr=0", "ema_decay=0", "lr_factor=1", "valid_fraction=0"])
    assert (config.lr, config.ema_decay, config.lr_factor) == (0.0, 0.0, 1.0)
    assert load_config(RECIPE, ["ema_decay=null", "clip_grad=null"]).clip_grad is None


def test_a_count_hyperparameter_below_one_is_an_error_at_load_time():
    with pytest.raises(ConfigError, match="model_config: mace: num_channels must be >= 1, got 0"):
        load_config(RECIPE, ["model_config.num_channels=0"])
    with pytest.raises(ConfigError, match="mace: max_ell must be >= 0, got -1"):
        load_config(RECIPE, ["model_config.max_ell=-1"])
    assert load_config(RECIPE, ["model_config.max_L=0"]).model_config["max_L"] == 0


def test_changed_keys_lists_each_difference_model_config_key_by_key():
    before = load_config(RECIPE, ["model_config.num_channels=8"])
    after = load_config(RECIPE, ["model_config.num_channels=16", "amsgrad=false"])
    assert changed_keys(before, after) == [
        "amsgrad: True -> False",
        "model_config.num_channels: 8 -> 16",
    ]
    assert changed_keys(before, before) == []
