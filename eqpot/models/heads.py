"""Moving parameters between models with one and with several energy heads.

A model with ``H`` heads (``num_heads``, :class:`eqpot.models.common.EnergyHead`) differs from
its one-head twin only in the readouts' last layer, which has ``H`` outputs instead of one:
its kernel is ``(fan_in, H)`` against ``(fan_in, 1)``, its bias ``(H,)`` against ``(1,)``.
Every other parameter has the same shape and meaning. So the two maps below work on any
model, leaf by leaf: a leaf whose shape differs between the two templates is a head leaf,
indexed by its last axis.

* :func:`widen_heads`: a one-head model's parameters as every head of an ``H``-head model
  (how multi-head fine-tuning starts from a foundation, as mace-torch's
  ``multiheads_finetuning``);
* :func:`select_head`: head ``k`` of an ``H``-head model as a one-head model (as mace-torch's
  ``mace_select_head``).
"""

from __future__ import annotations

import jax
import numpy as np


def _map_head_leaves(source: dict, template: dict, head_leaf) -> dict:
    """``source`` shaped like ``template``: equal shapes are copied, the others go through
    ``head_leaf(source_leaf, template_shape)``."""

    def leaf(path, src, tmpl):
        if np.shape(src) == np.shape(tmpl):
            return src
        if np.ndim(src) != np.ndim(tmpl) or np.shape(src)[:-1] != np.shape(tmpl)[:-1]:
            where = jax.tree_util.keystr(path)
            raise ValueError(
                f"parameter {where}: shape {np.shape(src)} does not map to {np.shape(tmpl)} "
                "(only the readouts' head axis, the last, may differ)"
            )
        return head_leaf(src, np.shape(tmpl))

    return jax.tree_util.tree_map_with_path(leaf, source, template)


def widen_heads(params: dict, template: dict) -> dict:
    """The parameters ``params`` of a one-head model as those of the multi-head model whose
    parameters are shaped like ``template``: every head starts as the one head."""

    def widen(src, shape):
        if np.shape(src)[-1] != 1:
            raise ValueError(f"a one-head leaf has a last axis of 1, got {np.shape(src)}")
        return np.broadcast_to(np.asarray(src), shape).copy()

    return _map_head_leaves(params, template, widen)


def select_head(params: dict, template: dict, head: int) -> dict:
    """Head ``head`` of a multi-head model's ``params`` as the parameters of the one-head
    model shaped like ``template``."""

    def select(src, shape):
        heads = np.shape(src)[-1]
        if not 0 <= head < heads:
            raise ValueError(f"head {head} out of range: the model has {heads} heads")
        return np.asarray(src)[..., head : head + 1]

    return _map_head_leaves(params, template, select)


__all__ = ["select_head", "widen_heads"]
