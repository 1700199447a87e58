"""Optimiser, learning-rate schedules and the parameter EMA (MACE's recipe).

The optimiser is an optax chain: global-norm clipping (``clip_grad``), L2 weight decay
(added to the gradient for ``adam`` as in PyTorch's Adam, decoupled for ``adamw``) on the
parameters :func:`weight_decay_mask` selects, Adam or AMSGrad moments, and a learning rate
held in the optimiser state (``optax.inject_hyperparams``) so the epoch-level schedules below
can set it without recompiling and it is saved with every checkpoint. Parameters matched by
``freeze`` (:func:`frozen_labels`) bypass the chain and stay fixed.

Schedules, applied once per epoch: ``plateau`` (multiply by ``lr_factor`` after
``scheduler_patience`` evaluations without a relative improvement of 1e-4 in the validation
loss, as ``torch.optim.lr_scheduler.ReduceLROnPlateau``), ``cosine`` (``lr (1 + cos(pi t/T))/2``),
``exponential`` (``lr gamma^t``, mace-torch's ``ExponentialLR``) or ``constant``; a linear
warm-up over ``warmup_epochs`` multiplies any of them. Stage two (from ``start_stage_two``,
default 80 % of ``max_num_epochs``) runs at the constant ``stage_two_lr`` with its own loss
weights, as mace-torch's SWA stage does.

EMA: ``ema <- d ema + (1 - d) params`` with ``d = min(ema_decay, (1 + n) / (10 + n))`` after
``n`` updates (torch_ema's ``use_num_updates``, as in mace-torch).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax

from eqpot.train.config import ConfigError, TrainConfig


def parameter_path(path) -> str:
    """A parameter's key path as ``"layers/0/radial/weights/1"``."""
    return "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)


