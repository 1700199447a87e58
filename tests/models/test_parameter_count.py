"""MACE's parameter count equals mace-torch's for the same hyperparameters."""

from eqpot import models


def test_mace_3bpa_recipe_matches_mace_torch():
    # mace-torch 0.3.16 ScaleShiftMACE with these hyperparameters (its default residual
    # interaction blocks) has 2,983,184 parameters: counted in a scratch environment with
    # `sum(p.numel() for p in model.parameters())`, see benchmarks/peers/mace_torch.py.
    model = models.build(
        "mace",
        num_elements=4,
        num_channels=256,
        max_L=2,
        max_ell=3,
        correlation=3,
        num_interactions=2,
        num_bessel=8,
        radial_MLP=(64, 64, 64),
        MLP_irreps=16,
        dtype="float32",
    )
    assert models.Potential(model).num_parameters == 2_983_184


def test_summary_lists_submodules_and_total():
    pot = models.Potential(
        models.build("tensornet", num_elements=2, hidden_channels=8, num_rbf=4, dtype="float32")
    )
    text = pot.summary()
    assert "embedding" in text and "layers" in text
    assert f"{pot.num_parameters:,}" in text.splitlines()[-1]
