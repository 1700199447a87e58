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


def _search_box(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, cutoff: float):
    """A box equal to ``cell`` in periodic directions and harmless in the others."""
    periodic = [cell[k] for k in range(3) if pbc[k]]
    if np.any(pbc) and np.linalg.matrix_rank(np.array(periodic), tol=1e-9) < len(periodic):
        raise ValueError(f"the periodic cell vectors {np.array(periodic)} are degenerate")
    basis = [v / np.linalg.norm(v) for v in periodic]
    box = np.array(cell, dtype=np.float64)
    extent = np.ptp(positions, axis=0) if len(positions) else np.zeros(3)
    length = float(np.linalg.norm(extent)) + 2 * cutoff + 1.0
    for k in range(3):
        if pbc[k]:
            continue
        for trial in np.eye(3):  # Gram-Schmidt completion of the periodic directions
            v = trial - sum(np.dot(trial, b) * b for b in basis)
            if np.linalg.norm(v) > 1e-6:
                v = v / np.linalg.norm(v)
                basis.append(v)
                box[k] = v * length
                break
    if np.linalg.det(box) < 0 and not np.all(pbc):
        # orient the replacement vector like a right-handed box; never touch a periodic one
        k = int(np.flatnonzero(~pbc)[0])
        box[k] = -box[k]
    return box


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
    box = _search_box(positions, np.asarray(atoms.cell.array, np.float64), pbc, cutoff)
    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, s = calculator.compute(points=positions, box=box, periodic=pbc, quantities="ijS")
    shifts = np.asarray(s, dtype=np.int32)
    if np.any(shifts[:, ~pbc] != 0):  # pragma: no cover - guards the box construction
        raise AssertionError("a non-periodic direction was wrapped")
    order = np.lexsort((shifts[:, 2], shifts[:, 1], shifts[:, 0], j, i))
    return NeighborList(
        np.asarray(i, np.int32)[order], np.asarray(j, np.int32)[order], shifts[order]
    )