def parameter_mask(params, patterns: Sequence[str], key: str, check: bool = True):
    """True for the parameters whose path (:func:`parameter_path`) matches one of the
    ``fnmatch`` globs, as a pytree like ``params``. With ``check``, a pattern that matches
    no parameter is a :class:`ConfigError` naming the config ``key`` and listing the paths."""
    paths = [parameter_path(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    for pattern in patterns if check else ():
        if not any(fnmatch.fnmatchcase(path, pattern) for path in paths):
            raise ConfigError(
                f"{key}: {pattern!r} matches no parameter; the paths are " + ", ".join(paths)
            )
    return jax.tree_util.tree_map_with_path(
        lambda p, _: any(fnmatch.fnmatchcase(parameter_path(p), q) for q in patterns), params
    )


def weight_decay_mask(params, patterns: Sequence[str] | None = None, check: bool = True):
    """True for the parameters that weight decay applies to, as a pytree like ``params``.

    ``patterns=None``: every weight matrix (``ndim >= 2``), not biases, norm scales or
    flattened weight vectors. Otherwise :func:`parameter_mask` of the globs. The MACE
    recipes give mace-torch's choice: the interaction's linear map after the message sum
    (its ``linear.weight``) and the product block (``products.*``), i.e.
    ``layers/*/linear_message/*``, ``layers/*/basis/*`` and ``layers/*/linear_out/*``; not
    the embedding, ``linear_up``, the radial MLP, the species-indexed skip or the readouts.
    """
    if patterns is None:
        return jax.tree_util.tree_map(lambda x: x.ndim >= 2, params)
    return parameter_mask(params, patterns, "weight_decay_on", check)


def frozen_labels(params, patterns: Sequence[str]):
    """``"frozen"`` for the parameters the ``freeze`` globs match, ``"trained"`` for the
    rest; freezing every parameter is a :class:`ConfigError`."""
    mask = parameter_mask(params, patterns, "freeze")
    if all(jax.tree_util.tree_leaves(mask)):
        raise ConfigError(f"freeze: {list(patterns)} matches every parameter: nothing would train")
    return jax.tree_util.tree_map(lambda frozen: "frozen" if frozen else "trained", mask)


def make_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    def decay_mask(params):
        # with freeze, this sees the trained parameters only: a pattern may match frozen
        # ones alone (the trainer checks the patterns against every parameter)
        return weight_decay_mask(params, config.weight_decay_on, check=not config.freeze)

    def chain(learning_rate):
        parts = []
        if config.clip_grad is not None:
            parts.append(optax.clip_by_global_norm(config.clip_grad))
        if config.weight_decay and config.optimizer == "adam":
            parts.append(optax.add_decayed_weights(config.weight_decay, decay_mask))
        moments = optax.scale_by_amsgrad() if config.amsgrad else optax.scale_by_adam()
        parts.append(moments)
        if config.weight_decay and config.optimizer == "adamw":
            parts.append(optax.add_decayed_weights(config.weight_decay, decay_mask))
        parts.append(optax.scale_by_learning_rate(learning_rate))
        trained = optax.chain(*parts)
        if not config.freeze:
            return trained
        # frozen parameters get no update and no moments, and stay out of the clipping norm
        # and weight decay, as parameters without gradients do in torch
        return optax.multi_transform(
            {"trained": trained, "frozen": optax.set_to_zero()},
            lambda params: frozen_labels(params, config.freeze),
        )

    return optax.inject_hyperparams(chain)(learning_rate=config.lr)


def set_learning_rate(opt_state, value: float):
    opt_state.hyperparams["learning_rate"] = jnp.asarray(
        value, opt_state.hyperparams["learning_rate"].dtype
    )
    return opt_state


def learning_rate(opt_state) -> float:
    return float(opt_state.hyperparams["learning_rate"])


def ema_update(ema, params, num_updates, decay: float):
    d = jnp.minimum(decay, (1.0 + num_updates) / (10.0 + num_updates))
    return jax.tree_util.tree_map(lambda e, p: d * e + (1.0 - d) * p, ema, params)


class Schedule:
    """Epoch-level learning rate and loss weights: the stage-one schedule, then stage two's
    constant rate and weights."""

    def __init__(self, config: TrainConfig):
        self.config = config

    def is_stage_two(self, epoch: int) -> bool:
        c = self.config
        start = c.start_stage_two if c.start_stage_two is not None else int(0.8 * c.max_num_epochs)
        return c.stage_two and epoch >= start

    def loss_weights(self, stage_two: bool) -> tuple[float, float, float]:
        """(lambda_E, lambda_F, lambda_S) of :func:`eqpot.train.losses.weighted_loss`.

        Stage two: ``stage_two_energy_weight``, ``stage_two_forces_weight`` and
        ``stage_two_stress_weight`` (mace-torch's ``swa_*_weight``; unset: ``stress_weight``).
        """
        c = self.config
        if not stage_two:
            return c.energy_weight, c.forces_weight, c.stress_weight
        stress = c.stress_weight if c.stage_two_stress_weight is None else c.stage_two_stress_weight
        return c.stage_two_energy_weight, c.stage_two_forces_weight, stress

    @staticmethod
    def initial_state() -> dict:
        return {"best": math.inf, "bad": 0, "factor": 1.0}

    def learning_rate(self, epoch: int, stage_two: bool, state: dict) -> float:
        """The learning rate of ``epoch`` (counted from 0).

        Stage one: ``lr`` times the plateau factor (``plateau``), ``(1 + cos(pi epoch /
        max_num_epochs)) / 2`` (``cosine``) or ``lr_scheduler_gamma ** epoch``
        (``exponential``), times ``(epoch + 1) / (warmup_epochs + 1)`` during the warm-up.
        Stage two: ``stage_two_lr``, constant: mace-torch stops its scheduler there and
        SWALR holds ``swa_lr``.
        """
        c = self.config
        if stage_two:
            return c.stage_two_lr
        lr = c.lr * state["factor"]
        if c.scheduler == "cosine":
            lr *= 0.5 * (1.0 + math.cos(math.pi * epoch / max(1, c.max_num_epochs)))
        elif c.scheduler == "exponential":
            lr *= c.lr_scheduler_gamma**epoch
        if c.warmup_epochs and epoch < c.warmup_epochs:
            lr *= (epoch + 1) / (c.warmup_epochs + 1)
        return lr

    def after_evaluation(self, valid_loss: float, state: dict) -> dict:
        if self.config.scheduler != "plateau":
            return state
        state = dict(state)
        if valid_loss < state["best"] * (1.0 - 1e-4):
            state["best"], state["bad"] = valid_loss, 0
        else:
            state["bad"] += 1
            if state["bad"] > self.config.scheduler_patience:
                state["factor"] *= self.config.lr_factor
                state["bad"] = 0
        return state
