"""Padded graph batches with static shape budgets.

A :class:`Graph` is a pytree of arrays whose shapes come from a :class:`Budget`
(``n_node`` rounded up to a multiple of 8, ``n_edge`` to 64, ``n_graph``), so only a few
shapes ever reach ``jit``. The real graphs come first; **one padding graph** (the last)
absorbs every padding node and edge:

* padding nodes sit at the origin with species 0 and ``node_mask = False``;
* padding edges join the first padding node to itself with the integer shift ``(1, 0, 0)``
  in the padding graph's cell ``padding_length * I``; their vector has length
  ``padding_length`` (>= the cutoff), so a radial envelope that vanishes at the cutoff makes
  their contribution exactly zero while every normalisation and gradient stays finite.
  Scatter sums over padding edges land on padding nodes only.

Edge vectors: ``positions[receivers] - positions[senders] + shifts @ cells[edge_graph]``.

Reference energies. A batch may carry per-atom reference energies ``R_i`` (a model's
isolated-atom energies E0): its energy labels are then ``E - sum_i R_i``, taken in float64 on
the host, and a model's predicted energies are measured from the same references. DFT totals
of molecules are large (acetylacetone: -9318 eV, where one float32 ulp is 1 meV), so in
float32 the absolute energies would round away the meV a potential is judged on; the
differences from the references are small and keep their precision.
:func:`reference_totals` gives the per-graph ``sum_i R_i`` to add back, in float64.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import ase
import ase.data
import jax
import jax.numpy as jnp
import numpy as np

from eqpot.graph.neighbors import neighbor_list

NODE_MULTIPLE = 8
EDGE_MULTIPLE = 64
# Å; two atoms closer than this are taken for broken input (the shortest bond, H2's, is
# 0.74 Å): a duplicated atom, wrong units, a collapsed MD step
MIN_DISTANCE = 0.5


def round_up(value: int, multiple: int) -> int:
    return max(multiple, math.ceil(value / multiple) * multiple)


class Graph(NamedTuple):
    """A padded batch of structures (all arrays; a pytree).

    Shapes: ``positions (N, 3)``, ``species (N,)`` int32 (index into the type map),
    ``senders``/``receivers (E,)`` int32, ``shifts (E, 3)`` int32, ``cells (G, 3, 3)``,
    ``node_graph (N,)``, ``edge_graph (E,)`` int32, ``n_node``/``n_edge (G,)`` int32,
    ``node_mask (N,)``, ``edge_mask (E,)``, ``graph_mask (G,)`` bool.
    Labels (zeros where absent, see the ``has_*`` masks): ``energy (G,)`` eV, measured from
    the reference energies, ``forces (N, 3)`` eV/Å, ``stress (G, 3, 3)`` eV/Å³,
    ``weight (G,)``, ``has_energy``/``has_forces``/``has_stress (G,)`` bool.
    ``reference_energy (N,)`` eV: each atom's reference energy (zeros unless the batch was
    built with ``reference_energies``; see the module docstring).
    ``head (G,)`` int32: the energy head that predicts each graph (multi-head models; 0 for
    a model with one head).
    """

    positions: jax.Array
    species: jax.Array
    senders: jax.Array
    receivers: jax.Array
    shifts: jax.Array
    cells: jax.Array
    node_graph: jax.Array
    edge_graph: jax.Array
    n_node: jax.Array
    n_edge: jax.Array
    node_mask: jax.Array
    edge_mask: jax.Array
    graph_mask: jax.Array
    energy: jax.Array
    forces: jax.Array
    stress: jax.Array
    weight: jax.Array
    has_energy: jax.Array
    has_forces: jax.Array
    has_stress: jax.Array
    reference_energy: jax.Array
    head: jax.Array

    @property
    def shape_key(self) -> tuple[int, int, int]:
        return (self.positions.shape[0], self.senders.shape[0], self.cells.shape[0])


def edge_vectors(graph: Graph, positions: jax.Array | None = None, cells=None) -> jax.Array:
    """``(E, 3)`` vectors ``r_receiver - r_sender + shift @ cell`` (Å)."""
    positions = graph.positions if positions is None else positions
    cells = graph.cells if cells is None else cells
    offsets = jnp.einsum(
        "ek,ekx->ex", graph.shifts.astype(positions.dtype), cells[graph.edge_graph]
    )
    return positions[graph.receivers] - positions[graph.senders] + offsets


@dataclasses.dataclass(frozen=True)
class GraphData:
    """One structure ready for batching (NumPy): its neighbour list and labels."""

    positions: np.ndarray
    species: np.ndarray
    cell: np.ndarray
    senders: np.ndarray
    receivers: np.ndarray
    shifts: np.ndarray
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    weight: float = 1.0
    source: str = ""
    cutoff: float = 0.0
    head: int = 0

    @property
    def num_nodes(self) -> int:
        return int(self.positions.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.senders.shape[0])


def graph_from_atoms(
    atoms: ase.Atoms,
    cutoff: float,
    type_map: Sequence[int],
    *,
    energy: float | None = None,
    forces: np.ndarray | None = None,
    stress: np.ndarray | None = None,
    weight: float = 1.0,
    source: str = "",
    min_distance: float = MIN_DISTANCE,
    head: int = 0,
) -> GraphData:
    """Build :class:`GraphData`; ``type_map`` lists atomic numbers in species order;
    ``head`` is the energy head that predicts it (multi-head models).

    Raises:
        ValueError: an empty structure, an element not in ``type_map``, or two atoms (or an
            atom and a periodic image) closer than ``min_distance`` Å, naming ``source``.
    """
    where = f"{source}: " if source else ""
    if len(atoms) == 0:
        raise ValueError(f"{where}empty structure (no atoms)")
    index = {int(z): i for i, z in enumerate(type_map)}
    unknown = sorted({int(z) for z in atoms.numbers} - set(index))
    if unknown:
        symbols = [ase.data.chemical_symbols[z] for z in unknown]
        known = [ase.data.chemical_symbols[z] for z in type_map]
        raise ValueError(f"{where}element(s) {symbols} not in the type map {known}")
    nl = neighbor_list(atoms, cutoff)
    _check_distances(atoms, nl, min_distance, where)
    stress_matrix = None
    if stress is not None:
        stress = np.asarray(stress, np.float64)
        stress_matrix = voigt_to_matrix(stress) if stress.shape == (6,) else stress.reshape(3, 3)
    return GraphData(
        positions=np.asarray(atoms.positions, np.float64),
        species=np.array([index[int(z)] for z in atoms.numbers], np.int32),
        cell=np.asarray(atoms.cell.array, np.float64),
        senders=nl.senders,
        receivers=nl.receivers,
        shifts=nl.shifts,
        energy=energy,
        forces=None if forces is None else np.asarray(forces, np.float64),
        stress=stress_matrix,
        weight=weight,
        source=source,
        cutoff=float(cutoff),
        head=head,
    )


def _check_distances(atoms: ase.Atoms, nl, min_distance: float, where: str) -> None:
    if nl.num_edges == 0:
        return
    lengths = np.linalg.norm(nl.vectors(atoms), axis=1)
    k = int(np.argmin(lengths))
    if lengths[k] < min_distance:
        i, j = int(nl.senders[k]), int(nl.receivers[k])
        pair = f"atom {i} and its periodic image" if i == j else f"atoms {i} and {j}"
        raise ValueError(
            f"{where}{pair} are {lengths[k]:.3f} Å apart, closer than {min_distance} Å "
            "(duplicated atoms or wrong units?)"
        )


def voigt_to_matrix(voigt: np.ndarray) -> np.ndarray:
    """ASE Voigt order ``(xx, yy, zz, yz, xz, xy)`` -> symmetric 3x3."""
    xx, yy, zz, yz, xz, xy = np.asarray(voigt)
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


@dataclasses.dataclass(frozen=True)
class Budget:
    """Static sizes of a batch: nodes, edges and graphs, padding included."""

    n_node: int
    n_edge: int
    n_graph: int

    @classmethod
    def for_graphs(cls, graphs: Sequence[GraphData], n_graph: int | None = None) -> Budget:
        """The rounded budget that holds ``graphs`` plus one padding graph and node."""
        nodes = sum(g.num_nodes for g in graphs) + 1
        edges = sum(g.num_edges for g in graphs)
        return cls(
            round_up(nodes, NODE_MULTIPLE),
            round_up(edges, EDGE_MULTIPLE),
            (n_graph or len(graphs)) + 1,
        )

    def fits(self, nodes: int, edges: int, graphs: int) -> bool:
        return nodes + 1 <= self.n_node and edges <= self.n_edge and graphs + 1 <= self.n_graph


def batch_graphs(
    graphs: Sequence[GraphData],
    budget: Budget | None = None,
    *,
    padding_length: float | None = None,
    reference_energies: Sequence[float] | np.ndarray | None = None,
    dtype=np.float64,
) -> Graph:
    """Concatenate ``graphs`` and pad them to ``budget`` (default: the smallest that fits).

    ``padding_length`` (Å; default: the largest cutoff the graphs were built with) must be
    at least that cutoff, so padding edges lie outside it (see the module docstring).
    ``reference_energies`` (eV, one per species; a model's E0s) become the atoms'
    ``reference_energy``, and the energy labels are stored less their sum. For a model with
    several energy heads they are ``(heads, species)``: each graph takes its head's row.
    """
    cutoff = max((g.cutoff for g in graphs), default=0.0)
    padding_length = cutoff if padding_length is None else padding_length
    if not padding_length > 0 or padding_length < cutoff:
        raise ValueError(
            f"padding_length {padding_length} must be positive and >= the cutoff {cutoff}"
        )
    budget = budget or Budget.for_graphs(graphs)
    nodes = sum(g.num_nodes for g in graphs)
    edges = sum(g.num_edges for g in graphs)
    if not budget.fits(nodes, edges, len(graphs)):
        raise ValueError(
            f"{len(graphs)} graphs with {nodes} nodes and {edges} edges do not fit {budget} "
            "(one padding node and one padding graph are reserved)"
        )
    n, e, g = budget.n_node, budget.n_edge, budget.n_graph
    references = _species_references(reference_energies, graphs)
    reference = np.zeros(n, dtype)
    positions = np.zeros((n, 3), dtype)
    species = np.zeros(n, np.int32)
    senders = np.full(e, nodes, np.int32)
    receivers = np.full(e, nodes, np.int32)
    shifts = np.zeros((e, 3), np.int32)
    shifts[edges:, 0] = 1
    cells = np.zeros((g, 3, 3), dtype)
    cells[-1] = padding_length * np.eye(3)
    node_graph = np.full(n, g - 1, np.int32)
    edge_graph = np.full(e, g - 1, np.int32)
    n_node = np.zeros(g, np.int32)
    n_edge = np.zeros(g, np.int32)
    n_node[-1], n_edge[-1] = n - nodes, e - edges
    energy, weight = np.zeros(g, dtype), np.zeros(g, dtype)
    head = np.zeros(g, np.int32)
    forces = np.zeros((n, 3), dtype)
    stress = np.zeros((g, 3, 3), dtype)
    has = {k: np.zeros(g, bool) for k in ("energy", "forces", "stress")}
    node0 = edge0 = 0
    for k, graph in enumerate(graphs):
        nn, ne = graph.num_nodes, graph.num_edges
        positions[node0 : node0 + nn] = graph.positions
        species[node0 : node0 + nn] = graph.species
        senders[edge0 : edge0 + ne] = graph.senders + node0
        receivers[edge0 : edge0 + ne] = graph.receivers + node0
        shifts[edge0 : edge0 + ne] = graph.shifts
        cells[k] = graph.cell
        node_graph[node0 : node0 + nn] = k
        edge_graph[edge0 : edge0 + ne] = k
        n_node[k], n_edge[k] = nn, ne
        weight[k], head[k] = graph.weight, graph.head
        reference[node0 : node0 + nn] = references[graph.head, graph.species]
        if graph.energy is not None:
            # less the references as stored (in dtype), so label + reference_totals = energy
            stored = reference[node0 : node0 + nn].astype(np.float64).sum()
            energy[k], has["energy"][k] = graph.energy - stored, True
        if graph.forces is not None:
            forces[node0 : node0 + nn], has["forces"][k] = graph.forces, True
        if graph.stress is not None:
            stress[k], has["stress"][k] = graph.stress, True
        node0, edge0 = node0 + nn, edge0 + ne
    return Graph(
        positions,
        species,
        senders,
        receivers,
        shifts,
        cells,
        node_graph,
        edge_graph,
        n_node,
        n_edge,
        np.arange(n) < nodes,
        np.arange(e) < edges,
        np.arange(g) < len(graphs),
        energy,
        forces,
        stress,
        weight,
        has["energy"],
        has["forces"],
        has["stress"],
        reference,
        head,
    )


def _species_references(reference_energies, graphs: Sequence[GraphData]) -> np.ndarray:
    """``(heads, species)`` reference energies as float64 (zeros if none), checked against
    the heads and species the graphs use."""
    species = max((int(g.species.max()) for g in graphs if g.num_nodes), default=0) + 1
    heads = max((g.head for g in graphs), default=0) + 1
    if reference_energies is None:
        return np.zeros((heads, species))
    references = np.asarray(reference_energies, np.float64)
    if references.ndim == 1:
        references = references[None]
    if references.ndim != 2 or references.shape[0] < heads or references.shape[1] < species:
        raise ValueError(
            f"reference_energies needs one energy per species (at least {species}) for each "
            f"head (at least {heads}), got shape {np.shape(reference_energies)}"
        )
    return references


def reference_totals(graph: Graph) -> np.ndarray:
    """``sum_i R_i`` of each graph (float64, host): what to add to a batch's energies (labels
    or predictions) for the absolute energies."""
    reference = np.where(np.asarray(graph.node_mask), np.asarray(graph.reference_energy), 0.0)
    node_graph = np.asarray(graph.node_graph)
    return np.bincount(node_graph, reference.astype(np.float64), graph.cells.shape[0])


def pack(graphs: Sequence[GraphData], budget: Budget) -> Iterator[list[GraphData]]:
    """Greedy packing in order: start a new batch when the next graph would not fit."""
    current, nodes, edges = [], 0, 0
    for graph in graphs:
        if not budget.fits(graph.num_nodes, graph.num_edges, 1):
            raise ValueError(
                f"{graph.source or 'a graph'} ({graph.num_nodes} nodes, {graph.num_edges} "
                f"edges) alone exceeds {budget}"
            )
        if current and not budget.fits(
            nodes + graph.num_nodes, edges + graph.num_edges, len(current) + 1
        ):
            yield current
            current, nodes, edges = [], 0, 0
        current.append(graph)
        nodes, edges = nodes + graph.num_nodes, edges + graph.num_edges
    if current:
        yield current


def bucket_budgets(
    graphs: Sequence[GraphData], batch_size: int, num_buckets: int = 3
) -> list[Budget]:
    """A small set of budgets: the largest covers any ``batch_size`` graphs of the set.

    Budgets scale the worst case by 1, 1/2, 1/4, ... (rounded), so small batches (e.g. the
    last one of an epoch) use a smaller compiled shape and few shapes exist in all.
    """
    # nodes and edges are bounded separately: the graphs with the most edges need not be
    # the ones with the most nodes (dense bulk against a large, sparse slab)
    nodes = sum(sorted((g.num_nodes for g in graphs), reverse=True)[:batch_size]) + 1
    edges = sum(sorted((g.num_edges for g in graphs), reverse=True)[:batch_size])
    top = Budget(round_up(nodes, NODE_MULTIPLE), round_up(edges, EDGE_MULTIPLE), batch_size + 1)
    out = []
    for k in range(num_buckets):
        f = 2.0**-k
        budget = Budget(
            round_up(int(top.n_node * f), NODE_MULTIPLE),
            round_up(int(top.n_edge * f), EDGE_MULTIPLE),
            top.n_graph,
        )
        if budget not in out:
            out.append(budget)
    return out


#: a smaller shape is compiled for a one-off prediction only when this many batches use
#: it: on the 2-core CPU a MACE shape compiles (10 s) or, from the persistent cache, traces
#: (2.5 s) in the time several batches take to run (0.7 s each, 128 channels, AcAc)
MIN_BATCHES_PER_SHAPE = 4


def evaluation_budgets(
    sets: Sequence[Sequence[GraphData]], batch_size: int, min_batches: int = MIN_BATCHES_PER_SHAPE
) -> list[Budget]:
    """Budgets for predicting each of ``sets`` once, in order, in batches of ``batch_size``:
    the largest of :func:`bucket_budgets` over all of them, and a smaller one only where at
    least ``min_batches`` batches would use it. A shape used by fewer costs more to compile
    than its padding saves; a file of 15 structures then compiles one shape, not two."""
    graphs = [g for graphs in sets for g in graphs]
    budgets = bucket_budgets(graphs, batch_size)
    chunks = [gs[i : i + batch_size] for gs in sets for i in range(0, len(gs), batch_size)]
    kept = list(budgets)
    for budget in sorted(budgets[1:], key=lambda b: (b.n_edge, b.n_node)):  # smallest first
        users = sum(smallest_fitting(kept, chunk) == budget for chunk in chunks)
        if users < min_batches:
            kept.remove(budget)
    return kept


def smallest_fitting(budgets: Sequence[Budget], graphs: Sequence[GraphData]) -> Budget:
    """The smallest of ``budgets`` holding ``graphs``."""
    nodes = sum(g.num_nodes for g in graphs)
    edges = sum(g.num_edges for g in graphs)
    for budget in sorted(budgets, key=lambda b: (b.n_edge, b.n_node)):
        if budget.fits(nodes, edges, len(graphs)):
            return budget
    raise ValueError(f"{len(graphs)} graphs ({nodes} nodes, {edges} edges) fit no bucket")


def iterate_batches(
    graphs: Sequence[GraphData],
    batch_size: int,
    *,
    seed: int | None = None,
    budgets: Sequence[Budget] | None = None,
    padding_length: float | None = None,
    reference_energies: Sequence[float] | np.ndarray | None = None,
) -> Iterable[Graph]:
    """Batches of ``batch_size`` graphs (shuffled by ``seed`` if given), each padded to the
    smallest bucket that holds it; ``reference_energies`` as for :func:`batch_graphs`."""
    order = np.arange(len(graphs))
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(graphs))
    budgets = budgets or bucket_budgets(graphs, batch_size)
    for start in range(0, len(graphs), batch_size):
        chunk = [graphs[i] for i in order[start : start + batch_size]]
        budget = smallest_fitting(budgets, chunk)
        yield batch_graphs(
            chunk, budget, padding_length=padding_length, reference_energies=reference_energies
        )
