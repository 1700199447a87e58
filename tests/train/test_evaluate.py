"""``eqpot eval``'s prediction path in float32 next to large E0s (``train/evaluate.py``)."""

import numpy as np

from eqpot.graph import graph_from_atoms
from eqpot.train.evaluate import error_values, metrics_from, predict_structures
from tests.models.common import CUTOFF, TYPE_MAP, molecule, single_and_double


def test_float32_energy_errors_are_not_float32_rounding_of_the_totals():
    """Labels = the float64 model's energies (-9200 eV per structure): the float32 model's
    energy RMSE is its interaction energy's rounding alone, far below float32's 1 meV
    resolution of the totals."""
    double, single = single_and_double("mace")
    structures = []
    for seed in range(8):
        atoms = molecule()
        atoms.rattle(0.05, seed=seed)
        structures.append(atoms)
    unlabelled = [graph_from_atoms(a, CUTOFF, TYPE_MAP) for a in structures]
    exact = [p.energy for p in predict_structures(double, unlabelled, batch_size=3)]
    labelled = [
        graph_from_atoms(atoms, CUTOFF, TYPE_MAP, energy=energy)
        for atoms, energy in zip(structures, exact, strict=True)
    ]
    predictions = predict_structures(single, labelled, batch_size=3)
    np.testing.assert_allclose([p.ref_energy for p in predictions], exact, rtol=0, atol=1e-9)
    assert min(exact) < -9000
    assert metrics_from(error_values(predictions))["rmse_e"] < 2e-5
