"""The tutorials in ``notebooks/`` run top to bottom in a fresh kernel, as a reader runs them.

A failing cell fails the test with the cell and its traceback (nbclient's
``CellExecutionError``); plots must render (each notebook shows at least one PNG).
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NEEDS_SHARED_DATA = {"real_data"}


def test_every_notebook_is_tested():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(
        ["tensor_products", "train_and_simulate", "real_data"]
    )


def test_committed_notebooks_have_no_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        stale = [i for i, c in enumerate(notebook.cells) if c.get("outputs")]
        assert not stale, f"{path.name}: cells {stale} carry outputs; strip them before committing"


@pytest.mark.parametrize(
    "name",
    [
        "tensor_products",
        # the notebooks that train run their kernels optimised (tests/conftest.py)
        pytest.param("train_and_simulate", marks=pytest.mark.xla_optimized),
        pytest.param("real_data", marks=pytest.mark.xla_optimized),
    ],
)
def test_notebook_runs(name, tmp_path, monkeypatch, request):
    if name in NEEDS_SHARED_DATA:
        monkeypatch.setenv("EQPOT_DATA", str(request.getfixturevalue("shared_data")))
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # files the notebook writes land here
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{name}: no plot rendered"
