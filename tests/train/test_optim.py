import fnmatch

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from eqpot import models
from eqpot.train import ConfigError, load_config
from eqpot.train.optim import (
    Schedule,
    ema_update,
    frozen_labels,
    make_optimizer,
    parameter_path,
    weight_decay_mask,
)

MACE_TORCH_CHOICE = ["layers/*/linear_message/*", "layers/*/basis/*", "layers/*/linear_out/*"]


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
    assert not any(part in p for p in decayed for part in ("/radial/", "/linear_up/", "/skip/"))


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


def test_frozen_parameters_never_move_and_the_rest_trains(mace_params):
    """``freeze``: with gradients on every parameter and weight decay everywhere, steps change
    every parameter except the frozen ones, which are exactly as they were."""
    config = load_config(None, ["freeze=[embedding/*, layers/0/*]", "weight_decay=0.1"])
    opt = make_optimizer(config)
    params, state = mace_params, opt.init(mace_params)
    leaves, tree = jax.tree_util.tree_flatten(params)
    for seed in range(3):
        keys = jax.random.split(jax.random.key(seed), len(leaves))
        noise = [jax.random.normal(k, x.shape) for k, x in zip(keys, leaves, strict=True)]
        grads = jax.tree_util.tree_unflatten(tree, noise)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    before = dict(jax.tree_util.tree_flatten_with_path(mace_params)[0])
    for path, value in jax.tree_util.tree_flatten_with_path(params)[0]:
        unchanged = bool(jnp.all(value == before[path]))
        frozen = parameter_path(path).startswith(("embedding/", "layers/0/"))
        assert unchanged == frozen, parameter_path(path)


@pytest.mark.parametrize("frozen", ["layers/*", "layers/0/*"])
def test_weight_decay_applies_to_its_trained_parameters_only(mace_params, frozen):
    """The recipe's weight_decay_on beside freeze: with zero gradients a step decays the
    chosen parameters that are not frozen, and nothing else (its patterns may match frozen
    parameters alone)."""
    config = load_config(None, ["weight_decay=0.1", f"freeze=[{frozen}]"])
    config.weight_decay_on = MACE_TORCH_CHOICE
    opt = make_optimizer(config)
    zero = jax.tree_util.tree_map(jnp.zeros_like, mace_params)
    updates, _ = opt.update(zero, opt.init(mace_params), mace_params)
    leaves = jax.tree_util.tree_flatten_with_path(updates)[0]
    moved = {parameter_path(p) for p, u in leaves if bool(jnp.any(u != 0))}
    chosen = _decayed(mace_params, MACE_TORCH_CHOICE)
    assert moved == {p for p in chosen if not fnmatch.fnmatchcase(p, frozen)}


def test_freeze_patterns_must_match_and_leave_something_to_train(mace_params):
    with pytest.raises(ConfigError, match=r"freeze: 'layer/\*' matches no parameter"):
        frozen_labels(mace_params, ["layer/*"])
    with pytest.raises(ConfigError, match="matches every parameter: nothing would train"):
        frozen_labels(mace_params, ["*"])
    with pytest.raises(ConfigError, match="freeze: give a list of path patterns"):
        load_config(None, ["freeze=[]"])


def test_config_rejects_an_empty_or_non_list_pattern_set():
    with pytest.raises(ConfigError, match="weight_decay_on: give a list of path patterns"):
        load_config(None, ["weight_decay_on=[]"])
    with pytest.raises(ConfigError, match="weight_decay_on must be list"):
        load_config(None, ["weight_decay_on=layers"])


def _schedule(*overrides):
    config = load_config(None, ["lr=0.01", "stage_two_lr=0.001", *overrides])
    return Schedule(config), Schedule.initial_state()


