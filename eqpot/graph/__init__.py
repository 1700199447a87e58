"""Neighbour lists and padded, statically shaped graph batches."""

from eqpot.graph.batch import (
    EDGE_MULTIPLE,
    MIN_DISTANCE,
    NODE_MULTIPLE,
    Budget,
    Graph,
    GraphData,
    batch_graphs,
    bucket_budgets,
    edge_vectors,
    evaluation_budgets,
    graph_from_atoms,
    iterate_batches,
    pack,
    reference_totals,
    round_up,
    smallest_fitting,
    voigt_to_matrix,
)
from eqpot.graph.compile import ShapeCounter, prefetch
from eqpot.graph.neighbors import NeighborList, neighbor_list

__all__ = [
    "EDGE_MULTIPLE",
    "MIN_DISTANCE",
    "NODE_MULTIPLE",
    "Budget",
    "Graph",
    "GraphData",
    "NeighborList",
    "ShapeCounter",
    "batch_graphs",
    "bucket_budgets",
    "edge_vectors",
    "evaluation_budgets",
    "graph_from_atoms",
    "iterate_batches",
    "neighbor_list",
    "pack",
    "prefetch",
    "reference_totals",
    "round_up",
    "smallest_fitting",
    "voigt_to_matrix",
]
