"""Tensor-product microbenchmarks: runtime against expressivity, beside e3nn-jax.

Settings (PriceofFreedom's, Xie et al. 2025, plus a channel-wise one; ``s2(L)`` is
``e3nn.s2_irreps(L)`` = 0e+1o+2e+..., one copy per degree):

===============  ===================  =================================================
setting          inputs x1, x2        output
===============  ===================  =================================================
``SISO``         one irrep ``L``      ``(2L)e`` (PoF keeps ``L``, which is an empty
                                      computation for odd ``L``; ``2L`` never is)
``SIMO``         one irrep ``L``      ``s2(2L)``
``MIMO``         ``s2(L)``            ``s2(2L)``
``channelwise``  ``s2(L)``            ``s2(L)`` (DESIGN §5's channel-wise anchor)
===============  ===================  =================================================

``channels`` adds a channel axis: ``(batch, channels, dim)`` and the product acts per
channel. Implementations (``family``):

* eqpot products through :func:`eqpot.tp.make`: ``cg`` (weightless "uv", restricted to the
  output irreps, as PoF's CGTP), ``gaunt_grid``, ``gaunt_fourier``, ``cp`` (mode "uvw",
  random weights, ``L <= CP_MAX_L``) and ``so2`` (x2 is an edge vector ``1x1o``;
  MIMO/channel-wise only);
  each with its kernel implementations (``impl``; today ``xla``);
* peers: ``e3nn_cg`` (``e3nn.tensor_product`` with the same output filter),
  ``e3nn_s2grid`` (``e3nn.to_s2grid`` of both inputs, pointwise product,
  ``e3nn.from_s2grid``, on the same Gauss-Legendre grid as ``gaunt_grid``) and, where
  installed, ``cueq_cg`` (the same CG product as a cuEquivariance segmented polynomial with
  its own coefficients, :func:`eqpot.bench.cueq.cg_product_case`; ``impl`` is its method,
  ``uniform_1d`` on a GPU and ``naive``; timed on its ``ir_mul`` layout, checked for
  equivariance through e3nn's layout).

Orders: ``fwd`` (the product), ``fwd+bwd`` (gradient of ``|T(x1, x2)|^2 / 2`` with respect
to both inputs) and ``2nd`` (gradient of the squared norm of that gradient: what force
training differentiates). Each row also records the equivariance error (random rotation and
inversion, relative to the output's magnitude) with the bound it must stay below, the
computed expressivity and the number of couplings.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterable

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np

import eqpot.tp
from eqpot import kernels, so3
from eqpot.bench import cueq
from eqpot.bench.timing import device_peak_flops, measure, provenance
from eqpot.kernels.cueq import cueq_methods

SETTINGS = ("SISO", "SIMO", "MIMO", "channelwise")
EQPOT_FAMILIES = ("cg", "gaunt_grid", "gaunt_fourier", "cp", "so2")
PEER_FAMILIES = ("e3nn_cg", "e3nn_s2grid", "cueq_cg")
FAMILIES = EQPOT_FAMILIES + PEER_FAMILIES
ORDERS = ("fwd", "fwd+bwd", "2nd")
#: relative equivariance error allowed for an exact product, per dtype of the check. Round-off
#: grows with the degree: at L = 8 (MIMO, outputs to l = 16) eqpot's CG product measured
#: 1e-10 and e3nn-jax's 3e-9 in float64.
EXACT_BOUND = {"float32": 1e-4, "float64": 1e-8}
#: the eqpot product whose math each peer computes (for its expressivity and couplings)
PEER_EQUIVALENT = {"e3nn_cg": "cg", "e3nn_s2grid": "gaunt_grid", "cueq_cg": "cg"}


def default_families() -> tuple[str, ...]:
    """Every family this installation can run (``cueq_cg`` needs cuEquivariance-JAX)."""
    return tuple(f for f in FAMILIES if f != "cueq_cg" or kernels.cueq_installed())


@dataclasses.dataclass(frozen=True)
class Case:
    family: str
    setting: str
    L: int
    channels: int = 1
    batch: int = 1000
    dtype: str = "float32"
    impl: str = "xla"


def setting_irreps(setting: str, L: int) -> tuple[e3nn.Irreps, e3nn.Irreps, e3nn.Irreps]:
    """``(irreps_x1, irreps_x2, irreps_out)`` of a setting at degree ``L``."""
    single = e3nn.Irreps(f"{L}{'e' if L % 2 == 0 else 'o'}")
    s2 = e3nn.s2_irreps
    table = {
        "SISO": (single, single, e3nn.Irreps(f"{2 * L}e")),
        "SIMO": (single, single, s2(2 * L)),
        "MIMO": (s2(L), s2(L), s2(2 * L)),
        "channelwise": (s2(L), s2(L), s2(L)),
    }
    if setting not in table:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    return table[setting]


#: kernel implementations per family beyond "xla" (Pallas only on a GPU: interpret mode on a
#: CPU checks correctness, its timings mean nothing)
PALLAS_FAMILIES = ("gaunt_grid",)


def implementations(family: str) -> tuple[str, ...]:
    if family == "cueq_cg":
        return cueq_methods()
    if family in PEER_FAMILIES:
        return ("xla",)
    if family in PALLAS_FAMILIES and jax.default_backend() == "gpu":
        return ("xla", "pallas")
    return ("xla",)


#: CP factors are fitted per product (minutes at high degree): only up to this L
CP_MAX_L = 4


def applicable(family: str, setting: str, L: int = 0) -> bool:
    if family == "cp" and L > CP_MAX_L:
        return False
    return not (family == "so2" and setting in ("SISO", "SIMO"))


@functools.cache
def eqpot_product(family: str, setting: str, L: int) -> eqpot.tp.TensorProduct:
    i1, i2, out = setting_irreps(setting, L)
    if family == "cg":
        return eqpot.tp.make("cg", i1, i2, out, mode="uv")
    if family == "cp":
        return eqpot.tp.make("cp", i1, i2, out, mode="uvw")
    if family == "so2":
        return eqpot.tp.make("so2", i1, "1x1o", i1)
    return eqpot.tp.make(family, i1, i2, out)


def _e3nn_s2grid(x1: e3nn.IrrepsArray, x2: e3nn.IrrepsArray, irreps_out) -> e3nn.IrrepsArray:
    degree = x1.irreps.lmax + x2.irreps.lmax + e3nn.Irreps(irreps_out).lmax
    res_beta, res_alpha = so3.grid_resolution(degree)
    grid = functools.partial(
        e3nn.to_s2grid,
        res_beta=res_beta,
        res_alpha=res_alpha,
        quadrature="gausslegendre",
        fft=False,
        p_val=1,
        p_arg=-1,
    )
    s1, s2 = grid(x1), grid(x2)
    product = e3nn.SphericalSignal(
        s1.grid_values * s2.grid_values, "gausslegendre", p_val=1, p_arg=-1
    )
    return e3nn.from_s2grid(product, irreps_out, fft=False)


def build(case: Case, e3nn_layout: bool = False):
    """``(fn, (x1, x2, w), irreps)``: ``fn(x1, x2, w) -> IrrepsArray`` on raw arrays.
    ``e3nn_layout``: a peer with its own layout (``cueq_cg``) takes and returns e3nn's, for
    the equivariance check; its timed function works on its own layout."""
    i1, i2, out = setting_irreps(case.setting, case.L)
    if case.family == "so2":
        i2 = e3nn.Irreps("1x1o")
    shape = (case.batch, case.channels) if case.channels > 1 else (case.batch,)
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(case.L), 3)
    x1 = e3nn.normal(i1, k1, shape, dtype=case.dtype).array
    x2 = e3nn.normal(i2, k2, shape, dtype=case.dtype).array
    if case.family == "cueq_cg":
        return _cueq_cg(case, i1, i2, out, x1, x2, e3nn_layout)
    if case.family == "e3nn_cg":

        def fn(a, b, w):
            return e3nn.tensor_product(
                e3nn.IrrepsArray(i1, a),
                e3nn.IrrepsArray(i2, b),
                filter_ir_out=out,
                irrep_normalization="component",
            )

        return fn, (x1, x2, None), (i1, i2)
    if case.family == "e3nn_s2grid":

        def fn(a, b, w):
            return _e3nn_s2grid(e3nn.IrrepsArray(i1, a), e3nn.IrrepsArray(i2, b), out)

        return fn, (x1, x2, None), (i1, i2)
    product = eqpot_product(case.family, case.setting, case.L)
    w = None
    if product.num_weights:
        w = jax.random.normal(k3, (product.num_weights,), case.dtype) / np.sqrt(product.num_weights)

    def fn(a, b, weights):
        return product(e3nn.IrrepsArray(i1, a), e3nn.IrrepsArray(i2, b), weights, impl=case.impl)

    return fn, (x1, x2, w), (i1, i2)


def _cueq_cg(case: Case, i1, i2, out, x1, x2, e3nn_layout: bool):
    product, out_irreps = cueq.cg_product_case(i1, i2, out, case.channels, case.impl)
    c = case.channels
    if e3nn_layout:

        def fn(a, b, w):
            if c == 1:  # one channel: the two layouts coincide
                return e3nn.IrrepsArray(out_irreps, product(a, b))
            y = product(cueq.to_ir_mul(a, i1), cueq.to_ir_mul(b, i2))
            return e3nn.IrrepsArray(out_irreps, cueq.from_ir_mul(y, out_irreps, c))

        return fn, (x1, x2, None), (i1, i2)

    def native(a, b, w):
        y = product(a, b)
        return e3nn.IrrepsArray(f"{y.shape[-1]}x0e", y)  # ir_mul: numbers, not e3nn irreps

    flat = (case.batch, -1)
    return native, (x1.reshape(flat), x2.reshape(flat), None), (i1, i2)


def ordered(fn: Callable, order: str) -> Callable:
    """The function timed for ``order`` (see the module docstring)."""

    def forward(a, b, w):
        return fn(a, b, w).array

    def loss(a, b, w):
        return 0.5 * jnp.sum(forward(a, b, w) ** 2)

    if order == "fwd":
        return forward
    if order == "fwd+bwd":
        return jax.grad(loss, argnums=(0, 1))
    if order == "2nd":
        first = jax.grad(loss, argnums=0)
        return jax.grad(lambda a, b, w: jnp.sum(first(a, b, w) ** 2), argnums=(0, 1))
    raise ValueError(f"order must be one of {ORDERS}, got {order!r}")


def _equivariance(case: Case, samples: int) -> tuple[float, float]:
    small = dataclasses.replace(case, batch=samples)
    fn, (x1, x2, w), (i1, i2) = build(small, e3nn_layout=True)
    d = -e3nn.rand_matrix(jax.random.PRNGKey(7), (), dtype=jnp.float64).astype(case.dtype)
    cp = eqpot_product("cp", case.setting, case.L) if case.family == "cp" else None

    @jax.jit  # one compilation: op by op, the check compiled every primitive on its own
    def check(x1, x2, w):
        out = fn(x1, x2, w)
        rotated = fn(
            e3nn.IrrepsArray(i1, x1).transform_by_matrix(d).array,
            e3nn.IrrepsArray(i2, x2).transform_by_matrix(d).array,
            w,
        )
        error = jnp.max(jnp.abs(rotated.array - out.transform_by_matrix(d).array))
        cp_bound = jnp.zeros(())
        if cp is not None:
            a, b = e3nn.IrrepsArray(i1, x1), e3nn.IrrepsArray(i2, x2)
            cp_bound = jnp.max(cp.equivariance_bound(a, b, w))
        return error, jnp.max(jnp.abs(out.array)), cp_bound

    error, scale, cp_bound = (float(v) for v in check(x1, x2, w))
    return error / scale, EXACT_BOUND[case.dtype] + cp_bound / scale


def equivariance(case: Case, samples: int = 16) -> tuple[float, float, str]:
    """``(error, bound, dtype)``: ``max |T(Dx1, Dx2) - D T(x1, x2)| / max |T|`` for a random
    rotation times inversion, and the bound it must stay below. The check runs in float64
    (exactness is a float64 property; float32 Wigner matrices of degree ~16 alone are off by
    ~1e-4), or in the case's dtype where an implementation has no float64."""
    with jax.enable_x64(True):
        try:
            return (*_equivariance(dataclasses.replace(case, dtype="float64"), samples), "float64")
        except Exception:  # e.g. a GPU kernel without float64
            pass
    return (*_equivariance(case, samples), case.dtype)


