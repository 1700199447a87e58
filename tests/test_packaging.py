"""The distribution installs every subpackage under the one import root ``eqpot``."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *relative)))
    assert found == declared


def test_top_level_layers_import_as_eqpot_subpackages():
    import eqpot.datasets
    import eqpot.kernels
    import eqpot.train

    for module in (eqpot.kernels, eqpot.datasets, eqpot.train):
        assert module.__name__.startswith("eqpot.")
