import ase
import ase.build
import numpy as np
import pytest
from ase.neighborlist import neighbor_list as ase_neighbor_list

from eqpot.graph import neighbor_list


def _edge_set(i, j, s):
    return sorted(
        zip(
            np.asarray(i).tolist(),
            np.asarray(j).tolist(),
            map(tuple, np.asarray(s).tolist()),
            strict=False,
        )
    )


def _random_cells():
    rng = np.random.default_rng(0)
    for k in range(8):
        cell = rng.normal(scale=0.6, size=(3, 3)) + np.eye(3) * rng.uniform(2.0, 6.0)
        n = int(rng.integers(1, 9))
        yield (
            ase.Atoms("Cu" * n, cell=cell, pbc=True, scaled_positions=rng.uniform(size=(n, 3))),
            3.5 + k % 3,
        )


def _special():
    left = np.diag([3.0, 3.5, -4.0]) + np.random.default_rng(3).normal(scale=0.3, size=(3, 3))
    yield (
        ase.Atoms(
            "Cu3",
            cell=left,
            pbc=True,
            scaled_positions=np.random.default_rng(4).uniform(size=(3, 3)),
        ),
        4.0,
    )
    slab = ase.build.fcc111("Cu", (2, 2, 3), vacuum=6.0)
    slab.rattle(0.05, seed=1)
    yield slab, 4.0
    yield ase.build.fcc111("Cu", (2, 2, 3)), 3.0  # slab with a zero third cell vector
    mol = ase.build.molecule("CH3CH2OH")
    mol.cell = [50.0, 50.0, 50.0]  # a molecule file's box, pbc F F F
    yield mol, 3.0
    yield ase.build.molecule("CH3CH2OH"), 3.0
    yield (
        ase.Atoms(
            "Cu3",
            positions=[[0, 0, 0], [1.2, 0.3, 0], [2.4, 0, 0.5]],
            cell=[3.0, 0, 0],
            pbc=[True, False, False],
        ),
        4.0,
    )
    # an atom 1e6 Å from the rest: vesin 0.6.2 alone dies with SIGFPE on these
    far = ase.build.molecule("CH3CH2OH")
    far.positions[0] += [1e6, 0.0, 0.0]
    yield far, 3.0
    lifted = slab + ase.Atoms("Cu", positions=[[0.0, 0.0, 1e6]])
    yield lifted, 4.0
    high = ase.build.fcc111("Cu", (2, 2, 3), vacuum=5.0)
    high.positions[:, 2] += 1e6  # far from the cell's origin along the free direction
    yield high, 4.0


@pytest.mark.parametrize(
    "case",
    list(_random_cells()) + list(_special()),
    ids=lambda c: f"{c[0].get_chemical_formula()}-{''.join('TF'[not p] for p in c[0].pbc)}",
)
def test_same_edges_and_shifts_as_ase(case):
    atoms, cutoff = case
    ours = neighbor_list(atoms, cutoff)
    reference = ase_neighbor_list("ijS", atoms, cutoff)
    assert ours.num_edges == len(reference[0])
    assert _edge_set(ours.senders, ours.receivers, ours.shifts) == _edge_set(*reference)
    assert ours.senders.dtype == np.int32 and ours.shifts.dtype == np.int32


def test_small_cell_sees_its_own_images():
    atoms = ase.Atoms("Cu", cell=np.eye(3) * 2.5, pbc=True)
    nl = neighbor_list(atoms, 3.6)
    assert nl.num_edges == 6 + 12  # images at 2.5 Å (6) and 2.5 sqrt(2) = 3.54 Å (12)
    assert np.all(nl.senders == 0) and not np.any(np.all(nl.shifts == 0, axis=1))


def test_bad_input():
    atoms = ase.Atoms("Cu2", positions=[[0, 0, 0], [np.nan, 0, 0]])
    with pytest.raises(ValueError, match="atom 1 has a non-finite position"):
        neighbor_list(atoms, 3.0)
    with pytest.raises(ValueError, match="cutoff"):
        neighbor_list(ase.Atoms("Cu"), 0.0)
    flat = ase.Atoms("Cu", cell=[[1, 0, 0], [2, 0, 0], [0, 0, 1]], pbc=True)
    with pytest.raises(ValueError, match="degenerate"):
        neighbor_list(flat, 3.0)
