"""The ASE calculator: energy, forces, stress, per-atom energies and the Hessian.

    calc = EqpotCalculator.from_checkpoint("runs/quickstart", dtype="float64")
    atoms.calc = calc
    atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()

Results follow ASE's conventions: energy in eV, forces ``-dE/dr`` in eV/Å, stress
``sigma = (1/V) dE/deps`` in eV/Å^3 as Voigt ``(xx, yy, zz, yz, xz, xy)`` (ASE's sign;
pressure ``-tr(sigma)/3``). Stress is defined whenever the cell has a volume, so it is also
reported for slabs and for molecules in a box: the strain acts on positions and cell (the
derivative ``calculate_numerical_stress`` takes), and along non-periodic directions it then
depends on the box the user chose. Without a cell volume, asking for stress is an error.

Speed during dynamics:

* **neighbour-list skin**: the list is built with ``r_max + skin`` and reused until an atom
  has moved more than ``skin / 2`` since the build (no pair can then have entered the
  cutoff unseen), or the cell, periodicity or atoms changed. Every model's radial envelope
  is exactly zero beyond ``r_max``, so the extra edges change nothing but the cost; the
  default skin depends on the backend (``DEFAULT_SKIN``).
* **growing buckets**: the padded edge budget is ``ceil(multiplier * edges)`` rounded up to
  64 and only grows; the node budget changes only when the number of atoms does. A run
  therefore compiles once per budget; :attr:`EqpotCalculator.compile_count` counts them.

* **compiled once per machine**: the calculator switches on JAX's persistent compilation
  cache (:mod:`eqpot.compilation`; ``EQPOT_COMPILE_CACHE=off`` disables it, a cache
  directory the caller configured is kept), so the same model and shapes compile once.

pymatgen ``Structure``/``Molecule`` objects: convert them with
:func:`eqpot.datasets.from_pymatgen` (or pass them to :meth:`EqpotCalculator.atoms_from`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import ase
import jax
import jax.numpy as jnp
import numpy as np
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from eqpot import models
from eqpot.compilation import enable_persistent_cache
from eqpot.graph import (
    EDGE_MULTIPLE,
    NODE_MULTIPLE,
    Budget,
    Graph,
    ShapeCounter,
    batch_graphs,
    graph_from_atoms,
    round_up,
)

#: skin per JAX backend, from benchmarks/results/md_throughput_*: on the 2-core CPU the
#: model's cost follows the edges a 0.5 Å skin adds at r_max 5 Å (+27 %; MACE 64x(0e+1o),
#: 512 atoms: 2905 ms per step with the skin against 2067 ms with a fresh list per step),
#: while on an H100 rebuilding and uploading the list every step costs more than the extra
#: edges (4096 atoms: 30 ms with the skin against 80 ms without).
DEFAULT_SKIN = {"cpu": 0.0, "gpu": 0.5}


class EqpotCalculator(Calculator):
    """ASE calculator for an eqpot :class:`~eqpot.models.Potential`.

    Args:
        potential: the model with its parameters.
        type_map: atomic numbers in the model's species order (``model.json``'s
            ``statistics.type_map``).
        r_max: the model's cutoff in Å (default: ``potential.model.config.r_max``).
        skin: extra neighbour-list radius in Å; 0 rebuilds the list every call. Default:
            ``DEFAULT_SKIN`` of the JAX backend (see the module docstring).
        capacity_multiplier: head-room of the edge budget when it is (re)allocated.
        head: the energy head of a multi-head model, a name or an index (default: the last,
            the fine-tuned one; see :meth:`eqpot.models.Potential.head_index`).
        persistent_cache: switch on JAX's persistent compilation cache
            (:mod:`eqpot.compilation`); benchmarks that time compilation pass False.
    """

    implemented_properties: ClassVar[list[str]] = [
        "energy",
        "free_energy",
        "forces",
        "stress",
        "energies",
    ]

    def __init__(
        self,
        potential: models.Potential,
        type_map: Sequence[int],
        r_max: float | None = None,
        *,
        skin: float | None = None,
        capacity_multiplier: float = 1.1,
        head: str | int | None = None,
        persistent_cache: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if persistent_cache:  # a script run again loads its compiled shapes from disk
            enable_persistent_cache()
        self.head = potential.head_index(head)
        if skin is None:
            skin = DEFAULT_SKIN.get(jax.default_backend(), 0.0)
        if skin < 0 or capacity_multiplier < 1:
            raise ValueError(
                f"need skin >= 0 and capacity_multiplier >= 1, got {skin}, {capacity_multiplier}"
            )
        self.potential = potential
        self.type_map = [int(z) for z in type_map]
        self.r_max = float(r_max if r_max is not None else potential.model.config.r_max)
        self.skin = float(skin)
        self.capacity_multiplier = float(capacity_multiplier)
        self._predict = ShapeCounter(potential.predict_with)
        self._budget: Budget | None = None
        self._graph: Graph | None = None
        self._built_from: ase.Atoms | None = None
        self.neighbor_list_builds = 0
        self.edge_count_range: tuple[int, int] | None = None  # over all list builds

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, which: str = "best", dtype: str | None = None, **kwargs
    ) -> EqpotCalculator:
        """A calculator for a training run's checkpoint (``eqpot train`` run directory).

        ``dtype`` (``"float32"``/``"float64"``; default: the run's) — float64 switches on
        ``jax_enable_x64``. Keyword arguments go to the constructor (``skin``, ``head``, ...).
        """
        from eqpot.models.io import load_potential, read_model_file

        record = read_model_file(Path(path))
        pot = load_potential(path, which, dtype=dtype)
        return cls(pot, record["statistics"]["type_map"], record["r_max"], **kwargs)

    @staticmethod
    def atoms_from(structure) -> ase.Atoms:
        """``ase.Atoms`` from ``Atoms`` or a pymatgen ``Structure``/``Molecule``."""
        if isinstance(structure, ase.Atoms):
            return structure
        from eqpot.datasets import from_pymatgen

        return from_pymatgen(structure)

    @property
    def compile_count(self) -> int:
        """How many input shapes the energy/forces/stress function was compiled for."""
        return self._predict.count

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        graph = self._current_graph(self.atoms)
        out = self._predict(self.potential.params, graph)
        n = len(self.atoms)
        # the E0s are added here, in float64: on the device they are the batch's references
        references = self._graph_references
        energy = float(out.energy[0]) + float(references.sum())
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": np.asarray(out.forces[:n], np.float64),
            "energies": np.asarray(out.node_energy[:n], np.float64) + references[:n],
        }
        if abs(self.atoms.cell.volume) > 1e-12:
            self.results["stress"] = full_3x3_to_voigt_6_stress(np.asarray(out.stress[0]))
        elif "stress" in properties:
            raise PropertyNotImplementedError(
                "stress needs a cell with non-zero volume; these atoms have none"
            )

    def get_hessian(self, atoms: ase.Atoms | None = None) -> np.ndarray:
        """``d^2E/dr dr`` as a ``(3N, 3N)`` array (eV/Å^2), rows/columns ``(atom, xyz)``."""
        atoms = self.atoms if atoms is None else atoms
        if atoms is None:
            raise ValueError("get_hessian needs atoms (none given and none calculated yet)")
        n = len(atoms)
        h = np.asarray(self.potential.hessian(self._current_graph(atoms)), np.float64)
        return h[:n, :, :n, :].reshape(3 * n, 3 * n)

    def _current_graph(self, atoms: ase.Atoms) -> Graph:
        """The padded device graph of ``atoms``; rebuilds the neighbour list only if needed."""
        if self._needs_rebuild(atoms):
            self._rebuild(atoms)
        positions = np.zeros((self._budget.n_node, 3), np.float64)
        positions[: len(atoms)] = atoms.positions
        return self._graph._replace(positions=jnp.asarray(positions))

    def _needs_rebuild(self, atoms: ase.Atoms) -> bool:
        ref = self._built_from
        if ref is None or len(ref) != len(atoms) or not np.array_equal(ref.numbers, atoms.numbers):
            return True
        if not (np.array_equal(ref.pbc, atoms.pbc) and np.array_equal(ref.cell, atoms.cell)):
            return True
        moved = np.linalg.norm(atoms.positions - ref.positions, axis=1)
        # "not <=" so that a NaN displacement also rebuilds, where neighbor_list rejects it
        return not bool(np.all(moved <= 0.5 * self.skin))

    def _rebuild(self, atoms: ase.Atoms) -> None:
        source = f"structure {atoms.get_chemical_formula()}"
        data = graph_from_atoms(
            atoms, self.r_max + self.skin, self.type_map, source=source, head=self.head
        )
        self.neighbor_list_builds += 1
        low, high = self.edge_count_range or (data.num_edges, data.num_edges)
        self.edge_count_range = (min(low, data.num_edges), max(high, data.num_edges))
        nodes = round_up(data.num_nodes + 1, NODE_MULTIPLE)
        budget = self._budget
        if budget is None or budget.n_node != nodes or budget.n_edge < data.num_edges:
            edges = round_up(math.ceil(self.capacity_multiplier * data.num_edges), EDGE_MULTIPLE)
            if budget is not None and budget.n_node == nodes:
                edges = max(edges, budget.n_edge)
            budget = Budget(nodes, edges, 2)
        self._budget = budget
        batch = batch_graphs([data], budget, reference_energies=self.potential.atomic_energies)
        self._graph_references = batch.reference_energy[: data.num_nodes]
        self._graph = jax.device_put(batch)
        self._built_from = atoms.copy()
