"""Named datasets: files per split, reference energies, units, licence, citation, download.

Files live under a data directory: the ``data_dir`` argument, else ``$EQPOT_DATA``, else
``../shared/data`` (relative to the working directory or to the source checkout) when it
exists. They are read in place, never copied into the repository. With internet access,
:func:`fetch` downloads a dataset's files and checks their sha256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import ase

from eqpot.atomic_write import atomic_write

from .readers import DEFAULT_KEYS, DataError, LabelKeys, load_file

DATA_ENV = "EQPOT_DATA"
_BOTNET = "https://raw.githubusercontent.com/davkovacs/BOTNet-datasets/main"
_BOTNET_CITE = (
    "Kovács et al., 'The design space of E(3)-equivariant atom-centered interatomic "
    "potentials' (BOTNet), 2022; data davkovacs/BOTNet-datasets (MIT)"
)
_MLEARN_CITE = (
    "Zuo et al., 'Performance and cost assessment of machine learning interatomic "
    "potentials', J. Phys. Chem. A 124, 731 (2020); data materialsvirtuallab/mlearn"
)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Everything known about one named dataset.

    ``splits`` maps a split name to a file under ``directory``; ``isolated_atoms`` names the
    split holding single-atom reference energies (None: fit E0s by least squares);
    ``sha256`` and ``urls`` are per file (``urls`` empty: no direct download).
    """

    name: str
    directory: str
    splits: dict[str, str]
    description: str
    units: str
    licence: str
    citation: str
    isolated_atoms: str | None = None
    periodic: bool = False
    sha256: dict[str, str] = dataclasses.field(default_factory=dict)
    urls: dict[str, str] = dataclasses.field(default_factory=dict)


def _botnet(name, directory, upstream, splits, iso, description, sums):
    files = dict(splits)
    files[iso] = files.get(iso, f"{iso}.xyz")
    return DatasetSpec(
        name=name,
        directory=directory,
        splits=files,
        description=description,
        units="eV, Å, eV/Å",
        licence="MIT",
        citation=_BOTNET_CITE,
        isolated_atoms=iso,
        sha256=sums,
        urls={f: f"{_BOTNET}/{upstream}/{f}" for f in files.values()},
    )


