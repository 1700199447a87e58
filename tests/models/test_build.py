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
    """Scalars only (max_ell = max_L = 0): a distance-only model that still predicts
    finite, rotation-invariant energies and forces that sum to zero."""
    import ase.build
    import numpy as np
    from scipy.spatial.transform import Rotation

    from eqpot.graph import batch_graphs, graph_from_atoms

    model = models.build(
        "mace", num_elements=1, dtype="float64", num_channels=2, max_ell=0, max_L=0, seed=3
    )
    pot = models.Potential(model)
    atoms = ase.build.molecule("CH4")
    atoms.numbers[:] = 1
    atoms.rattle(0.1, seed=0)
    rotated = atoms.copy()
    rotated.positions = Rotation.from_euler("zyx", [0.3, -1.1, 0.7]).apply(atoms.positions)
    out = [pot(batch_graphs([graph_from_atoms(a, 5.0, [1])])) for a in (atoms, rotated)]
    energy = [float(o.energy[0]) for o in out]
    forces = np.asarray(out[0].forces)[:5]
    assert np.isfinite(energy[0]) and abs(energy[0]) > 0
    assert energy[1] == pytest.approx(energy[0], abs=1e-10)
    assert np.abs(forces).max() > 1e-8
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-10)