def test_plateau_reduces_after_more_than_patience_evaluations_without_improvement():
    """torch's ReduceLROnPlateau (mode min, rel threshold 1e-4): the 3rd bad evaluation in a
    row with patience 2 multiplies the rate by lr_factor and restarts the count."""
    schedule, state = _schedule("scheduler_patience=2", "lr_factor=0.5")
    rates = []
    for loss in [1.0, 0.9, 0.89995, 0.9, 0.95, 0.95, 0.95, 0.95, 0.5]:
        state = schedule.after_evaluation(loss, state)
        rates.append(schedule.learning_rate(0, False, state))
    # 0.89995 is not a 1e-4 relative improvement over 0.9: bad evaluations 1, 2, 3 -> halve
    assert rates == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025])


def test_cosine_exponential_and_warm_up():
    cosine, state = _schedule("scheduler=cosine", "max_num_epochs=10")
    assert [cosine.learning_rate(e, False, state) for e in (0, 5, 10)] == pytest.approx(
        [0.01, 0.005, 0.0]
    )
    exponential, state = _schedule("scheduler=exponential", "lr_scheduler_gamma=0.5")
    assert exponential.learning_rate(3, False, state) == pytest.approx(0.01 / 8)
    warm, state = _schedule("scheduler=constant", "warmup_epochs=3")
    assert [warm.learning_rate(e, False, state) for e in range(5)] == pytest.approx(
        [0.0025, 0.005, 0.0075, 0.01, 0.01]
    )


def test_stage_two_holds_its_own_rate_whatever_the_stage_one_schedule():
    for scheduler in ("plateau", "cosine", "exponential", "constant"):
        schedule, state = _schedule(f"scheduler={scheduler}", "lr_scheduler_gamma=0.5")
        state = dict(state, factor=0.125)  # as after three plateau reductions
        assert schedule.learning_rate(40, True, state) == 0.001


def test_stage_two_switches_the_loss_weights_at_its_start():
    weights = ["energy_weight=1", "forces_weight=50", "stress_weight=3"]
    weights += ["stage_two_energy_weight=700", "stage_two_forces_weight=20"]
    schedule, _ = _schedule("stage_two=true", "max_num_epochs=10", *weights)
    assert [schedule.is_stage_two(e) for e in (7, 8)] == [False, True]  # default start: 80 %
    assert schedule.loss_weights(False) == (1, 50, 3)
    assert schedule.loss_weights(True) == (700, 20, 3)  # stress kept unless set
    own_stress, _ = _schedule("stage_two=true", *weights, "stage_two_stress_weight=0.5")
    assert own_stress.loss_weights(True) == (700, 20, 0.5)
    unstaged, _ = _schedule("stage_two=false", "max_num_epochs=10")
    assert not unstaged.is_stage_two(9)


def test_ema_follows_torch_ema_with_num_updates():
    """decay_n = min(decay, (1 + n) / (10 + n)): 0.1 at n = 0, then the set decay."""
    ema, params = {"w": jnp.zeros(2)}, {"w": jnp.ones(2)}
    first = ema_update(ema, params, 0, 0.99)
    np.testing.assert_allclose(first["w"], 0.9)
    later = ema_update(first, params, 10_000, 0.99)
    np.testing.assert_allclose(later["w"], 0.99 * 0.9 + 0.01, rtol=1e-6)


@pytest.mark.parametrize("recipe", ["mace-acac", "mace-3bpa", "mace-mlearn-si"])
def test_shipped_mace_recipes_decay_what_mace_torch_decays(recipe):
    from pathlib import Path

    import eqpot.train

    path = Path(eqpot.train.__file__).parent / "configs" / f"{recipe}.yaml"
    config = load_config(path, ["model_config.num_channels=4"])
    assert config.weight_decay_on == MACE_TORCH_CHOICE
    pot = models.build("mace", num_elements=2, dtype="float32", **config.model_config)
    params = nnx.to_pure_dict(nnx.state(pot, nnx.Param))
    assert _decayed(params, config.weight_decay_on)  # every pattern matched (else an error)
