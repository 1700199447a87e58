"""Tiny models and structures shared by the model tests (float64)."""

from __future__ import annotations

import ase
import ase.build
import jax
import numpy as np

from eqpot import models
from eqpot.graph import Budget, batch_graphs, graph_from_atoms

CUTOFF = 4.0
TYPE_MAP = [29, 47]  # Cu, Ag

TINY = {
    "mace": dict(
        num_channels=4,
        max_L=2,
        max_ell=3,
        correlation=3,
        num_interactions=2,
        radial_MLP=(8, 8),
        MLP_irreps=4,
        r_max=CUTOFF,
        avg_num_neighbors=8.0,
    ),
    "tensornet": dict(hidden_channels=8, num_rbf=8, num_layers=2, r_max=CUTOFF),
    "escn": dict(
        sphere_channels=4,
        hidden_channels=8,
        edge_channels=8,
        num_layers=2,
        lmax=3,
        mmax=2,
        r_max=CUTOFF,
        distance_resolution=0.5,
    ),
}

#: every model, and MACE with every message product and both product bases
VARIANTS = {
    "mace-cg": ("mace", {}),
    "mace-cg-gaunt_basis": ("mace", {"product_basis": "gaunt"}),
    "mace-so2": ("mace", {"message_product": "so2"}),
    "mace-gaunt_grid": ("mace", {"message_product": "gaunt_grid"}),
    "mace-gaunt_fourier": ("mace", {"message_product": "gaunt_fourier"}),
    "mace-cp_full_rank": ("mace", {"message_product": "cp", "product_options": {"rank": 144}}),
    "tensornet": ("tensornet", {}),
    "tensornet-so3": ("tensornet", {"equivariance": "SO(3)"}),
    "escn": ("escn", {}),
}

_CACHE: dict = {}  # emptied by tests/models/conftest.py after each module


def potential(variant: str, seed: int = 0) -> models.Potential:
    """A tiny float64 potential (cached per variant and seed)."""
    key = (variant, seed)
    if key not in _CACHE:
        name, extra = VARIANTS[variant]
        model = models.build(
            name, num_elements=2, seed=seed, dtype="float64", scale=3.0, **TINY[name], **extra
        )
        _CACHE[key] = models.Potential(model)
    return _CACHE[key]


#: eV; isolated-atom energies of AcAc's O and C, for the two species: a molecule's scale
LARGE_E0S = [-2037.796869412825, -1026.8538996116154]


def single_and_double(name: str) -> tuple[models.Potential, models.Potential]:
    """Model ``name`` with :data:`LARGE_E0S` in float64 and in float32 (the float64 weights
    rounded), uncached."""
    pots = [
        models.Potential(
            models.build(name, num_elements=2, dtype=dtype, atomic_energies=LARGE_E0S, **TINY[name])
        )
        for dtype in ("float64", "float32")
    ]
    pots[1].params = jax.tree_util.tree_map(lambda x: x.astype(np.float32), pots[0].params)
    return pots[0], pots[1]


def bulk() -> ase.Atoms:
    atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
    atoms.numbers[[1, 4, 6]] = 47
    atoms.rattle(0.15, seed=3)
    return atoms


def slab() -> ase.Atoms:
    atoms = ase.build.fcc111("Cu", size=(2, 2, 2), vacuum=5.0, a=3.6)
    atoms.numbers[[0, 5]] = 47
    atoms.rattle(0.1, seed=4)
    return atoms  # pbc (True, True, False)


def small_cell() -> ase.Atoms:
    """A 2-atom cell far smaller than the cutoff: atoms see many of their own images."""
    atoms = ase.build.bulk("CuAg", "rocksalt", a=4.1)
    atoms.rattle(0.1, seed=5)
    return atoms


def molecule() -> ase.Atoms:
    rng = np.random.default_rng(6)
    positions = rng.uniform(0, 3.5, size=(6, 3))
    return ase.Atoms([29, 47, 29, 29, 47, 29], positions=positions)


STRUCTURES = {"bulk": bulk, "slab": slab, "small_cell": small_cell}


def graph(*atoms_list, budget: Budget | None = None):
    data = [graph_from_atoms(a, CUTOFF, TYPE_MAP) for a in atoms_list]
    return batch_graphs(data, budget)


def fixed_budget(atoms: ase.Atoms, slack: float = 1.5) -> Budget:
    """A budget with room for moved atoms, so finite differences reuse one compilation."""
    base = Budget.for_graphs([graph_from_atoms(atoms, CUTOFF, TYPE_MAP)])
    return Budget(base.n_node, int(base.n_edge * slack) // 64 * 64 + 64, base.n_graph)


def energy(pot, atoms, budget) -> float:
    return float(pot(graph(atoms, budget=budget)).energy[0])


def derivative(f, h: float = 1e-3) -> float:
    """Fourth-order central difference of ``f(t)`` at ``t = 0``."""
    return (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)


def numerical_forces(pot, atoms, budget) -> np.ndarray:
    forces = np.zeros((len(atoms), 3))
    for i in range(len(atoms)):
        for k in range(3):

            def moved(t, i=i, k=k):
                a = atoms.copy()
                a.positions[i, k] += t
                return energy(pot, a, budget)

            forces[i, k] = -derivative(moved)
    return forces


def numerical_stress(pot, atoms, budget) -> np.ndarray:
    """``(1/V) dE/d eps`` with a symmetric strain applied to cell and positions."""
    stress = np.zeros((3, 3))
    volume = atoms.get_volume()
    for i in range(3):
        for j in range(i, 3):

            def strained(t, i=i, j=j):
                eps = np.zeros((3, 3))
                eps[i, j] += t / 2
                eps[j, i] += t / 2
                a = atoms.copy()
                a.set_cell(atoms.cell @ (np.eye(3) + eps), scale_atoms=True)
                return energy(pot, a, budget)

            stress[i, j] = stress[j, i] = derivative(strained) / volume
    return stress
