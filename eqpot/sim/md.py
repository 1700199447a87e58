"""Molecular dynamics through ASE integrators, with a log, a trajectory and throughput.

Ensembles (ASE's integrators; ``dt`` in fs, ``T`` in K, ``p`` in GPa):

* ``nve``: velocity Verlet (``ase.md.verlet.VelocityVerlet``);
* ``nvt``: Langevin (``ase.md.langevin.Langevin``, friction in 1/fs; the centre of mass
  diffuses freely, as ASE recommends for correct sampling);
* ``npt``: isotropic Martyna-Tobias-Klein Nose-Hoover chains
  (``ase.md.nose_hoover_chain.IsotropicMTKNPT``; ``tdamp``/``pdamp`` in fs).

Velocities start from a Maxwell-Boltzmann distribution at ``temperature`` (seeded) with the
centre-of-mass motion removed. Every ``interval`` steps a log row (time in ps, potential,
kinetic and total energy in eV, temperature in K, pressure in GPa when the cell has a
volume) and a trajectory frame are written. Throughput excludes the first evaluation,
which compiles: ``ms_per_step``, ``atom_steps_per_s`` and ``ns_per_day = dt[fs] * 86400 / (ms
per step) * 1e-3``.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import ase
import ase.io
import numpy as np
from ase import units
from ase.md.langevin import Langevin
from ase.md.nose_hoover_chain import IsotropicMTKNPT
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet
from tqdm.auto import tqdm

from eqpot.sim.arguments import check_arguments

ENSEMBLES = ("nve", "nvt", "npt")
LOG_COLUMNS = ("step", "time_ps", "epot_eV", "ekin_eV", "etot_eV", "temperature_K", "pressure_GPa")


@dataclasses.dataclass
class MDResult:
    """What a run did: its log rows (columns ``LOG_COLUMNS``) and its throughput."""

    atoms: ase.Atoms
    steps: int
    timestep_fs: float
    log: np.ndarray
    first_call_s: float
    ms_per_step: float
    compile_count: int | None
    neighbor_list_builds: int | None

    @property
    def atom_steps_per_s(self) -> float:
        return len(self.atoms) * 1e3 / self.ms_per_step

    @property
    def ns_per_day(self) -> float:
        return self.timestep_fs * 1e-6 * 86400e3 / self.ms_per_step

    def summary(self) -> str:
        return (
            f"{self.steps} steps of {self.timestep_fs} fs, {len(self.atoms)} atoms: "
            f"{self.ms_per_step:.2f} ms/step, {self.atom_steps_per_s:.3g} atom-steps/s, "
            f"{self.ns_per_day:.3g} ns/day (first call with compile {self.first_call_s:.1f} s)"
        )


def _integrator(atoms, ensemble, dt_fs, temperature, friction, pressure, tdamp, pdamp, seed):
    dt = dt_fs * units.fs
    if ensemble == "nve":
        return VelocityVerlet(atoms, timestep=dt)
    if ensemble == "nvt":
        rng = np.random.default_rng(seed + 1)
        return Langevin(
            atoms, dt, temperature_K=temperature, friction=friction / units.fs, fixcm=False, rng=rng
        )
    if ensemble == "npt":
        if not np.all(atoms.pbc) or abs(atoms.cell.volume) < 1e-12:
            raise ValueError("npt needs a fully periodic cell with a volume")
        return IsotropicMTKNPT(
            atoms,
            dt,
            temperature_K=temperature,
            pressure_au=pressure * units.GPa,
            tdamp=tdamp * units.fs,
            pdamp=pdamp * units.fs,
        )
    raise ValueError(f"ensemble must be one of {ENSEMBLES}, got {ensemble!r}")


def _row(atoms: ase.Atoms, step: int, dt_fs: float) -> list[float]:
    epot = atoms.get_potential_energy()
    ekin = atoms.get_kinetic_energy()
    pressure = np.nan
    if abs(atoms.cell.volume) > 1e-12:
        pressure = -np.trace(atoms.get_stress(voigt=False, include_ideal_gas=True)) / 3
        pressure /= units.GPa
    temperature = atoms.get_temperature()
    return [step, step * dt_fs * 1e-3, epot, ekin, epot + ekin, temperature, pressure]


def run_md(
    atoms: ase.Atoms,
    ensemble: str = "nvt",
    *,
    steps: int = 1000,
    timestep: float = 1.0,
    temperature: float = 300.0,
    friction: float = 0.01,
    pressure: float = 0.0,
    tdamp: float = 100.0,
    pdamp: float = 1000.0,
    interval: int = 10,
    trajectory: str | Path | None = None,
    logfile: str | Path | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> MDResult:
    """Run ``steps`` MD steps of ``atoms`` (which carry their calculator) in ``ensemble``.

    ``trajectory``: ``.traj`` (ASE trajectory) or any other suffix (extended XYZ), a frame
    every ``interval`` steps. ``logfile``: whitespace-separated columns ``LOG_COLUMNS``.
    ``progress``: a tqdm bar (default: when stderr is a terminal).
    """
    if atoms.calc is None:
        raise ValueError("the atoms have no calculator (set atoms.calc first)")
    check_arguments(
        ("steps", steps, steps >= 1, ">= 1"),
        ("interval", interval, interval >= 1, ">= 1"),
        ("timestep", timestep, timestep > 0, "> 0 fs"),
        ("temperature", temperature, temperature >= 0, ">= 0 K"),
        ("friction", friction, friction >= 0, ">= 0 1/fs"),
        ("tdamp", tdamp, tdamp > 0, "> 0 fs"),
        ("pdamp", pdamp, pdamp > 0, "> 0 fs"),
    )
    thermalize_momenta(atoms, temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    dyn = _integrator(
        atoms, ensemble, timestep, temperature, friction, pressure, tdamp, pdamp, seed
    )
    rows: list[list[float]] = []
    traj = _trajectory_writer(trajectory)
    log = open(logfile, "w") if logfile else None  # noqa: SIM115 - closed below
    if log:
        log.write("# " + " ".join(LOG_COLUMNS) + "\n")

    def record():
        rows.append(_row(atoms, dyn.nsteps, timestep))
        if log:
            log.write(" ".join(f"{v:.10g}" for v in rows[-1]) + "\n")
            log.flush()
        if traj:
            traj(atoms)

    show = sys.stderr.isatty() if progress is None else progress
    try:
        start = time.perf_counter()
        record()  # the first evaluation compiles
        first = time.perf_counter() - start
        start = time.perf_counter()
        with tqdm(total=steps, disable=not show, unit="step") as bar:
            for _ in range(steps):
                dyn.run(1)
                if dyn.nsteps % interval == 0:
                    record()
                bar.update()
        elapsed = time.perf_counter() - start
    finally:
        if log:
            log.close()
    calc = atoms.calc
    return MDResult(
        atoms=atoms,
        steps=steps,
        timestep_fs=timestep,
        log=np.array(rows, np.float64).reshape(-1, len(LOG_COLUMNS)),
        first_call_s=first,
        ms_per_step=1e3 * elapsed / steps,
        compile_count=getattr(calc, "compile_count", None),
        neighbor_list_builds=getattr(calc, "neighbor_list_builds", None),
    )


def _trajectory_writer(path: str | Path | None):
    if path is None:
        return None
    path = Path(path)
    if path.exists():
        path.unlink()
    if path.suffix == ".traj":
        from ase.io.trajectory import Trajectory

        writer = Trajectory(str(path), "w")
        return writer.write
    return lambda atoms: ase.io.write(path, atoms, format="extxyz", append=True)


def energy_drift(log: np.ndarray, num_atoms: int) -> dict[str, float]:
    """Total-energy drift of an NVE log: the least-squares slope (meV/atom/ps) and the
    largest deviation from the first value (meV/atom)."""
    t, etot = log[:, 1], log[:, 4]
    slope = np.polyfit(t, etot, 1)[0] if len(t) > 1 else 0.0
    return {
        "slope_meV_per_atom_per_ps": 1e3 * slope / num_atoms,
        "max_deviation_meV_per_atom": 1e3 * float(np.max(np.abs(etot - etot[0]))) / num_atoms,
        "duration_ps": float(t[-1] - t[0]) if len(t) else 0.0,
    }
