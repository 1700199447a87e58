"""Bad arguments to the MD and relaxation drivers fail before the first step, naming each."""

import ase.build
import numpy as np
import pytest
from ase.calculators.emt import EMT

from eqpot.sim import relax, run_md


@pytest.fixture
def copper():
    atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.calc = EMT()
    return atoms


def test_md_names_every_bad_argument(copper):
    with pytest.raises(ValueError) as error:
        run_md(copper, "nvt", steps=0, temperature=-10.0, friction=float("nan"))
    message = str(error.value)
    assert "steps must be >= 1, got 0" in message
    assert "temperature must be >= 0 K, got -10.0" in message
    assert "friction must be >= 0 1/fs, got nan" in message
    assert "timestep" not in message  # only the bad ones
    assert not np.any(copper.get_momenta())  # nothing ran


def test_relax_rejects_a_force_threshold_it_cannot_reach(copper):
    positions = copper.get_positions()
    with pytest.raises(ValueError, match="fmax must be > 0 eV/Å, got -1"):
        relax(copper, fmax=-1)
    np.testing.assert_array_equal(copper.get_positions(), positions)
