"""Atomistic datasets (installed as ``eqpot.datasets``).

Readers for any ASE-readable file with labels normalised to ``REF_*`` keys, the registry
of named datasets (``acac``, ``3bpa``, ``rmd17-ethanol``, ``mlearn-si/ge/li``) read from the
data directory, EMT-labelled synthetic data (the embedded default), statistics, and
pymatgen conversions.
"""

from .conversions import from_pymatgen, to_pymatgen
from .readers import DataError, LabelKeys, labels, load_file, normalise_labels, read_structures
from .registry import (
    DATA_ENV,
    REGISTRY,
    DatasetSpec,
    data_dir,
    dataset_path,
    fetch,
    isolated_atom_energies,
    load,
    spec,
)
from .statistics import SCALINGS, average_num_neighbors, fit_e0s, scale_shift, split
from .synthetic import generate, synthesize, write_dataset

__all__ = [
    "DATA_ENV",
    "REGISTRY",
    "SCALINGS",
    "DataError",
    "DatasetSpec",
    "LabelKeys",
    "average_num_neighbors",
    "data_dir",
    "dataset_path",
    "fetch",
    "fit_e0s",
    "from_pymatgen",
    "generate",
    "isolated_atom_energies",
    "labels",
    "load",
    "load_file",
    "normalise_labels",
    "read_structures",
    "scale_shift",
    "spec",
    "split",
    "synthesize",
    "to_pymatgen",
    "write_dataset",
]
