"""Energy heads: a graph's ``head`` picks its readout column, E0s, scale and shift; every
head of a multi-head model predicts as the one-head model made of its column."""

import dataclasses

import jax
import numpy as np
import pytest
from flax import nnx

from eqpot import models
from eqpot.graph import batch_graphs, graph_from_atoms
from eqpot.graph.batch import reference_totals
from eqpot.models.heads import select_head, widen_heads
from tests.models.common import CUTOFF, TINY, TYPE_MAP, bulk, molecule

E0S = np.array([[-3.0, -5.0], [-7.0, -11.0]])
SCALES, SHIFTS = [2.0, 0.5], [0.3, -0.2]


def _build(name, heads, e0s, scale, shift):
    model = models.build(
        name,
        num_elements=2,
        dtype="float64",
        atomic_energies=e0s,
        scale=scale,
        shift=shift,
        num_heads=heads,
        **TINY[name],
    )
    return models.Potential(model)


def _with(pot, pure):
    state = pot.params
    nnx.replace_by_pure_dict(state, pure)
    return state


@pytest.mark.parametrize("name", ["mace", "tensornet", "escn"])
def test_each_head_predicts_as_the_one_head_model_of_its_column(name):
    two = _build(name, 2, E0S, SCALES, SHIFTS)
    one = [_build(name, 1, E0S[k], SCALES[k], SHIFTS[k]) for k in range(2)]
    template = nnx.to_pure_dict(one[0].params)
    # a one-head model widened to two heads, then head 0's outputs made different
    start = widen_heads(nnx.to_pure_dict(one[0].params), nnx.to_pure_dict(two.params))
    rng = np.random.default_rng(0)

    def perturb_head0(one_leaf, leaf):
        if np.shape(one_leaf) == np.shape(leaf):
            return leaf
        leaf = np.array(leaf)
        leaf[..., 0] += rng.normal(size=leaf[..., 0].shape)
        return leaf

    pure = jax.tree_util.tree_map(perturb_head0, template, start)
    params = _with(two, pure)
    structures = [bulk(), molecule()]
    data = [graph_from_atoms(a, CUTOFF, TYPE_MAP) for a in structures]
    # graph k is predicted by head 1 - k: neither the graph's index nor its position picks it
    heads = (1, 0)
    batch = batch_graphs([_replace_head(d, h) for d, h in zip(data, heads, strict=True)])
    out = two(batch, params)
    energies = []
    for k, head in enumerate(heads):
        single = one[head]
        ref = single(batch_graphs([data[k]]), _with(single, select_head(pure, template, head)))
        nodes = np.asarray(batch.node_graph) == k
        np.testing.assert_allclose(out.energy[k], ref.energy[0], rtol=1e-12)
        np.testing.assert_allclose(
            np.asarray(out.forces)[nodes], np.asarray(ref.forces)[: nodes.sum()], atol=1e-12
        )
        other = one[1 - head]
        other_params = _with(other, select_head(pure, template, 1 - head))
        energies.append(float(other(batch_graphs([data[k]]), other_params).energy[0]))
    # the other head predicts differently: the test would see a mix-up of the heads
    assert np.all(np.abs(np.asarray(out.energy[:2]) - energies) > 1e-3)


def _replace_head(data, head):
    return dataclasses.replace(data, head=head)


def test_widened_heads_agree_and_reference_energies_take_each_heads_row():
    two = _build("mace", 2, E0S, [1.0, 1.0], [0.0, 0.0])
    one = _build("mace", 1, E0S[1], 1.0, 0.0)
    pure = widen_heads(nnx.to_pure_dict(one.params), nnx.to_pure_dict(two.params))
    data = graph_from_atoms(molecule(), CUTOFF, TYPE_MAP)
    labelled = [_replace_head(data, 0), _replace_head(data, 1)]
    batch = batch_graphs(labelled, reference_energies=two.atomic_energies)
    out = two(batch, _with(two, pure))
    # same readouts, E0s differing by E0S[0] - E0S[1] per element
    counts = np.bincount(data.species, minlength=2)
    shift = float(counts @ (E0S[0] - E0S[1]))
    totals = np.asarray(out.energy)[:2] + _totals(batch)
    np.testing.assert_allclose(totals[0] - totals[1], shift, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(out.energy)[0], np.asarray(out.energy)[1], atol=1e-9)


def _totals(batch):
    return reference_totals(batch)[:2]


def test_bad_heads_are_named():
    with pytest.raises(ValueError, match=r"atomic_energies has shape \(2,\), expected \(2, 2\)"):
        _build("tensornet", 2, E0S[0], 1.0, 0.0)
    with pytest.raises(ValueError, match="scale must be a number or one per head"):
        _build("tensornet", 2, E0S, [1.0, 2.0, 3.0], 0.0)
    pot = _build("tensornet", 2, E0S, 1.0, 0.0)
    assert pot.heads == ["head0", "head1"] and pot.head_index(None) == 1
    with pytest.raises(ValueError, match="no energy head 'dft'; this model's heads: head0, head1"):
        pot.head_index("dft")
    with pytest.raises(ValueError, match="reference_energies needs one energy per species"):
        data = _replace_head(graph_from_atoms(molecule(), CUTOFF, TYPE_MAP), 1)
        batch_graphs([data], reference_energies=E0S[0])
