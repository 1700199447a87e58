"""Relaxation with the quickstart model against EMT's own lattice constant; the CLI."""

import ase.build
import numpy as np
from ase.calculators.emt import EMT

from benchmarks.md_checks import cu_cell, lattice_constant
from eqpot import cli
from eqpot.sim import relax


def test_cell_relaxation_recovers_the_emt_lattice_constant(cu_calculator):
    reference = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True)
    reference.calc = EMT()
    assert relax(reference, "BFGS", fmax=1e-5, cell=True).converged
    atoms = cu_cell(strain=0.03, seed=2)
    start = atoms.cell.array.copy()
    atoms.calc = cu_calculator()
    result = relax(atoms, "FIRE", fmax=0.01, cell=True, steps=2000)
    assert result.converged
    # ASE's cell filter stops on the atomic forces times the deformation gradient F from the
    # starting cell, so the plain largest force is below fmax times the norm of F^-1
    deformation = np.linalg.solve(start, atoms.cell.array).T
    assert result.fmax < 0.01 * np.linalg.norm(np.linalg.inv(deformation), 2)
    a_model, a_emt = lattice_constant(atoms), lattice_constant(reference)
    assert abs(a_model - a_emt) / a_emt < 0.005, (a_model, a_emt)
    # the rattle is gone: cubic again to a few mÅ
    assert np.ptp(atoms.cell.lengths()) < 5e-3


def test_relax_cli(quickstart_run, tmp_path, capsys):
    import ase.io

    structure = tmp_path / "cu.extxyz"
    ase.io.write(structure, cu_cell(strain=0.02))
    args = ["relax", str(structure), "--model", str(quickstart_run.run_dir), "--fmax", "0.02"]
    out_file = tmp_path / "relaxed.extxyz"
    code = cli.main([*args, "--cell", "--output", str(out_file), "--log", str(tmp_path / "r.log")])
    assert code == 0 and "converged" in capsys.readouterr().out
    relaxed = ase.io.read(out_file)
    assert relaxed.get_volume() != ase.io.read(structure).get_volume()
    water = tmp_path / "water.xyz"
    ase.io.write(water, ase.build.molecule("H2O"))
    assert cli.main(["relax", str(water), "--model", str(quickstart_run.run_dir)]) == 2
    assert "['H', 'O'] not in the type map ['Cu']" in capsys.readouterr().err
