"""The ``eqpot`` command line: a thin layer that parses arguments and calls the library.

Subcommands: ``quickstart`` (the main job), ``train`` (a YAML recipe with ``key=value``
overrides), ``eval`` (errors of a trained run on any files), ``md`` and ``relax`` (ASE
dynamics and optimisers with a trained model), ``tp`` (describe a tensor product), ``bench``
(microbenchmarks beside e3nn-jax and cuEquivariance) and ``data`` (generate synthetic EMT
data, list and inspect datasets).

Each command is a pair: ``_add_<command>_command(sub)`` declares its arguments and the
handler beside it runs them. :func:`main` turns the library's errors (config, data, value
errors) into one line on stderr prefixed with the command as typed, and exit status 2.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import sys

import eqpot


def _parse_option(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"option {text!r} is not key=value")
    key, value = text.split("=", 1)
    for convert in (int, float):
        try:
            return key, convert(value)
        except ValueError:
            pass
    return key, None if value.lower() == "none" else value


REPEATS_HELP = "timed calls after warm-up; the median is reported"


def _int_at_least(lowest: int):
    """An argparse ``type``: an integer >= ``lowest`` (argparse names the flag in the error)."""

    def parse(text: str) -> int:
        value = int(text)  # a ValueError becomes argparse's "invalid int value"
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be >= {lowest}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


COUNT = _int_at_least(1)  # sizes, steps, repeats
DEGREE = _int_at_least(0)


def _add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help="where named datasets live (default: $EQPOT_DATA, else ../shared/data)",
    )


LABEL_KEY_FLAGS = {"energy": "energy", "forces": "forces", "stress": "stress", "virial": "virials"}


def _add_label_key_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """``--energy-key`` etc., the training config's ``energy_key`` etc. (mace-torch's);
    ``default`` describes the lookup without one, with ``{name}`` for the label."""
    for name, flag in LABEL_KEY_FLAGS.items():
        parser.add_argument(
            f"--{flag}-key",
            help=f"key of the {flag} labels in the files (default: {default.format(name=name)})",
        )


def _label_keys(args: argparse.Namespace, base=None):
    """``base`` (default: the default lookup) with the keys given by
    :func:`_add_label_key_arguments` replaced."""
    from eqpot.datasets import LabelKeys

    given = {name: getattr(args, f"{flag}_key") for name, flag in LABEL_KEY_FLAGS.items()}
    chosen = {name: key for name, key in given.items() if key is not None}
    return dataclasses.replace(base or LabelKeys(), **chosen)


def _add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--which",
        default="best",
        choices=("best", "last"),
        help="checkpoint: lowest validation loss (default) or last epoch",
    )
    parser.add_argument(
        "--dtype",
        default=None,
        choices=("float32", "float64"),
        help="precision to run in (default: the one the model was trained in)",
    )
    parser.add_argument(
        "--head",
        default=None,
        help="energy head of a multi-head fine-tuned model, by name (default: the last, "
        "fine_tuned)",
    )


def _add_structure_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("structure", help="structure file readable by ASE (extxyz, CIF, POSCAR…)")
    parser.add_argument("--model", required=True, help="run directory of a trained model")
    _add_checkpoint_arguments(parser)
    parser.add_argument("--index", default="-1", help="frame of the file (default: the last)")


def _structure_and_calculator(args: argparse.Namespace):
    from eqpot.calculator import EqpotCalculator
    from eqpot.datasets import read_structures

    atoms = read_structures(args.structure, args.index)[-1]
    atoms.calc = EqpotCalculator.from_checkpoint(
        args.model, args.which, dtype=args.dtype, head=args.head
    )
    return atoms


def _add_tp_command(sub) -> None:
    """``eqpot tp``: describe a tensor product."""
    tp_parser = sub.add_parser(
        "tp",
        help="describe a tensor product: output irreps, weights, couplings, expressivity",
        description="Build a tensor product with eqpot.tp.make and describe it.",
    )
    tp_parser.add_argument("family", help="cg | gaunt_fourier | gaunt_grid | so2 | cp")
    tp_parser.add_argument("irreps_in1", help='first operand, e.g. "0e+1o+2e"')
    tp_parser.add_argument("irreps_in2", help='second operand (so2: "1o", the edge vector)')
    tp_parser.add_argument("irreps_out", nargs="?", default=None, help="output irreps (optional)")
    tp_parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        type=_parse_option,
        metavar="KEY=VALUE",
        help="family option, e.g. mode=uvu, m_max=2",
    )
    tp_parser.add_argument(
        "--expressivity", action="store_true", help="also compute the expressivity (numerical rank)"
    )
    tp_parser.add_argument("--json", action="store_true", help="print JSON")
    tp_parser.set_defaults(run=_describe)


def _describe(args: argparse.Namespace) -> int:
    import eqpot.tp as tp

    product = tp.make(
        args.family, args.irreps_in1, args.irreps_in2, args.irreps_out, **dict(args.option)
    )
    report = {
        "family": product.family,
        "irreps_in1": str(product.irreps_in1),
        "irreps_in2": str(product.irreps_in2),
        "irreps_out": str(product.irreps_out),
        "num_weights": product.num_weights,
        "weight_blocks": [
            {"name": b.name, "offset": b.offset, "shape": list(b.shape)}
            for b in product.weight_layout()
        ],
        "couplings": [str(c) for c in product.couplings()],
    }
    if args.expressivity:
        e = product.expressivity()
        report["expressivity"] = {
            "dimension": e.dimension,
            "full_dimension": e.full_dimension,
            "literature_gamma": e.literature_gamma,
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{product!r}")
    print(f"  output irreps : {report['irreps_out']}")
    print(f"  weights       : {product.num_weights} in {len(report['weight_blocks'])} blocks")
    print(f"  couplings     : {len(report['couplings'])}")
    for c in report["couplings"]:
        print(f"    {c}")
    if args.expressivity:
        e = report["expressivity"]
        print(
            f"  expressivity  : {e['dimension']} of {e['full_dimension']} "
            f"(literature gamma: {e['literature_gamma']})"
        )
    return 0


def _add_quickstart_command(sub) -> None:
    """``eqpot quickstart``: the README's main job."""
    quick = sub.add_parser(
        "quickstart",
        help="the main job: synthetic EMT Cu data -> small MACE -> held-out errors",
        description="Generate the embedded EMT copper data if absent, train the quickstart "
        "recipe (train/configs/quickstart.yaml) and evaluate it on held-out structures.",
    )
    quick.add_argument("--workdir", default=".", help="where quickstart-data/ and runs/ go")
    quick.add_argument("--resume", action="store_true", help="continue an interrupted run")
    quick.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    quick.set_defaults(run=_quickstart)


