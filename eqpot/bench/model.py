"""Model-level benchmarks: the MACE message, the symmetric contraction, and MD steps.

* ``message``: DESIGN §5's MACE-style message — ``nodes`` nodes, ``edges`` random edges,
  node irreps ``C x (0e+1o+2e)``, edge harmonics ``0e+...+3o``, outputs up to ``l = 3``,
  per-edge weights, gather of the senders' features and scatter-sum to the receivers.
  eqpot runs it through the product MACE uses (``message_product``: ``cg`` channel-wise,
  ``so2`` with the edge vector, ``gaunt_grid``); e3nn-jax's reference is
  ``e3nn.tensor_product`` followed by the per-edge, per-path weights.
* ``symmetric_contraction``: ``nodes`` nodes, ``C x (0e+1o+2e+3o) -> C x (0e+1o)``,
  correlation 3, element-dependent weights (``num_elements`` elements), forward.
* ``md_step``: energy, forces and stress through :class:`eqpot.calculator.EqpotCalculator`
  on rattled fcc Cu (what ``benchmarks/md_throughput.py`` sweeps).

Timings follow :mod:`eqpot.bench.timing` (median after warm-up, compile time apart).
"""

from __future__ import annotations

import statistics
import time

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import eqpot.tp
from eqpot import kernels, models
from eqpot.bench import cueq
from eqpot.bench.timing import measure
from eqpot.bench.tp import ordered
from eqpot.kernels.cueq import cueq_method, cueq_methods
from eqpot.models.mace import spherical_irreps
from eqpot.nn.product_basis import ProductBasis

MESSAGE_PRODUCTS = ("cg", "so2", "gaunt_grid", "e3nn")
#: the same products through their Pallas kernels ("family:impl"; timed on a GPU only —
#: on a CPU they run in the Pallas interpreter)
PALLAS_MESSAGE_PRODUCTS = ("cg:pallas", "so2:pallas", "gaunt_grid:pallas")
#: cuEquivariance, where installed: its own channel-wise product ("cueq": uniform_1d on a
#: GPU, naive elsewhere; "cueq:naive"), and eqpot's CG message executed by it ("cg:cueq")
CUEQ_MESSAGE_PRODUCTS = ("cueq", "cueq:naive", "cg:cueq")


def default_message_products() -> tuple[str, ...]:
    on_gpu = jax.default_backend() == "gpu"
    cueq = CUEQ_MESSAGE_PRODUCTS if kernels.cueq_installed() else ()
    return MESSAGE_PRODUCTS + (PALLAS_MESSAGE_PRODUCTS if on_gpu else ()) + cueq


def default_contraction_impls() -> tuple[str, ...]:
    """eqpot's implementations, then cuEquivariance's own contraction (``cueq-<method>``)."""
    on_gpu = jax.default_backend() == "gpu"
    impls = ("xla", "pallas") if on_gpu else ("xla",)
    if not kernels.cueq_installed():
        return impls
    return (*impls, "cueq", *(f"cueq-{method}" for method in cueq_methods()))


CUTOFF = 5.0
FCC_REPEATS = {
    64: (2, 2, 4),
    256: (4, 4, 4),
    512: (4, 4, 8),
    1024: (4, 8, 8),
    2048: (8, 8, 8),
    4096: (8, 8, 16),
}
MACE_PEER = dict(
    num_bessel=8,
    max_ell=3,
    max_L=1,
    correlation=3,
    num_interactions=2,
    radial_MLP=(64, 64, 64),
    avg_num_neighbors=40.0,
)
STEP_MODELS = {
    "mace-small": ("mace", dict(MACE_PEER, num_channels=64)),
    "mace-medium": ("mace", dict(MACE_PEER, num_channels=128)),
    "mace-small-pallas": ("mace", dict(MACE_PEER, num_channels=64, kernel_impl="pallas")),
    "mace-medium-pallas": ("mace", dict(MACE_PEER, num_channels=128, kernel_impl="pallas")),
    "mace-small-cueq": ("mace", dict(MACE_PEER, num_channels=64, kernel_impl="cueq")),
    "mace-medium-cueq": ("mace", dict(MACE_PEER, num_channels=128, kernel_impl="cueq")),
    "tensornet": ("tensornet", dict(hidden_channels=128, num_layers=2, num_rbf=32)),
    "escn": (
        "escn",
        dict(
            sphere_channels=64, hidden_channels=64, edge_channels=64, lmax=3, mmax=2, num_layers=2
        ),
    ),
}


