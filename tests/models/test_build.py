"""models.build rejects what cannot describe a model, naming the model and the key."""

import pytest

from eqpot import models


@pytest.mark.parametrize(
    ("name", "hyperparameters", "message"),
    [
        ("mace", {"num_chanels": 8}, "mace: unknown hyperparameter 'num_chanels'; did you mean"),
        ("mace", {"radial_MLP": [64, 0]}, r"mace: radial_MLP must be >= 1, got \(64, 0\)"),
        ("tensornet", {"hidden_channels": 0}, "tensornet: hidden_channels must be >= 1"),
        ("escn", {"num_layers": 0}, "escn: num_layers must be >= 1, got 0"),
        ("escn", {"mmax": -1}, "escn: mmax must be >= 0, got -1"),
    ],
)
def test_bad_hyperparameters_name_the_model_and_key(name, hyperparameters, message):
    with pytest.raises(ValueError, match=message):
        models.build(name, num_elements=1, dtype="float32", **hyperparameters)


def test_degrees_may_be_zero():
    model = models.build(
        "mace", num_elements=1, dtype="float32", num_channels=2, max_ell=0, max_L=0
    )
    assert models.Potential(model).num_parameters > 0
