"""From a training config to labelled graphs: mace-torch's label keys, config-type weights
and isolated-atom energies taken from the training file."""

import ase
import ase.io
import numpy as np
import pytest

from eqpot import datasets
from eqpot.graph import voigt_to_matrix
from eqpot.train.config import ConfigError, load_config
from eqpot.train.data import prepare

E0_CU = -0.25  # a made-up isolated-atom energy, far from EMT's (0 eV), so its use shows


@pytest.fixture(scope="module")
def dft_file(tmp_path_factory):
    """EMT copper with its labels renamed as a DFT code's output might call them (virials
    instead of stress) beside a decoy REF_energy, plus one IsolatedAtom structure."""
    tmp = tmp_path_factory.mktemp("dft")
    source = datasets.synthesize(tmp / "emt.extxyz", ("Cu",), num_per_kind=2, seed=0)
    frames = []
    for atoms in datasets.load(source):
        labels = datasets.labels(atoms)
        frame = ase.Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        frame.info["DFT_energy"] = labels["energy"]
        frame.info["REF_energy"] = labels["energy"] + 1.0  # another label, never to be read
        frame.arrays["DFT_forces"] = labels["forces"]
        virial = -labels["stress"] * atoms.cell.volume  # Voigt, eV
        frame.info["DFT_virial"] = virial
        frame.info["config_type"] = labels["config_type"]
        frames.append(frame)
    isolated = ase.Atoms("Cu", cell=np.eye(3) * 20, pbc=False)
    isolated.info.update(DFT_energy=E0_CU, config_type="IsolatedAtom")
    path = tmp / "dft.extxyz"
    ase.io.write(path, [*frames, isolated], format="extxyz")
    return path, datasets.load(source)


def _config(path, *extra):
    keys = ["energy_key=DFT_energy", "forces_key=DFT_forces", "virials_key=DFT_virial"]
    return load_config(None, [f"train_file={path}", "valid_fraction=0.2", *keys, *extra])


def test_labels_are_read_under_the_configured_keys(dft_file):
    path, emt = dft_file
    data = prepare(_config(path))
    graphs = data.train + data.valid
    assert len(graphs) == len(emt)  # the IsolatedAtom structure is no training target
    by_source_index = {g.source.rsplit(":", 1)[1]: g for g in graphs}
    for i, atoms in enumerate(emt):
        expected = datasets.labels(atoms)
        graph = by_source_index[str(i)]
        assert graph.energy == pytest.approx(expected["energy"], rel=1e-12)
        np.testing.assert_allclose(graph.forces, expected["forces"], rtol=1e-12)
        # stress = -virial / volume: back to the EMT stress, as a 3x3 matrix
        np.testing.assert_allclose(graph.stress, voigt_to_matrix(expected["stress"]), atol=1e-12)


def test_a_key_no_structure_has_is_an_error_naming_it(dft_file):
    path, _ = dft_file
    with pytest.raises(datasets.DataError, match=r"energy under the key 'DFT_energie'.*DFT_energy"):
        prepare(_config(path, "energy_key=DFT_energie"))


def test_config_type_weights_scale_each_types_loss(dft_file):
    path, emt = dft_file
    kinds = sorted({datasets.labels(a)["config_type"] for a in emt})
    heavy = kinds[0]
    data = prepare(_config(path, f"config_type_weights={{{heavy}: 10.0}}"))
    type_of = {str(i): datasets.labels(a)["config_type"] for i, a in enumerate(emt)}
    weights = {type_of[g.source.rsplit(":", 1)[1]]: g.weight for g in data.train + data.valid}
    assert weights[heavy] == 10.0
    assert all(w == 1.0 for kind, w in weights.items() if kind != heavy)
    with pytest.raises(
        ConfigError, match=rf"no training or validation.*'Bulkk'.*present: '{heavy}'"
    ):
        prepare(_config(path, "config_type_weights={Bulkk: 2}"))
    with pytest.raises(ConfigError, match="must have a number >= 0"):
        _config(path, f"config_type_weights={{{heavy}: -1}}")


def test_isolated_atom_energies_come_from_the_training_file(dft_file):
    path, _ = dft_file
    assert prepare(_config(path, "E0s=isolated")).statistics.atomic_energies == [E0_CU]
    fitted = prepare(_config(path)).statistics.atomic_energies  # E0s=average: least squares
    assert fitted[0] != pytest.approx(E0_CU, abs=1e-3)
    with pytest.raises(ConfigError, match="'estimated' needs a foundation_model"):
        prepare(_config(path, "E0s=estimated"))


