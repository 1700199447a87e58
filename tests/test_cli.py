import argparse
import json
import subprocess
import sys

import pytest

from eqpot.cli import build_parser, main


def test_tp_describe_json(capsys):
    assert main(["tp", "gaunt_grid", "0e+1o", "0e+1o", "--json", "--expressivity"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["irreps_out"] == "1x0e+1x1o+1x2e"
    assert report["expressivity"]["dimension"] == 5
    assert "1o x 1o -> 1e" not in report["couplings"]


def test_tp_options_and_errors(capsys):
    assert main(["tp", "so2", "2x0e+2x1o", "1o", "-o", "mode=uvu", "-o", "m_max=0"]) == 0
    assert "SO2Product" in capsys.readouterr().out
    assert main(["tp", "gaunt", "0e", "0e"]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert main(["tp", "so2", "0e", "1o", "-o", "mdoe=uvu"]) == 2
    assert capsys.readouterr().err.startswith("eqpot tp: error: so2: unknown option 'mdoe'")


def test_errors_name_the_subcommand(tmp_path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path / "x.xyz"), "--elements", "Xx"]) == 2
    assert capsys.readouterr().err.startswith("eqpot data synth: error: EMT has no parameters")
    assert not (tmp_path / "x.xyz").exists()


def test_console_script_help():
    result = subprocess.run(
        [sys.executable, "-m", "eqpot.cli", "tp", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "expressivity" in result.stdout


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subparsers(sub))


def test_every_command_and_argument_has_help():
    """`eqpot COMMAND --help` explains every argument (argparse prints bare names otherwise)."""
    missing = [
        f"eqpot {name}: {action.dest}"
        for name, sub in _subparsers(build_parser())
        for action in sub._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert not missing, missing


def test_data_info_reads_labels_under_the_keys_given(tmp_path, capsys):
    import ase
    import ase.io

    atoms = ase.Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]])
    atoms.info.update(DFT_energy=-1.0, REF_energy=-2.0)
    path = tmp_path / "dft.extxyz"
    ase.io.write(path, [atoms, atoms])
    assert main(["data", "info", str(path), "--energy-key", "DFT_energy"]) == 0
    assert "labels: energy 2, forces 0" in capsys.readouterr().out
    assert main(["data", "info", str(path), "--energy-key", "DFT_energie"]) == 2
    error = capsys.readouterr().err
    assert "no structure has energy under the key 'DFT_energie'" in error
    assert "'DFT_energy'" in error  # the keys that are there


def test_counts_on_the_command_line_are_checked_by_argparse(capsys):
    for argv, flag in [
        (["data", "synth", "--out", "x.xyz", "--num-per-kind", "0"], "--num-per-kind"),
        (["eval", "run", "x.xyz", "--batch-size", "0"], "--batch-size"),
        (["bench", "tp", "--L", "2", "-1"], "--L"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert f"argument {flag}: must be >= " in capsys.readouterr().err
