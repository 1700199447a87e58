"""Model-level benchmarks at tiny sizes: every message product runs, rows are complete."""

import json

import numpy as np

from eqpot import cli, kernels
from eqpot.bench import model


def test_message_and_contraction_rows():
    rows = model.message(nodes=6, edges=20, channels=2, repeats=2)
    impls = {r["impl"] for r in rows}
    assert impls == set(model.default_message_products())
    assert set(model.MESSAGE_PRODUCTS) <= impls and not any("pallas" in i for i in impls)
    if kernels.cueq_installed():  # cuEquivariance's own product and eqpot's run by it
        assert set(model.CUEQ_MESSAGE_PRODUCTS) <= impls
    assert {r["order"] for r in rows} == {"fwd", "fwd+bwd"}
    assert all(r["median_ms"] > 0 and r["compile_s"] > 0 for r in rows)
    for impl in model.default_contraction_impls():
        row = model.symmetric_contraction(nodes=6, channels=2, repeats=2, impl=impl)
        assert row["op"] == "symmetric_contraction" and row["median_ms"] > 0
        assert row["impl"] == (impl if impl.startswith("cueq-") else f"eqpot-symmetric-{impl}")


def test_message_shapes_match_the_peer():
    for product in model.default_message_products():
        fn, (h, vectors, w) = model.message_case(product, nodes=5, edges=12, channels=2)
        out = fn(h, vectors, w)
        assert out.shape[0] == 5 and out.shape[1] > 0
        assert bool((abs(out) > 0).any())


def test_pallas_and_cueq_message_cases_equal_xla():
    """The "family:pallas" and "cg:cueq" rows compute what the XLA rows compute (Pallas in
    interpret mode, cuEquivariance's pure-JAX method here)."""
    cueq = ("cg:cueq",) if kernels.cueq_installed() else ()
    for product in model.PALLAS_MESSAGE_PRODUCTS + cueq:
        family = product.partition(":")[0]
        fn, args = model.message_case(product, nodes=5, edges=12, channels=2, dtype="float64")
        reference, _ = model.message_case(family, nodes=5, edges=12, channels=2, dtype="float64")
        np.testing.assert_allclose(fn(*args), reference(*args), rtol=1e-10, atol=1e-12)


def test_bench_model_cli(tmp_path, capsys):
    out = tmp_path / "model.json"
    code = cli.main(
        [
            "bench",
            "model",
            "--products",
            "cg",
            "e3nn",
            "--nodes",
            "6",
            "--edges",
            "20",
            "--channels",
            "2",
            "--sc-nodes",
            "6",
            "--models",
            "tensornet",
            "--sizes",
            "64",
            "--repeats",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    record = json.loads(out.read_text())
    steps = [r for r in record["rows"] if r["op"] == "md_step"]
    assert steps and steps[0]["compiles"] == 1 and steps[0]["ms_per_step"] > 0
