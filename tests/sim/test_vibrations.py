"""Normal modes from the analytic Hessian against ASE's finite-displacement Vibrations."""

import ase
import numpy as np
from ase.vibrations import Vibrations

from eqpot.sim import normal_modes, relax


def test_normal_modes_match_ase_finite_differences(cu_calculator, tmp_path):
    cluster = ase.Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [1.25, 2.2, 0], [1.25, 0.7, 2.0]])
    cluster.center(vacuum=5.0)
    cluster.calc = cu_calculator()
    assert relax(cluster, "BFGS", fmax=1e-5, steps=500).converged
    analytic = normal_modes(cluster).get_energies()
    vib = Vibrations(cluster, delta=0.005, nfree=4, name=str(tmp_path / "vib"))
    vib.run()
    numeric = vib.get_vibrations().get_energies()
    # six zero modes (translation, rotation), then the six real vibrations
    assert np.abs(analytic[:6]).max() < 1e-3
    real = analytic[6:].real
    assert np.all(real > 5e-3) and np.abs(analytic[6:].imag).max() == 0
    np.testing.assert_allclose(real, numeric[6:].real, rtol=1e-4)