@pytest.mark.parametrize("tag", ["isolated_atom", "ISOLATED-ATOM", "Isolated Atom"])
def test_other_spellings_of_the_isolated_atom_tag_give_the_e0s(dft_file, tmp_path, tag):
    """BOTNet's files say ``isolated_atom``: the tag is matched ignoring case, _ - and spaces."""
    path, emt = dft_file
    frames = ase.io.read(path, ":")
    frames[-1].info["config_type"] = tag
    respelt = tmp_path / "respelt.extxyz"
    ase.io.write(respelt, frames, format="extxyz")
    data = prepare(_config(respelt, "E0s=isolated"))
    assert data.statistics.atomic_energies == [E0_CU]
    assert len(data.train + data.valid) == len(emt)
    frames[-1].info["config_type"] = "isolated_atoms"  # not the tag: a training structure
    ase.io.write(respelt, frames, format="extxyz")
    with pytest.raises(ConfigError, match="isolated_atom, any case"):
        prepare(_config(respelt, "E0s=isolated"))


@pytest.mark.parametrize("scaling", datasets.SCALINGS)
def test_scaling_sets_the_models_scale_and_shift(dft_file, scaling):
    path, emt = dft_file
    config = _config(path, "E0s=isolated", f"scaling={scaling}", "valid_fraction=0")
    statistics = prepare(config).statistics  # all structures train: the values are exact
    per_atom = [(datasets.labels(a)["energy"] - len(a) * E0_CU) / len(a) for a in emt]
    forces = np.concatenate([datasets.labels(a)["forces"] for a in emt])
    expected = {
        "rms_forces_scaling": (np.sqrt(np.mean(forces**2)), np.mean(per_atom)),
        "std_scaling": (np.std(per_atom, ddof=1), np.mean(per_atom)),
        "no_scaling": (1.0, 0.0),
    }[scaling]
    assert (statistics.scale, statistics.shift) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ConfigError, match="scaling must be one of"):
        _config(path, "scaling=rms")


def test_explicit_e0s_by_atomic_number_symbol_or_json_file(dft_file, tmp_path):
    path, _ = dft_file
    assert prepare(_config(path, "E0s={29: -0.5}")).statistics.atomic_energies == [-0.5]
    assert prepare(_config(path, "E0s={Cu: -0.5}")).statistics.atomic_energies == [-0.5]
    e0s_file = tmp_path / "e0s.json"
    e0s_file.write_text('{"Cu": -0.75, "8": -2041.8}')
    statistics = prepare(_config(path, f"E0s={e0s_file}")).statistics
    assert statistics.atomic_energies == [-0.75]
    with pytest.raises(ConfigError, match="E0s: 'Cx' is neither an atomic number nor an element"):
        prepare(_config(path, "E0s={Cx: -0.5}"))
    with pytest.raises(ConfigError, match=r"E0s file .*missing.json does not exist"):
        prepare(_config(path, f"E0s={tmp_path / 'missing.json'}"))
    with pytest.raises(ConfigError, match="no isolated-atom energy for atomic numbers \\[29\\]"):
        prepare(_config(path, "E0s={O: -2041.8}"))


def test_two_heads_keep_the_foundations_statistics_first():
    from eqpot.train.data import BaseModel, Statistics, two_heads

    record = {
        "statistics": dict(
            type_map=[1, 8],
            atomic_energies=[-13.6, -2041.8],
            scale=0.5,
            shift=-0.1,
            avg_num_neighbors=7.0,
        )
    }
    foundation = BaseModel("foundation_model F", record, foundation="F")
    tuned = Statistics([1, 8], [-13.0, -2040.0], 0.5, -0.1, 7.0)
    both = two_heads(foundation, tuned)
    assert both.heads == ["foundation", "fine_tuned"]
    assert both.atomic_energies == [[-13.6, -2041.8], [-13.0, -2040.0]]
    assert (both.scale, both.shift, both.avg_num_neighbors) == ([0.5, 0.5], [-0.1, -0.1], 7.0)
    record["statistics"] = both.as_dict()
    with pytest.raises(ConfigError, match=r"F already has the energy heads \['foundation'"):
        two_heads(foundation, tuned)