def _quickstart(args: argparse.Namespace) -> int:
    import time

    from eqpot.train.quickstart import quickstart

    start = time.perf_counter()
    result = quickstart(args.workdir, args.overrides, resume=args.resume)
    test = next((v for k, v in result.metrics.items() if k not in ("train", "valid")), None)
    print(f"\nquickstart finished in {time.perf_counter() - start:.0f} s; run in {result.run_dir}")
    if test is not None:
        print(
            f"held-out force RMSE {1e3 * test['rmse_f']:.1f} meV/Å "
            f"(RMS force of the data {1e3 * test['rms_f_ref']:.0f} meV/Å)"
        )
    print("next: eqpot eval", result.run_dir, "FILE.extxyz   |   eqpot train train/configs/...")
    return 0


def _add_train_command(sub) -> None:
    """``eqpot train``: a YAML recipe with overrides, or ``--resume``."""
    train = sub.add_parser(
        "train",
        help="train a potential from a YAML config",
        description="Train from a YAML recipe (see train/configs/); KEY=VALUE arguments "
        "override it (model_config.KEY=VALUE for model hyperparameters). Ctrl-C or SIGTERM "
        "stops after the current epoch and checkpoints it (exit 130/143; continue with "
        "--resume); a second one stops at once.",
    )
    train.add_argument("config", nargs="?", help="YAML recipe")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    train.add_argument(
        "--from",
        dest="resume_from",
        choices=("last", "best"),
        default="last",
        help="with --resume: the checkpoint to continue from (default last, the exact state; "
        "best: its weights with a fresh optimiser state)",
    )
    train.add_argument(
        "--keys", action="store_true", help="list every config key with its default and exit"
    )
    train.set_defaults(run=_train)


