"""Full, directed neighbour lists with integer periodic shifts (through vesin).

For atoms ``i``, ``j`` and an integer shift ``S`` (a row vector), the edge ``i -> j`` exists
when ``|r_j - r_i + S @ cell| < cutoff``; both directions are listed. ``senders = i``,
``receivers = j`` (MACE's ``edge_index`` convention), so the edge vector is

    vector = positions[receivers] - positions[senders] + shifts @ cell

Self-pairs are dropped only for the zero shift: in a cell smaller than the cutoff an atom
sees its own images. Directions with ``pbc = False`` are never wrapped, whatever the cell
says there (the molecule files carry a 50 Å box with ``pbc = F F F``); their cell vectors
are replaced, for the search only, by vectors orthogonal to the periodic ones and longer
than the structure plus the cutoff, so a degenerate or zero cell there is also fine.
"""

from __future__ import annotations

import dataclasses

import ase
import numpy as np
import vesin


@dataclasses.dataclass(frozen=True)
class NeighborList:
    """``senders``, ``receivers`` (``(E,)`` int32) and ``shifts`` (``(E, 3)`` int32)."""

    senders: np.ndarray
    receivers: np.ndarray
    shifts: np.ndarray

    @property
    def num_edges(self) -> int:
        return int(self.senders.shape[0])

    def vectors(self, atoms: ase.Atoms) -> np.ndarray:
        """``(E, 3)`` edge vectors of ``atoms`` (Å), by the formula in the module docstring."""
        positions = np.asarray(atoms.positions, np.float64)
        return positions[self.receivers] - positions[self.senders] + self.shifts @ atoms.cell.array


def _search_box(
    positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, cutoff: float, free: list
) -> np.ndarray:
    """A box equal to ``cell`` in periodic directions and harmless in the others: there the
    orthonormal ``free`` directions (:func:`_free_directions`), longer than the structure
    plus the cutoff."""
    box = np.array(cell, dtype=np.float64)
    extent = np.ptp(positions, axis=0) if len(positions) else np.zeros(3)
    length = float(np.linalg.norm(extent)) + 2 * cutoff + 1.0
    for k, direction in zip(np.flatnonzero(~pbc), free, strict=True):
        box[k] = direction * length
    if np.linalg.det(box) < 0 and not np.all(pbc):
        # orient the replacement vector like a right-handed box; never touch a periodic one
        k = int(np.flatnonzero(~pbc)[0])
        box[k] = -box[k]
    return box


def _free_directions(cell: np.ndarray, pbc: np.ndarray) -> list[np.ndarray]:
    """Orthonormal vectors spanning the complement of the periodic cell vectors (a
    ValueError when those are degenerate)."""
    periodic = [cell[k] for k in range(3) if pbc[k]]
    if np.any(pbc) and np.linalg.matrix_rank(np.array(periodic), tol=1e-9) < len(periodic):
        raise ValueError(f"the periodic cell vectors {np.array(periodic)} are degenerate")
    basis: list[np.ndarray] = []
    for vector in [cell[k] for k in range(3) if pbc[k]] + list(np.eye(3)):
        v = vector - sum(np.dot(vector, b) * b for b in basis)
        if np.linalg.norm(v) > 1e-6 * max(1.0, np.linalg.norm(vector)) and len(basis) < 3:
            basis.append(v / np.linalg.norm(v))
    return basis[int(np.sum(pbc)) :]


def separated_groups(positions: np.ndarray, free: list, cutoff: float) -> list[np.ndarray]:
    """Atom indices in groups that share no pair within ``cutoff``: along each of the
    non-periodic directions ``free`` (unit vectors), a gap wider than the cutoff between
    consecutive atoms' coordinates separates them (repeated until no group splits further).

    Why: vesin 0.6.2 sizes its cell list by the bounding box of a non-periodic system and
    dies with SIGFPE (no Python error) when an atom is ~1e6 Å from the rest (3e5 Å works;
    three points, cutoff 5 Å, reproduce it). Searching each group in its own box is exact
    and keeps every box within the cutoff of its atoms."""
    groups = [np.arange(len(positions))]
    changed = bool(free)
    while changed:
        changed, split = False, []
        for group in groups:
            for direction in free:
                coordinate = positions[group] @ direction
                order = np.argsort(coordinate, kind="stable")
                gaps = np.flatnonzero(np.diff(coordinate[order]) > cutoff)
                if len(gaps):
                    split += [np.sort(part) for part in np.split(group[order], gaps + 1)]
                    changed = True
                    break
            else:
                split.append(group)
        groups = split
    return groups


def neighbor_list(atoms: ase.Atoms, cutoff: float) -> NeighborList:
    """The full directed neighbour list of ``atoms`` within ``cutoff`` (Å).

    Raises:
        ValueError: non-finite positions, a non-positive cutoff, or a degenerate periodic cell.
    """
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    positions = np.asarray(atoms.positions, dtype=np.float64)
    if not np.all(np.isfinite(positions)):
        bad = int(np.argwhere(~np.isfinite(positions))[0, 0])
        raise ValueError(f"atom {bad} has a non-finite position {positions[bad]}")
    pbc = np.asarray(atoms.pbc, dtype=bool)
    n = len(atoms)
    if n == 0:
        empty = np.zeros(0, np.int32)
        return NeighborList(empty, empty, np.zeros((0, 3), np.int32))
    cell = np.asarray(atoms.cell.array, np.float64)
    pieces = []
    free = _free_directions(cell, pbc)
    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    for group in separated_groups(positions, free, cutoff):
        # translated (exactly: only differences enter an edge) to start at the origin along
        # the non-periodic directions, where vesin does not wrap points into its box
        points = positions[group]
        points = points - sum(np.min(points @ d) * d for d in free) if free else points
        box = _search_box(points, cell, pbc, cutoff, free)
        i, j, s = calculator.compute(points=points, box=box, periodic=pbc, quantities="ijS")
        pieces.append((group[np.asarray(i, np.int64)], group[np.asarray(j, np.int64)], s))
    i = np.concatenate([p[0] for p in pieces])
    j = np.concatenate([p[1] for p in pieces])
    shifts = np.concatenate([np.asarray(p[2], np.int32).reshape(-1, 3) for p in pieces])
    if np.any(shifts[:, ~pbc] != 0):  # pragma: no cover - guards the box construction
        raise AssertionError("a non-periodic direction was wrapped")
    order = np.lexsort((shifts[:, 2], shifts[:, 1], shifts[:, 0], j, i))
    return NeighborList(
        np.asarray(i, np.int32)[order], np.asarray(j, np.int32)[order], shifts[order]
    )
