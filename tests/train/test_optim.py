import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from eqpot import models
from eqpot.train import ConfigError, load_config
from eqpot.train.optim import make_optimizer, parameter_path, weight_decay_mask

MACE_TORCH_CHOICE = [
    "layers/*/linear_message/*",
    "layers/*/skip/*",
    "layers/*/basis/*",
    "layers/*/linear_out/*",
]


@pytest.fixture(scope="module")
def mace_params():
    pot = models.build(
        "mace",
        num_elements=2,
        atomic_energies=np.zeros(2),
        dtype="float32",
        num_channels=4,
        max_L=1,
        avg_num_neighbors=4.0,
    )
    return nnx.to_pure_dict(nnx.state(pot, nnx.Param))


def _decayed(params, patterns):
    mask = weight_decay_mask(params, patterns)
    leaves = jax.tree_util.tree_flatten_with_path(mask)[0]
    return {parameter_path(path) for path, on in leaves if on}


def test_default_decays_every_weight_matrix_and_nothing_else():
    params = {"dense": {"kernel": jnp.ones((3, 2)), "bias": jnp.ones(2)}, "flat": jnp.ones(5)}
    assert _decayed(params, None) == {"dense/kernel"}


def test_patterns_select_mace_torchs_parameters(mace_params):
    decayed = _decayed(mace_params, MACE_TORCH_CHOICE)
    assert "layers/0/linear_message/weights/1o" in decayed
    assert "layers/1/basis/weights/0e_3" in decayed
    assert not any(p.startswith(("embedding/", "readouts/")) for p in decayed)
    assert not any("/radial/" in p or "/linear_up/" in p for p in decayed)


def test_a_pattern_that_matches_nothing_lists_the_paths(mace_params):
    with pytest.raises(ConfigError, match=r"'layers/\*/linear/\*' matches no parameter.*"):
        weight_decay_mask(mace_params, ["layers/*/linear/*"])
    with pytest.raises(ConfigError, match="layers/0/linear_message/weights/0e"):
        weight_decay_mask(mace_params, ["layers/*/linear/*"])


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_only_the_chosen_parameters_decay(optimizer):
    """With zero gradients, a step changes exactly the parameters weight decay applies to."""
    config = load_config(
        None, [f"optimizer={optimizer}", "weight_decay=0.1", "weight_decay_on=[a/*]"]
    )
    params = {"a": {"w": jnp.ones(3)}, "b": {"w": jnp.ones((2, 2))}}
    opt = make_optimizer(config)
    zero_grads = jax.tree_util.tree_map(jnp.zeros_like, params)
    updates, _ = opt.update(zero_grads, opt.init(params), params)
    new = optax.apply_updates(params, updates)
    assert bool(jnp.all(new["a"]["w"] < 1.0))
    assert bool(jnp.all(new["b"]["w"] == 1.0))


def test_config_rejects_an_empty_or_non_list_pattern_set():
    with pytest.raises(ConfigError, match="weight_decay_on: give a list of path patterns"):
        load_config(None, ["weight_decay_on=[]"])
    with pytest.raises(ConfigError, match="weight_decay_on must be list"):
        load_config(None, ["weight_decay_on=layers"])
