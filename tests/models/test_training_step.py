"""A few optimisation steps on real AcAc configurations lower the loss of every model."""

import jax
import numpy as np
import optax
import pytest

from eqpot import datasets, models
from eqpot.datasets.readers import labels
from eqpot.graph import batch_graphs, graph_from_atoms
from eqpot.train.losses import weighted_loss
from tests.models import common

TYPE_MAP = [1, 6, 8]
STEPS = 12


def _acac_batch(cutoff: float):
    structures = datasets.load("acac", "train")[:4]
    graphs = []
    for atoms in structures:
        lab = labels(atoms)
        graphs.append(
            graph_from_atoms(atoms, cutoff, TYPE_MAP, energy=lab["energy"], forces=lab["forces"])
        )
    e0 = datasets.isolated_atom_energies("acac")
    scale, shift = datasets.scale_shift(structures, e0)
    return batch_graphs(graphs), dict(
        atomic_energies=[e0[z] for z in TYPE_MAP], scale=scale, shift=shift
    )


@pytest.mark.parametrize("name", ["mace", "tensornet", "escn"])
def test_a_few_adam_steps_lower_the_loss(shared_data, name):
    config = dict(common.TINY[name], r_max=4.0)
    graph, statistics = _acac_batch(config["r_max"])
    model = models.build(name, num_elements=3, dtype="float64", **statistics, **config)
    pot = models.Potential(model)

    def loss_fn(params):
        return weighted_loss(pot.predict_with(params, graph), graph, forces_weight=10.0)[0]

    optimizer = optax.adam(2e-2)
    params, state = pot.params, optimizer.init(pot.params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(STEPS):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.95 * losses[0], losses