REGISTRY: dict[str, DatasetSpec] = {
    "acac": _botnet(
        "acac",
        "acac",
        "dataset_acac",
        {"train": "train_300K.xyz", "train_600K": "train_600K.xyz", "test": "test_MD_300K.xyz"},
        "isolated_atoms",
        "acetylacetone (C, H, O; 15 atoms), ORCA UHF-PBE+D3/def2-SVP",
        {
            "train_300K.xyz": "8f5706d6902360555a5be59395612d2afc3489a75688388a58e7275fdad68af3",
            "train_600K.xyz": "180c2538508f7810a623c279426f44953ee7cfb2af77e48ea3986ff97645a71c",
            "test_MD_300K.xyz": "2291f3186a3cc6a5e05e92952c84a9237ca53f862d78fd3316a769360719ec43",
            "isolated_atoms.xyz": "b74f321b453374621b447d65c60979f70df1b7182c8ee0215388b2c574f33823",  # noqa: E501
        },
    ),
    "3bpa": _botnet(
        "3bpa",
        "3bpa",
        "dataset_3BPA",
        {"train": "train_300K.xyz", "train_mixedT": "train_mixedT.xyz"},
        "iso_atoms",
        "3-(benzyloxy)pyridin-2-amine (C, H, N, O; 27 atoms), wB97X/6-31G(d)",
        {
            "train_300K.xyz": "d109971fab90e2231ad931a83eb704c8d940f5c7d7a8de27fe3b84ea18634c0a",
            "train_mixedT.xyz": "bc108532964b2ed259eaaabf82e5dfaffa5bda9ac384fc2afabcce192a49250b",
            "iso_atoms.xyz": "e12a2465a2612bf38fd5dabdf64d4b57fc58ce9610a858c54ea1142d517c053f",
        },
    ),
    "rmd17-ethanol": _botnet(
        "rmd17-ethanol",
        "rmd17_ethanol",
        "dataset_ethanol",
        {"train": "train.xyz", "test": "test_MD.xyz"},
        "isolated_atoms",
        "ethanol (C, H, O; 9 atoms), revised MD17, PBE/def2-SVP",
        {
            "train.xyz": "a26a16d8910581fa321fedc3bd3dfe31f2460e8cbfdc7a8f65243f4fd7250dd0",
            "test_MD.xyz": "b8726933d5b9083989d8e3cc7013c18e0950cf0cbc6f6cd570fdb9759001031c",
            "isolated_atoms.xyz": "a2a662390f31ad623ce493038e680bc34214f88d4432566bf8fbd0761be57583",  # noqa: E501
        },
    ),
}
for _element, _sums in {
    "Si": (
        "43fa0a99ef7365921422ae501041706b30553a231e280a8f4ff7d45fbdb26bd3",
        "6a2bc83597ec6178035d1a64e08fec1f77880be478f5fa71d412936b144a84cc",
    ),
    "Ge": (
        "bfe3f374fcd8ed900aa5b0ceccbcef115a778480bd4ced1a507d3491dcc36dec",
        "276cda2287f2475d69c0ca215d7884e96cd499dc1b6d7b61ec49b2d1a37b4de1",
    ),
    "Li": (
        "86f00609c60ef087a69067e6b913b310db8a6841546c0159f17ef118fe73f772",
        "e30676c14559a0ec5e98a8ac33e84dff106461ae1635a14d310e015d232a8efb",
    ),
}.items():
    REGISTRY[f"mlearn-{_element.lower()}"] = DatasetSpec(
        name=f"mlearn-{_element.lower()}",
        directory="mlearn",
        splits={"train": f"{_element}_train.xyz", "test": f"{_element}_test.xyz"},
        description=f"{_element} crystals (elastic, surface, vacancy, AIMD), VASP PBE, with stress",
        units="eV, Å, eV/Å, stress eV/Å³ (ASE sign, converted from VASP kBar)",
        licence="BSD-3-Clause",
        citation=_MLEARN_CITE,
        periodic=True,
        sha256={f"{_element}_train.xyz": _sums[0], f"{_element}_test.xyz": _sums[1]},
        # upstream ships JSON with VASP-convention stress; the extxyz here is a conversion
    )


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the data directory (argument, ``$EQPOT_DATA``, ``../shared/data``) to an
    absolute path: a relative one is taken from the working directory now, so that it still
    names the same directory for work that runs elsewhere (a notebook kernel, a subprocess)."""
    given = explicit if explicit is not None else os.environ.get(DATA_ENV) or None
    if given is not None:
        return Path(given).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1]
    for candidate in (Path.cwd() / ".." / "shared" / "data", checkout / ".." / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    raise DataError(
        f"no data directory: set {DATA_ENV}, pass data_dir=..., or place the data at ../shared/data"
    )


def spec(name: str) -> DatasetSpec:
    """The registry entry of ``name`` (an error lists the known names)."""
    if name not in REGISTRY:
        from eqpot.suggest import did_you_mean

        hint = did_you_mean(name, REGISTRY)
        raise DataError(f"unknown dataset {name!r}{hint} (known: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def dataset_path(name: str, split: str, data_dir_: str | os.PathLike | None = None) -> Path:
    entry = spec(name)
    if split not in entry.splits:
        raise DataError(f"dataset {name!r} has no split {split!r} (splits: {list(entry.splits)})")
    return data_dir(data_dir_) / entry.directory / entry.splits[split]


def load(
    name_or_path: str | os.PathLike,
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    index: str | int = ":",
    keys: LabelKeys = DEFAULT_KEYS,
    require: Sequence[str] = (),
) -> list[ase.Atoms]:
    """Structures of a named dataset split, or of any ASE-readable file.

    Example: ``load("acac", "test")`` or ``load("my_data.extxyz", require=("forces",))``.
    """
    name = str(name_or_path)
    path = dataset_path(name, split, data_dir) if name in REGISTRY else Path(name_or_path)
    return load_file(path, index=index, keys=keys, require=require)


def isolated_atom_energies(
    name: str, data_dir_: str | os.PathLike | None = None
) -> dict[int, float]:
    """``{Z: E0}`` from the dataset's isolated-atom file (eV)."""
    entry = spec(name)
    if entry.isolated_atoms is None:
        raise DataError(f"dataset {name!r} has no isolated-atom energies; fit E0s by least squares")
    atoms = load(name, entry.isolated_atoms, data_dir=data_dir_, require=("energy",))
    return {int(a.numbers[0]): float(a.info["REF_energy"]) for a in atoms}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    name: str, data_dir_: str | os.PathLike | None = None, *, base_url: str | None = None
) -> Path:
    """Download the missing files of ``name`` into the data directory; verify sha256.

    ``base_url`` replaces the upstream location (e.g. a ``file://`` mirror). Files are written
    atomically: a failed or corrupted download leaves nothing behind.
    """
    entry = spec(name)
    target = data_dir(data_dir_) / entry.directory
    if not entry.urls and base_url is None:
        raise DataError(
            f"dataset {name!r} has no direct download; see its citation: {entry.citation}"
        )
    target.mkdir(parents=True, exist_ok=True)
    for filename in entry.splits.values():
        path = target / filename
        expected = entry.sha256.get(filename)
        if path.exists() and (expected is None or sha256(path) == expected):
            continue
        url = f"{base_url.rstrip('/')}/{filename}" if base_url else entry.urls[filename]
        with atomic_write(path) as tmp:  # a failed or corrupt download leaves nothing
            with open(tmp, "wb") as out, urllib.request.urlopen(url) as response:
                out.write(response.read())
            got = sha256(tmp)
            if filename in entry.sha256 and got != entry.sha256[filename]:
                raise DataError(f"{url}: sha256 {got} does not match {entry.sha256[filename]}")
    return target