def _train(args: argparse.Namespace) -> int:
    from eqpot.train import ConfigError, fit, load_config

    if args.keys:
        from eqpot.train.config import describe_keys

        print(describe_keys())
        return 0
    if args.resume:
        from pathlib import Path

        if args.config is not None:  # with --resume, every positional is an override
            args.overrides = [args.config, *args.overrides]
        run_dir = Path(args.resume)
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"--resume {run_dir}: not an eqpot run directory (no config.yaml)")
        config = load_config(run_dir / "config.yaml", args.overrides)
        if (Path(config.run_dir) / config.name).resolve() != run_dir.resolve():
            config = load_config(
                run_dir / "config.yaml",
                [f"run_dir={run_dir.parent}", f"name={run_dir.name}", *args.overrides],
            )
        fit(config, resume=True, resume_from=args.resume_from)
        return 0
    if args.config is None:
        raise SystemExit("eqpot train: give a CONFIG file or --resume RUN_DIR")
    fit(load_config(args.config, args.overrides))
    return 0


def _add_eval_command(sub) -> None:
    """``eqpot eval``: errors of a trained run."""
    ev = sub.add_parser(
        "eval",
        help="errors of a trained run on files or named datasets",
        description="Energy, force and stress RMSE/MAE of a run's checkpoint.",
    )
    ev.add_argument("checkpoint", help="run directory (holds model.json and checkpoints/)")
    ev.add_argument("files", nargs="+", help="files, dataset names or name:split")
    _add_checkpoint_arguments(ev)
    ev.add_argument("--batch-size", type=COUNT, default=10, help="structures per batch")
    _add_data_dir_argument(ev)
    ev.add_argument(
        "--by-config-type",
        action="store_true",
        help="also a row per config_type (atoms.info) of each file, e.g. mlearn's Elastic, "
        "Surface, Vacancy, AIMD-NVT",
    )
    ev.add_argument("--json", help="also write the metrics here")
    ev.add_argument("--plots", help="write parity plots (PNG) into this directory")
    ev.add_argument(
        "--output",
        help="write the structures with their predictions (eqpot_energy, eqpot_forces, "
        "eqpot_stress) to this extended-XYZ file; unlabelled structures are predicted too",
    )
    _add_label_key_arguments(ev, "the key the run was trained with")
    ev.set_defaults(run=_eval)


def _eval(args: argparse.Namespace) -> int:

    from eqpot.train.evaluate import evaluate_run, format_table, run_label_keys, write_json

    rows = evaluate_run(
        args.checkpoint,
        args.files,
        which=args.which,
        dtype=args.dtype,
        batch_size=args.batch_size,
        data_dir=args.data_dir,
        keys=_label_keys(args, run_label_keys(args.checkpoint)),
        by_config_type=args.by_config_type,
        plots=args.plots,
        output=args.output,
        head=args.head,
    )
    print(format_table(rows))
    if args.json:
        write_json(args.json, rows)
    if args.output:
        print(f"predictions of each structure written to {args.output}")
    return 0


def _add_export_command(sub) -> None:
    """``eqpot export``: a run's weights as a model directory, one energy head."""
    ex = sub.add_parser(
        "export",
        help="a run's weights (one energy head) as a model directory to use or fine-tune",
        description="Write the weights of a run's checkpoint (EMA when kept) for one energy "
        "head, without the training state, as a new directory that eval, md, relax, the "
        "ASE calculator and foundation_model= read as they read a run (for a multi-head "
        "fine-tuned run, mace-torch's mace_select_head).",
    )
    ex.add_argument("checkpoint", help="run directory (holds model.json and checkpoints/)")
    ex.add_argument("output", help="the new model directory (must not exist)")
    _add_checkpoint_arguments(ex)
    ex.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from eqpot.train import checkpoint
    from eqpot.train.export import export_model

    out = export_model(args.checkpoint, args.output, args.head, args.which, args.dtype)
    record = checkpoint.read_model_file(out)
    print(
        f"wrote {out}: {record['model']} in {record['dtype']}; use it as "
        f"`eqpot eval {out} FILE` or foundation_model={out}"
    )
    return 0