@functools.cache
def structure(family: str, setting: str, L: int, with_expressivity: bool) -> dict:
    """Expressivity (computed) and couplings of the product a family runs in a setting."""
    source = PEER_EQUIVALENT.get(family, family)
    product = eqpot_product(source, setting, L)
    row = {"num_couplings": len(product.couplings()), "expressivity_of": source}
    if with_expressivity:
        e = product.expressivity()
        row.update(
            expressivity=e.dimension,
            expressivity_full=e.full_dimension,
            literature_gamma=e.literature_gamma,
        )
    return row


def _rows(case: Case, orders, repeats: int, info: dict, meta: dict, peak: float, log):
    fn, args, _ = build(case)
    error, bound, check_dtype = equivariance(case)
    rows = []
    for order in orders:
        timing = measure(ordered(fn, order), *args, repeats=repeats)
        rows.append(
            {
                **dataclasses.asdict(case),
                "order": order,
                "median_ms": timing.median_ms,
                "compile_s": timing.compile_s,
                "flops": timing.flops,
                "bytes_accessed": timing.bytes_accessed,
                "peak_bytes": timing.peak_bytes,
                "achieved_fraction": timing.achieved_fraction(peak),
                "equivariance_error": error,
                "equivariance_bound": bound,
                "equivariance_dtype": check_dtype,
                **info,
                **meta,
            }
        )
        log(
            f"{case.family:>14}/{case.impl:<6} {case.setting:>11} L={case.L:<2} "
            f"C={case.channels:<3} {order:>7}: {timing.median_ms:9.3f} ms "
            f"(compile {timing.compile_s:5.1f} s), equivariance {error:.1e}"
        )
    return rows


