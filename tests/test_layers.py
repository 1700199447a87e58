"""DESIGN §1's import rules as import-linter contracts (``[tool.importlinter]`` in
pyproject.toml), checked on the package as it is installed, and shown to fail on an
upward import."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _installed_layout(where: Path, replace: dict[str, str] | None = None) -> Path:
    """``where/eqpot`` laid out as the wheel installs it (``kernels/`` as
    ``eqpot/kernels`` and so on; pyproject's package-dir), linked to the sources;
    ``replace`` maps a file's path inside that layout to new contents."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package, folder in mapping["package-dir"].items():
        target = where.joinpath(*package.split("."))
        target.parent.mkdir(parents=True, exist_ok=True)
        if package == "eqpot":
            target.mkdir(exist_ok=True)
            for entry in (ROOT / folder).iterdir():
                if entry.name != "__pycache__" and not (target / entry.name).exists():
                    (target / entry.name).symlink_to(entry)
        else:
            target.symlink_to(ROOT / folder)
    for relative, text in (replace or {}).items():
        path = where / relative
        linked = path.parent.resolve()
        path.parent.unlink()  # a linked folder becomes a real copy, so one file can change
        shutil.copytree(linked, path.parent, ignore=shutil.ignore_patterns("__pycache__"))
        path.write_text(text)
    return where


def _lint(layout: Path) -> subprocess.CompletedProcess:
    if not LINT.exists():
        pytest.skip("import-linter is not installed (the test extra has it)")
    env = dict(os.environ, PYTHONPATH=str(layout))
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=layout,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_layers_of_design_1_hold(tmp_path):
    done = _lint(_installed_layout(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    so3 = (ROOT / "eqpot" / "so3" / "__init__.py").read_text()
    upward = {"eqpot/so3/__init__.py": so3 + "\nimport eqpot.models  # deliberately upward\n"}
    done = _lint(_installed_layout(tmp_path, upward))
    assert done.returncode != 0
    assert "eqpot.so3 is not allowed to import eqpot.models" in done.stdout, done.stdout[-3000:]