def _add_md_command(sub) -> None:
    """``eqpot md``: ASE dynamics with a trained model."""
    md = sub.add_parser(
        "md",
        help="molecular dynamics with a trained model (ASE integrators)",
        description="NVE (velocity Verlet), NVT (Langevin) or NPT (isotropic MTK) dynamics; "
        "writes a trajectory and a log (energies, temperature, pressure) and reports "
        "ms/step, atom-steps/s and ns/day.",
    )
    _add_structure_arguments(md)
    md.add_argument(
        "--ensemble",
        default="nvt",
        choices=("nve", "nvt", "npt"),
        help="velocity Verlet, Langevin or isotropic MTK barostat",
    )
    md.add_argument("--steps", type=COUNT, default=1000, help="number of MD steps")
    md.add_argument("--timestep", type=float, default=1.0, help="fs")
    md.add_argument("--temperature", type=float, default=300.0, help="K (initial for NVE)")
    md.add_argument("--friction", type=float, default=0.01, help="Langevin friction, 1/fs")
    md.add_argument("--pressure", type=float, default=0.0, help="NPT pressure, GPa")
    md.add_argument("--interval", type=COUNT, default=10, help="steps between log rows/frames")
    md.add_argument("--output", default="md.extxyz", help=".traj or extxyz trajectory")
    md.add_argument("--log", default="md.log", help="text log: energies, T, pressure")
    md.add_argument("--seed", type=int, default=0, help="initial velocities, Langevin noise")
    md.set_defaults(run=_md)


def _md(args: argparse.Namespace) -> int:
    from eqpot.sim import energy_drift, run_md

    atoms = _structure_and_calculator(args)
    result = run_md(
        atoms,
        args.ensemble,
        steps=args.steps,
        timestep=args.timestep,
        temperature=args.temperature,
        friction=args.friction,
        pressure=args.pressure,
        interval=args.interval,
        trajectory=args.output,
        logfile=args.log,
        seed=args.seed,
    )
    print(result.summary())
    print(
        f"compiled shapes: {result.compile_count}; neighbour-list builds: "
        f"{result.neighbor_list_builds}"
    )
    if args.ensemble == "nve" and len(result.log) > 1:
        drift = energy_drift(result.log, len(atoms))
        print(
            f"energy drift {drift['slope_meV_per_atom_per_ps']:.3g} meV/atom/ps "
            f"(largest deviation {drift['max_deviation_meV_per_atom']:.3g} meV/atom)"
        )
    print(f"trajectory: {args.output}; log: {args.log}")
    return 0


def _add_relax_command(sub) -> None:
    """``eqpot relax``: ASE optimisers with a trained model."""
    rx = sub.add_parser(
        "relax",
        help="relax positions (and optionally the cell) with a trained model",
        description="FIRE or BFGS until the largest force is below --fmax; --cell relaxes "
        "the cell through FrechetCellFilter. Exit status 1 when it did not converge.",
    )
    _add_structure_arguments(rx)
    rx.add_argument("--optimizer", default="FIRE", choices=("FIRE", "BFGS"), help="ASE optimiser")
    rx.add_argument("--fmax", type=float, default=0.01, help="eV/Å")
    rx.add_argument("--steps", type=COUNT, default=1000, help="at most this many steps")
    rx.add_argument("--cell", action="store_true", help="relax the cell too")
    rx.add_argument("--pressure", type=float, default=0.0, help="GPa, with --cell")
    rx.add_argument("--output", default="relaxed.extxyz", help="relaxed structure")
    rx.add_argument("--log", default="relax.log", help="optimiser log")
    rx.set_defaults(run=_relax)