def _graph(nodes: int, edges: int, key):
    ks, kr, kv = jax.random.split(key, 3)
    senders = jax.random.randint(ks, (edges,), 0, nodes)
    receivers = jax.random.randint(kr, (edges,), 0, nodes)
    vectors = jax.random.normal(kv, (edges, 3))
    return senders, receivers, vectors


def message_case(
    product: str, nodes: int = 2000, edges: int = 60000, channels: int = 128, dtype: str = "float32"
):
    """``(fn, args)`` with ``fn(h, vectors, weights) -> (nodes, dim)`` for one product
    (``"family"`` through XLA, ``"family:impl"`` through another kernel implementation,
    ``"e3nn"``, ``"cueq"`` / ``"cueq:method"``)."""
    family, _, impl = product.partition(":")
    irreps_in = e3nn.Irreps("0e+1o+2e") * channels
    sh_irreps, target = spherical_irreps(3), spherical_irreps(3, channels)
    senders, receivers, vectors = _graph(nodes, edges, jax.random.PRNGKey(0))
    h = e3nn.normal(irreps_in.regroup(), jax.random.PRNGKey(1), (nodes,), dtype=dtype)
    if family == "cueq":
        method = impl or cueq_method()
        fn, num_weights = cueq.message_case(method, senders, receivers, vectors, channels, dtype)
    elif family == "e3nn":
        probe = e3nn.tensor_product(
            h[:1], e3nn.spherical_harmonics(sh_irreps, vectors[:1], True), filter_ir_out=target
        )
        num_weights = probe.irreps.num_irreps

        def fn(x, v, w):
            y = e3nn.tensor_product(
                e3nn.IrrepsArray(irreps_in, x)[senders],
                e3nn.spherical_harmonics(sh_irreps, v, True),
                filter_ir_out=target,
            )
            y = e3nn.elementwise_tensor_product(y, e3nn.IrrepsArray(f"{num_weights}x0e", w))
            return jax.ops.segment_sum(y.array, receivers, num_segments=nodes)
    else:
        options = {"mode": "uvu"} if family in ("cg", "so2") else {}
        edge_irreps = "1x1o" if family == "so2" else sh_irreps
        tp = eqpot.tp.make(family, irreps_in, edge_irreps, target, **options)
        num_weights = tp.num_weights

        def fn(x, v, w):
            if family == "so2":
                edge = e3nn.IrrepsArray("1x1o", v / jnp.linalg.norm(v, axis=-1, keepdims=True))
            else:
                edge = e3nn.spherical_harmonics(sh_irreps, v, True)
            x = e3nn.IrrepsArray(irreps_in, x)
            return tp.message(x, edge, w, senders, receivers, impl=impl or "xla").array

    weights = jax.random.normal(jax.random.PRNGKey(2), (edges, num_weights), dtype)
    return fn, (h.array, vectors.astype(dtype), weights)


def message(products=None, orders=("fwd", "fwd+bwd"), repeats: int = 20, **shape) -> list[dict]:
    rows = []
    for product in products or default_message_products():
        fn, args = message_case(product, **shape)

        def as_irreps(x, v, w, fn=fn):
            out = fn(x, v, w)
            return e3nn.IrrepsArray(f"{out.shape[-1]}x0e", out)

        for order in orders:
            t = measure(ordered(as_irreps, order), *args, repeats=repeats)
            rows.append(
                dict(
                    op="message",
                    impl=product,
                    order=order,
                    median_ms=t.median_ms,
                    compile_s=t.compile_s,
                    flops=t.flops,
                    peak_bytes=t.peak_bytes,
                    **shape,
                )
            )
    return rows


