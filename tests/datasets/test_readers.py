import ase
import ase.io
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from eqpot import datasets


def _atoms(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return ase.Atoms("Cu" * n, positions=rng.uniform(0, 4, (n, 3)), cell=np.eye(3) * 6, pbc=True)


def test_ref_plain_calc_and_custom_keys(tmp_path):
    forces = np.arange(9.0).reshape(3, 3)
    stress = np.array([1.0, 2, 3, 4, 5, 6]) * 1e-3
    ref = _atoms()
    ref.info.update(REF_energy=-1.5, REF_stress=stress, config_type="bulk", config_weight=2.0)
    ref.arrays["REF_forces"] = forces
    plain = _atoms()
    plain.calc = SinglePointCalculator(plain, energy=-1.5, forces=forces, stress=stress)
    custom = _atoms()
    custom.info.update(dft_energy=-1.5, dft_stress=stress)
    custom.arrays["dft_forces"] = forces
    for name, atoms in [("ref", ref), ("plain", plain), ("custom", custom)]:
        path = tmp_path / f"{name}.xyz"
        ase.io.write(path, [atoms, atoms], format="extxyz")
        keys = (
            datasets.LabelKeys("dft_energy", "dft_forces", "dft_stress")
            if name == "custom"
            else datasets.LabelKeys()
        )
        loaded = datasets.load(path, keys=keys, require=("energy", "forces", "stress"))
        assert len(loaded) == 2
        got = datasets.labels(loaded[1])
        assert got["energy"] == -1.5
        np.testing.assert_allclose(got["forces"], forces)
        np.testing.assert_allclose(got["stress"], stress)
        assert loaded[1].info["source"] == f"{path}:1"
    assert datasets.labels(datasets.load(tmp_path / "ref.xyz")[0])["weight"] == 2.0


def test_full_stress_matrix_is_converted_to_voigt(tmp_path):
    atoms = _atoms()
    m = np.array([[1.0, 6, 5], [6, 2, 4], [5, 4, 3]])
    atoms.info["REF_stress"] = m.reshape(-1)
    loaded = datasets.normalise_labels(atoms, "x")
    np.testing.assert_array_equal(loaded.info["REF_stress"], [1, 2, 3, 4, 5, 6])


def test_errors_name_file_and_frame(tmp_path):
    good = _atoms()
    good.info["REF_energy"] = 1.0
    path = tmp_path / "data.xyz"
    ase.io.write(path, [good, good, good], format="extxyz")
    text = path.read_text().splitlines()
    truncated = tmp_path / "truncated.xyz"
    truncated.write_text("\n".join(text[: len(text) - 2]) + "\n")
    with pytest.raises(datasets.DataError, match=r"truncated.xyz: frame 2"):
        datasets.load(truncated)
    malformed = tmp_path / "malformed.xyz"
    malformed.write_text("\n".join([*text[:7], "Cu 0.0 abc 0.0", *text[8:]]) + "\n")
    with pytest.raises(datasets.DataError, match=r"malformed.xyz: frame 1"):
        datasets.load(malformed)
    with pytest.raises(datasets.DataError, match=r"data.xyz:0: missing forces"):
        datasets.load(path, require=("forces",))
    with pytest.raises(datasets.DataError, match="no such file"):
        datasets.load(tmp_path / "absent.xyz")
    assert len(datasets.read_structures(path, "1:")) == 2
    with pytest.raises(datasets.DataError, match="no structures found at index 5"):
        datasets.read_structures(path, "5")
    with pytest.raises(datasets.DataError, match="index 'last' is neither a frame number"):
        datasets.read_structures(path, "last")
    nan = _atoms()
    nan.positions[1, 2] = np.nan
    with pytest.raises(datasets.DataError, match=r"f\.xyz:4: atom 1 has non-finite"):
        datasets.normalise_labels(nan, "f.xyz:4")
    flat = ase.Atoms("Cu", cell=[[1, 0, 0], [0, 1, 0], [0, 0, 0]], pbc=True)
    with pytest.raises(datasets.DataError, match="zero volume"):
        datasets.normalise_labels(flat, "cell.xyz:0")
    with pytest.raises(datasets.DataError, match="empty structure"):
        datasets.normalise_labels(ase.Atoms(), "e.xyz:0")
    with pytest.raises(datasets.DataError, match="did you mean 'acac'"):
        datasets.spec("acca")
    labelled = _atoms()
    labelled.calc = SinglePointCalculator(labelled, energy=np.nan)
    with pytest.raises(datasets.DataError, match=r"l\.xyz:2: energy is nan"):
        datasets.normalise_labels(labelled, "l.xyz:2")
    forces = np.zeros((3, 3))
    forces[2, 0] = np.inf
    labelled.calc = SinglePointCalculator(labelled, energy=-1.0, forces=forces)
    with pytest.raises(datasets.DataError, match=r"l\.xyz:2: the force on atom 2 is \[inf"):
        datasets.normalise_labels(labelled, "l.xyz:2")
    labelled.calc = SinglePointCalculator(labelled, energy=-1.0, forces=np.zeros((2, 3)))
    with pytest.raises(datasets.DataError, match=r"forces must have shape \(3, 3\), got \(2, 3\)"):
        datasets.normalise_labels(labelled, "l.xyz:2")


def test_pymatgen_round_trip():
    from pymatgen.core import Molecule

    crystal = _atoms(4)
    slab = _atoms(2)
    slab.pbc = [True, True, False]
    for atoms in (crystal, slab):
        back = datasets.from_pymatgen(datasets.to_pymatgen(atoms))
        np.testing.assert_allclose(back.positions, atoms.positions, atol=1e-12)
        np.testing.assert_array_equal(back.numbers, atoms.numbers)
        np.testing.assert_allclose(back.cell.array, atoms.cell.array, atol=1e-12)
        np.testing.assert_array_equal(back.pbc, atoms.pbc)
    molecule = ase.Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    pm = datasets.to_pymatgen([molecule])[0]
    assert isinstance(pm, Molecule)
    back = datasets.from_pymatgen(pm)
    np.testing.assert_allclose(back.positions, molecule.positions, atol=1e-12)
    assert not np.any(back.pbc)