def _relax(args: argparse.Namespace) -> int:
    import ase.io

    from eqpot.sim import relax

    atoms = _structure_and_calculator(args)
    result = relax(
        atoms,
        args.optimizer,
        fmax=args.fmax,
        steps=args.steps,
        cell=args.cell,
        pressure=args.pressure,
        logfile=args.log,
    )
    ase.io.write(args.output, atoms, format="extxyz")
    print(result.summary())
    if args.cell:
        lengths = ", ".join(f"{x:.5f}" for x in atoms.cell.lengths())
        print(f"cell lengths {lengths} Å; volume {atoms.get_volume():.4f} Å^3")
    print(f"final structure: {args.output}; log: {args.log}")
    return 0 if result.converged else 1


def _add_bench_command(sub) -> None:
    """``eqpot bench tp | model``: microbenchmarks beside the peers."""
    bench = sub.add_parser("bench", help="microbenchmarks: tensor products against peers")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    _add_bench_tp_command(bench_sub)
    _add_bench_model_command(bench_sub)


def _add_bench_tp_command(sub) -> None:
    """``eqpot bench tp``: the tensor-product sweep."""
    btp = sub.add_parser(
        "tp",
        help="time, FLOPs, memory, equivariance and expressivity of tensor products",
        description="Sweep products (eqpot families and e3nn-jax peers), degrees, channels "
        "and PriceofFreedom settings; write CSV, JSON, plots and the fastest-product table.",
    )
    btp.add_argument(
        "--families",
        nargs="+",
        default=None,
        help="cg gaunt_grid gaunt_fourier cp so2 e3nn_cg e3nn_s2grid cueq_cg (default: all "
        "this installation runs)",
    )
    btp.add_argument("--settings", nargs="+", default=["MIMO"], help="SISO SIMO MIMO channelwise")
    btp.add_argument(
        "--L", type=DEGREE, nargs="+", default=[1, 2, 3, 4, 5, 6], help="max degrees to sweep"
    )
    btp.add_argument(
        "--channels", type=COUNT, nargs="+", default=[1], help="multiplicities to sweep"
    )
    btp.add_argument("--batch", type=COUNT, default=1000, help="products per call")
    btp.add_argument("--orders", nargs="+", default=["fwd", "fwd+bwd"], help="fwd fwd+bwd 2nd")
    btp.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="precision")
    btp.add_argument("--repeats", type=COUNT, default=20, help=REPEATS_HELP)
    btp.add_argument(
        "--expressivity-max-L",
        type=DEGREE,
        default=6,
        help="compute expressivity up to this L (it costs a Jacobian rank)",
    )
    btp.add_argument("--out", default="bench-results", help="output directory")
    btp.add_argument("--name", default="tp", help="file name stem")
    btp.set_defaults(run=_bench_tp)


def _bench_tp(args: argparse.Namespace) -> int:
    from eqpot.bench import report, tp

    if args.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    rows = tp.run(
        families=args.families or tp.default_families(),
        settings=args.settings,
        degrees=args.L,
        channels=args.channels,
        batch=args.batch,
        orders=args.orders,
        dtype=args.dtype,
        repeats=args.repeats,
        expressivity_max_L=args.expressivity_max_L,
    )
    print(report.write(rows, args.out, args.name))
    print(f"results: {args.out}/{args.name}.csv, .json, _time.png, _pareto.png, _fastest.md")
    return 0


