import ase
import numpy as np
import pytest

from eqpot import datasets


def test_fit_e0s_recovers_reference_energies():
    rng = np.random.default_rng(0)
    truth = {1: -13.6, 8: -2037.8}
    structures = []
    for _ in range(20):
        n_h, n_o = rng.integers(1, 6), rng.integers(1, 4)
        atoms = ase.Atoms("H" * n_h + "O" * n_o, positions=rng.normal(size=(n_h + n_o, 3)))
        atoms.info["REF_energy"] = n_h * truth[1] + n_o * truth[8] + 0.01 * rng.normal()
        structures.append(atoms)
    fitted = datasets.fit_e0s(structures, [1, 8])
    assert fitted[1] == pytest.approx(truth[1], abs=0.02)
    assert fitted[8] == pytest.approx(truth[8], abs=0.02)


def test_scale_shift_and_split():
    frames = datasets.generate(("Cu",), num_per_kind=2, seed=0)
    e0s = {29: 0.0}
    scale, shift = datasets.scale_shift(frames, e0s)
    forces = np.concatenate([a.arrays["REF_forces"] for a in frames])
    assert scale == pytest.approx(np.sqrt(np.mean(forces**2)))
    assert shift == pytest.approx(np.mean([a.info["REF_energy"] / len(a) for a in frames]))
    per_atom = [a.info["REF_energy"] / len(a) for a in frames]
    std_scale, std_shift = datasets.scale_shift(frames, e0s, "std_scaling")
    assert (std_scale, std_shift) == pytest.approx((np.std(per_atom, ddof=1), shift))
    assert datasets.scale_shift(frames, e0s, "no_scaling") == (1.0, 0.0)
    assert datasets.scale_shift(frames[:1], e0s, "std_scaling")[0] == 1.0  # no spread: 1
    with pytest.raises(ValueError, match="scaling must be one of"):
        datasets.scale_shift(frames, e0s, "std")
    train, valid = datasets.split(list(range(100)), 0.1, seed=3)
    assert len(valid) == 10 and sorted(train + valid) == list(range(100))
    assert datasets.split(list(range(100)), 0.1, seed=3) == (train, valid)
    assert datasets.average_num_neighbors([10, 20], [5, 5]) == 3.0