def symmetric_contraction(
    nodes: int = 5000,
    channels: int = 128,
    num_elements: int = 4,
    basis: str = "symmetric",
    repeats: int = 20,
    dtype: str = "float32",
    impl: str = "xla",
) -> dict:
    """Forward time of MACE's product basis at DESIGN §5's symmetric-contraction shape;
    ``impl="cueq-<method>"`` times cuEquivariance's own contraction instead."""
    features = jax.random.normal(jax.random.PRNGKey(0), (nodes, channels, 16), dtype)
    species = jax.random.randint(jax.random.PRNGKey(1), (nodes,), 0, num_elements)
    if impl.startswith("cueq-"):
        fn, size = cueq.contraction_case(impl.removeprefix("cueq-"), channels, num_elements)
        weights = jax.random.normal(jax.random.PRNGKey(2), (num_elements, size), dtype)
        t = measure(fn, weights, features.reshape(nodes, -1), species, repeats=repeats)
        name = impl
    else:
        t = _product_basis_time(features, species, num_elements, basis, repeats, impl)
        name = f"eqpot-{basis}-{impl}"
    return dict(
        op="symmetric_contraction",
        impl=name,
        order="fwd",
        median_ms=t.median_ms,
        compile_s=t.compile_s,
        flops=t.flops,
        peak_bytes=t.peak_bytes,
        nodes=nodes,
        channels=channels,
        num_elements=num_elements,
    )


def _product_basis_time(features, species, num_elements, basis, repeats, impl):
    channels, dtype = features.shape[1], features.dtype
    module = ProductBasis(
        "0e+1o+2e+3o",
        "0e+1o",
        3,
        num_elements,
        channels,
        basis=basis,
        impl=impl,
        dtype=jnp.dtype(dtype),
        rngs=nnx.Rngs(0),
    )
    graphdef, state = nnx.split(module)

    def fn(state, x, s):
        return nnx.merge(graphdef, state)(x, s)

    return measure(fn, state, features, species, repeats=repeats)


def step_potential(name: str, dtype: str = "float32") -> models.Potential:
    kind, config = STEP_MODELS[name]
    model = models.build(kind, num_elements=1, r_max=CUTOFF, dtype=dtype, **config)
    return models.Potential(model)


def md_step(
    pot: models.Potential, atoms, skin: float, repeats: int = 20, max_seconds: float = 60.0
) -> dict:
    """A fresh calculator (its first call compiles), then the median of timed MD-like steps
    (every atom moved by ~1e-3 Å, energy+forces+stress); fewer repeats when a step is slow."""
    from eqpot.calculator import EqpotCalculator

    # its first call is timed as the compile: not a load from the persistent cache
    calc = EqpotCalculator(pot, [29], CUTOFF, skin=skin, persistent_cache=False)
    rng = np.random.default_rng(0)
    times = []
    while len(times) <= repeats:
        start = time.perf_counter()
        calc.calculate(atoms, ["energy", "forces", "stress"])
        times.append((time.perf_counter() - start) * 1e3)
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        if len(times) == 3:
            repeats = max(5, min(repeats, int(1e3 * max_seconds / times[-1])))
    ms = statistics.median(times[1:])
    return dict(
        compile_s=times[0] / 1e3,
        ms_per_step=ms,
        atom_steps_per_s=len(atoms) * 1e3 / ms,
        num_edges=calc.edge_count_range[1],
        compiles=calc.compile_count,
        repeats=len(times) - 1,
    )


def fcc_copper(atoms: int):
    import ase.build

    cell = ase.build.bulk("Cu", "fcc", a=3.61, cubic=True).repeat(FCC_REPEATS[atoms])
    cell.rattle(0.05, seed=0)
    return cell