def _add_bench_model_command(sub) -> None:
    """``eqpot bench model``: messages, contractions, MD steps."""
    bmodel = sub.add_parser(
        "model",
        help="MACE message, symmetric contraction and MD steps of each model",
        description="DESIGN §5 shapes: the MACE message (eqpot products beside e3nn-jax), "
        "the symmetric contraction, and energy+forces+stress steps through the calculator.",
    )
    bmodel.add_argument(
        "--products",
        nargs="+",
        default=None,
        help="cg so2 gaunt_grid e3nn, family:pallas, family:cueq, and cuEquivariance's own "
        "product cueq / cueq:naive / cueq:uniform_1d (default: all available; Pallas on a "
        "GPU only)",
    )
    bmodel.add_argument("--nodes", type=COUNT, default=2000, help="message benchmark: nodes")
    bmodel.add_argument("--edges", type=COUNT, default=60000, help="message benchmark: edges")
    bmodel.add_argument("--channels", type=COUNT, default=128, help="channels per irrep")
    bmodel.add_argument(
        "--sc-nodes", type=COUNT, default=5000, help="symmetric contraction benchmark: nodes"
    )
    bmodel.add_argument(
        "--sc-impls",
        nargs="+",
        default=None,
        help="xla pallas cueq (eqpot's contraction), cueq-naive cueq-uniform_1d "
        "(cuEquivariance's own); default: all available",
    )
    bmodel.add_argument(
        "--models",
        nargs="+",
        default=["mace-small", "tensornet", "escn"],
        help="mace-small mace-medium tensornet escn, mace-{small,medium}-{pallas,cueq}",
    )
    bmodel.add_argument(
        "--sizes",
        type=COUNT,
        nargs="+",
        default=[64, 512],
        help="fcc Cu atoms: 64 256 512 1024 2048 4096",
    )
    bmodel.add_argument("--skin", type=float, default=-1.0, help="Å; negative: the default")
    bmodel.add_argument("--repeats", type=COUNT, default=20, help=REPEATS_HELP)
    bmodel.add_argument("--out", default="bench-results/model.json", help="result JSON")
    bmodel.set_defaults(run=_bench_model)