def run(
    families: Iterable[str] | None = None,
    settings: Iterable[str] = ("MIMO",),
    degrees: Iterable[int] = (1, 2, 3, 4),
    channels: Iterable[int] = (1,),
    batch: int = 1000,
    orders: Iterable[str] = ("fwd", "fwd+bwd"),
    dtype: str = "float32",
    repeats: int = 20,
    expressivity_max_L: int = 6,
    log: Callable = print,
) -> list[dict]:
    """One row per (family, setting, L, channels, order); see the module docstring."""
    families = tuple(families or default_families())
    settings, orders = tuple(settings), tuple(orders)
    for values, known, what in (
        (families, FAMILIES, "family"),
        (settings, SETTINGS, "setting"),
        (orders, ORDERS, "order"),
    ):
        for value in values:
            if value not in known:
                raise ValueError(f"unknown {what} {value!r}; known: {', '.join(known)}")
    if "cueq_cg" in families and not kernels.cueq_installed():
        raise ValueError("family 'cueq_cg' needs cuEquivariance-JAX: pip install 'eqpot[cueq]'")
    peak = device_peak_flops(dtype)
    meta = {**provenance(), "peak_flops": peak}
    rows = []
    grid = itertools.product(families, settings, degrees, channels)
    for family, setting, L, c in grid:
        if not applicable(family, setting, L):
            continue
        info = structure(family, setting, L, expressivity_max_L >= L)
        for impl in implementations(family):
            rows += _rows(
                Case(family, setting, L, c, batch, dtype, impl),
                orders,
                repeats,
                info,
                meta,
                peak,
                log,
            )
    return rows
