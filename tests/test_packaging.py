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
    """``eqpot.kernels`` etc. are the folders pyproject maps them to (the wheel's layout
    is checked by the test below)."""
    import importlib

    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for name, folder in mapping["package-dir"].items():
        module = importlib.import_module(name)
        assert Path(module.__file__).resolve().parent == (ROOT / folder).resolve(), name


def test_a_built_wheel_ships_the_recipes_and_runs_from_a_plain_install(tmp_path):
    """``pip install .`` (not editable) must carry every file the package reads: the
    recipes under ``train/configs`` among them, which ``eqpot quickstart`` loads."""
    import os
    import shutil
    import subprocess
    import sys
    import zipfile

    # from a copy of what a clean clone holds: a checkout's leftover eqpot.egg-info lists
    # the recipes and would hide a wheel that lacks them
    source = tmp_path / "source"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for folder in {f.split("/")[0] for f in config["package-dir"].values()}:
        shutil.copytree(ROOT / folder, source / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("eqpot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    recipes = sorted(p.name for p in (ROOT / "train" / "configs").glob("*.yaml"))
    assert recipes and all(f"eqpot/train/configs/{r}" in names for r in recipes)
    target = tmp_path / "installed"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    # the installed copy first on the path, from a directory outside the checkout
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = (
        "import eqpot, eqpot.train.quickstart as q\n"
        "from eqpot.train import load_config\n"
        "print(eqpot.__file__)\n"
        "print(load_config(q.RECIPE).name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    where, name = done.stdout.split()
    assert where.startswith(str(target)) and name == "quickstart"
    helped = subprocess.run(
        [sys.executable, "-m", "eqpot.cli", "quickstart", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert helped.returncode == 0 and "quickstart" in helped.stdout
