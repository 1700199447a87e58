"""The tensor-product benchmark harness at tiny sizes: schema, bounds, expressivity, files."""

import json

import pytest

from eqpot import cli, kernels
from eqpot.bench import report, tp

CUEQ_FAMILY = ("cueq_cg",) if kernels.cueq_installed() else ()

REQUIRED = {
    "family": str,
    "setting": str,
    "L": int,
    "channels": int,
    "batch": int,
    "dtype": str,
    "impl": str,
    "order": str,
    "median_ms": float,
    "compile_s": float,
    "equivariance_error": float,
    "equivariance_bound": float,
    "num_couplings": int,
    "device": str,
    "machine": str,
    "jax": str,
    "python": str,
    "date": str,
    "peak_flops": float,
}


@pytest.fixture(scope="module")
def rows():
    small = dict(batch=4, repeats=2, orders=("fwd", "fwd+bwd"), log=lambda *a: None)
    runs = tp.run(settings=("MIMO",), degrees=(2,), **small)
    runs += tp.run(settings=("SISO",), degrees=(1,), **small)
    runs += tp.run(
        families=("cg", "gaunt_grid", "e3nn_cg", *CUEQ_FAMILY),
        settings=("channelwise",),
        degrees=(2,),
        channels=(3,),
        batch=4,
        repeats=2,
        orders=("2nd",),
        log=lambda *a: None,
    )
    return runs


def test_every_row_has_the_schema(rows):
    families = {r["family"] for r in rows}
    assert families == set(tp.default_families())  # every eqpot product and every peer
    assert set(tp.FAMILIES) - families <= {"cueq_cg"}  # cuEquivariance only where installed
    for row in rows:
        for key, kind in REQUIRED.items():
            assert isinstance(row[key], kind), (key, row)
        assert row["median_ms"] > 0 and row["compile_s"] > 0
        assert row["flops"] is None or row["flops"] >= 0
    assert {r["order"] for r in rows} == {"fwd", "fwd+bwd", "2nd"}
    assert not [r for r in rows if r["family"] == "so2" and r["setting"] == "SISO"]


def test_equivariance_errors_are_below_each_products_bound(rows):
    for row in rows:
        assert row["equivariance_error"] < row["equivariance_bound"], row
    cp = [r for r in rows if r["family"] == "cp" and r["setting"] == "MIMO"]
    assert cp and max(r["equivariance_error"] for r in cp) > 1e-4  # CP is approximate here


def test_expressivity_is_computed_for_the_products_own_setting(rows):
    """The harness's Jacobian-rank expressivity meets the literature's closed-form path
    counts (an independent formula) for the product, setting and degree of each row."""
    checked = 0
    for row in rows:
        product = tp.eqpot_product(row["expressivity_of"], row["setting"], row["L"])
        assert row["num_couplings"] == len(product.couplings())
        if row["literature_gamma"] is not None:
            assert row["expressivity"] == row["literature_gamma"], row
            checked += 1
    assert checked > 10
    peer = next(r for r in rows if r["family"] == "e3nn_s2grid" and r["L"] == 2)
    assert peer["expressivity_of"] == "gaunt_grid"
    assert peer["expressivity"] == 4 * 2 + 1  # PoF: Gaunt reaches 4L+1 of CG's
    for row in rows:
        if row["family"] in ("e3nn_cg", "cueq_cg"):
            assert row["expressivity_of"] == "cg"
            assert row["expressivity"] == row["expressivity_full"]  # CG reaches every map


def test_report_files_and_table(rows, tmp_path):
    table = report.write(rows, tmp_path, "tp")
    for suffix in (".csv", ".json", "_time.png", "_pareto.png", "_fastest.md"):
        assert (tmp_path / f"tp{suffix}").stat().st_size > 0
    assert len(json.loads((tmp_path / "tp.json").read_text())) == len(rows)
    mimo = next(line for line in table.splitlines() if line.startswith("| MIMO | 1 | 2 |"))
    ratios = [cell.strip() for cell in mimo.strip(" |").split("|")[-3:]]
    assert "–" not in ratios[: 2 + len(CUEQ_FAMILY)]  # e3nn CG, S2 grid (and cuEquivariance)


def test_pareto_front():
    points = [(1.0, 5), (2.0, 4), (2.0, 9), (3.0, 9), (0.5, 1), (4.0, 20)]
    assert report.pareto_front(points) == [(0.5, 1), (1.0, 5), (2.0, 9), (4.0, 20)]


def test_cli_rejects_unknown_family(tmp_path, capsys):
    code = cli.main(["bench", "tp", "--families", "gaunt", "--out", str(tmp_path)])
    assert code == 2 and "unknown family 'gaunt'" in capsys.readouterr().err
