"""A calculator for the quickstart model (trained once per session, tests/conftest.py)."""

import pytest

from eqpot.calculator import EqpotCalculator


@pytest.fixture(scope="module")
def cu_calculator(quickstart_run):
    return lambda **kw: EqpotCalculator.from_checkpoint(quickstart_run.run_dir, **kw)