def _bench_model(args: argparse.Namespace) -> int:
    from pathlib import Path

    from eqpot.bench import model, provenance

    rows = model.message(
        args.products,
        nodes=args.nodes,
        edges=args.edges,
        channels=args.channels,
        repeats=args.repeats,
    )
    for impl in args.sc_impls or model.default_contraction_impls():
        rows.append(
            model.symmetric_contraction(
                args.sc_nodes, args.channels, repeats=args.repeats, impl=impl
            )
        )
    for name in args.models:
        pot = model.step_potential(name)
        for n in args.sizes:
            step = model.md_step(
                pot,
                model.fcc_copper(n),
                skin=None if args.skin < 0 else args.skin,
                repeats=args.repeats,
            )
            rows.append(dict(op="md_step", impl=name, atoms=n, **step))
    for row in rows:
        ms = row.get("median_ms", row.get("ms_per_step"))
        detail = row.get("order") or f"{row['atoms']} atoms"
        print(f"{row['op']:>22} {row['impl']:>18} {detail:>10}: {ms:10.3f} ms")
    record = dict(**provenance(), rows=rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(f"results: {args.out}")
    return 0


def _add_data_command(sub) -> None:
    """``eqpot data synth | list | info``."""
    data = sub.add_parser("data", help="datasets: synthesize EMT data, list, inspect")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    synth = data_sub.add_parser("synth", help="write EMT-labelled periodic data (extxyz)")
    synth.add_argument("--out", required=True, help="output file, e.g. data/emt_cu.xyz")
    synth.add_argument("--elements", default="Cu", help="comma-separated EMT elements")
    synth.add_argument("--num-per-kind", type=COUNT, default=20, help="structures per kind")
    synth.add_argument("--seed", type=int, default=0, help="structures and rattling")
    synth.set_defaults(run=_data_synth)
    listing = data_sub.add_parser("list", help="the named datasets and where they are")
    _add_data_dir_argument(listing)
    listing.set_defaults(run=_data_list)
    info = data_sub.add_parser("info", help="counts and labels of a dataset split or file")
    info.add_argument("dataset", help="a registry name or a file path")
    info.add_argument("--split", default="train", help="e.g. train, test (eqpot data list)")
    _add_data_dir_argument(info)
    _add_label_key_arguments(info, "REF_{name}, {name}, then the file's calculator")
    info.set_defaults(run=_data_info)


def _data_synth(args: argparse.Namespace) -> int:
    from eqpot import datasets

    elements = [e.strip() for e in args.elements.split(",") if e.strip()]
    frames = datasets.generate(elements, num_per_kind=args.num_per_kind, seed=args.seed)
    path = datasets.write_dataset(args.out, frames)
    kinds = sorted({a.info["config_type"] for a in frames})
    print(f"wrote {len(frames)} EMT-labelled structures ({', '.join(kinds)}) to {path}")
    return 0


def _data_list(args: argparse.Namespace) -> int:
    from eqpot import datasets

    try:
        root = datasets.data_dir(args.data_dir)
    except datasets.DataError:
        root = None
    for name, entry in datasets.REGISTRY.items():
        here = root is not None and (root / entry.directory).is_dir()
        print(f"{name:15s} {'found ' if here else 'absent'} splits: {', '.join(entry.splits)}")
        print(f"{'':15s} {entry.description}; {entry.licence}")
    print(f"data directory: {root if root else 'none (set EQPOT_DATA)'}")
    return 0


def _data_info(args: argparse.Namespace) -> int:
    from eqpot import datasets

    keys = _label_keys(args)
    structures = datasets.load(args.dataset, args.split, data_dir=args.data_dir, keys=keys)
    sizes = [len(a) for a in structures]
    has = {
        k: sum(1 for a in structures if datasets.labels(a)[k] is not None)
        for k in ("energy", "forces", "stress")
    }
    elements = sorted({s for a in structures for s in a.get_chemical_symbols()})
    print(f"{len(structures)} structures, {min(sizes)}-{max(sizes)} atoms, elements {elements}")
    print("labels: " + ", ".join(f"{k} {v}" for k, v in has.items()))
    kinds = collections.Counter(datasets.labels(a)["config_type"] for a in structures)
    print("config types: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    return 0


COMMAND_LEVELS = ("command", "bench_command", "data_command")  # the subparsers' dests
COMMANDS = (
    _add_quickstart_command,
    _add_train_command,
    _add_eval_command,
    _add_export_command,
    _add_md_command,
    _add_relax_command,
    _add_tp_command,
    _add_bench_command,
    _add_data_command,
)


#: the commands that run a model, whose summary ends with the compile-time line
COMPILING_COMMANDS = ("quickstart", "train", "eval", "md", "relax")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eqpot",
        description="E(3)-equivariant interatomic potentials in JAX: train, evaluate, run "
        "MD and relaxations, describe and benchmark tensor products. Start with "
        "`eqpot quickstart`; `eqpot COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"eqpot {eqpot.__version__}")
    parser.add_argument(
        "--compile-cache",
        metavar="DIR|off",
        default=None,
        help="JAX's persistent compilation cache of the model commands (quickstart, train, "
        "eval, md, relax): a directory, or off (default: $EQPOT_COMPILE_CACHE, else the user "
        "cache directory, ~/.cache/eqpot/jax on Linux)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from eqpot.datasets import DataError
    from eqpot.train import ConfigError, TrainingDivergedError, TrainingInterruptedError

    # the command as typed, e.g. "eqpot data info", to prefix its error messages
    command = " ".join(
        ["eqpot", *(getattr(args, d) for d in COMMAND_LEVELS if getattr(args, d, None))]
    )
    from eqpot.compilation import CompileClock, enable_persistent_cache

    # only for the commands that run a model: `eqpot bench` measures compile times itself
    clock = None
    if args.command in COMPILING_COMMANDS:
        enable_persistent_cache(args.compile_cache)
        clock = CompileClock()
    try:
        status = args.run(args)
        if clock is not None:
            print(clock.summary())
        return status
    except BrokenPipeError:  # the reader went away (`eqpot train --keys | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # the shell's code for SIGPIPE
    except TrainingInterruptedError as e:
        print(f"{command}: {e}", file=sys.stderr)
        return 128 + e.signum  # the shell's code for a process ended by that signal
    except (
        ConfigError,
        DataError,
        FileNotFoundError,
        FileExistsError,
        TrainingDivergedError,
        ValueError,
    ) as e:
        print(f"{command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
