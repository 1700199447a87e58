import e3nn_jax as e3nn
import jax.numpy as jnp
import numpy as np
import pytest

import eqpot.tp as tp
from eqpot import so3
from tests.helpers import np_max_abs, random_inputs, random_weights


def _gaunt_via_cg(x1, x2, lmax_out):
    """CG product restricted to l1+l2+l3 even, with the Gaunt path weights."""
    cg = tp.make("cg", x1.irreps, x2.irreps)
    paths = cg(x1, x2)
    out = {}
    for path in cg.table.paths:
        ir3, chunk = cg.irreps_out[path.out].ir, paths.chunks[path.out]
        l1, l2 = cg.irreps_in1[path.in1].ir.l, cg.irreps_in2[path.in2].ir.l
        if (l1 + l2 + ir3.l) % 2 or ir3.l > lmax_out:
            continue
        c = so3.clebsch_gordan(l1, l2, ir3.l)
        # (1/4pi) \int YYY for component-normalised Y = sqrt(4pi) x textbook Gaunt
        ratio = np.sqrt(4 * np.pi) * np.sum(so3.gaunt(l1, l2, ir3.l) * c) / np.sqrt(2 * ir3.l + 1)
        out[ir3.l] = out.get(ir3.l, 0) + ratio * chunk[..., 0, :]
    return jnp.concatenate([out[l] for l in sorted(out)], axis=-1)


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 6])
def test_grid_fourier_and_restricted_cg_agree(L):
    s2 = e3nn.s2_irreps(L)
    grid, fourier = tp.make("gaunt_grid", s2, s2), tp.make("gaunt_fourier", s2, s2)
    x1, x2 = random_inputs(grid, L, batch=4)
    a, b = grid(x1, x2).array, fourier(x1, x2).array
    assert np_max_abs(a, b) < 1e-10
    assert np_max_abs(a, _gaunt_via_cg(x1, x2, 2 * L)) < 1e-10


@pytest.mark.parametrize("family", ["gaunt_grid", "gaunt_fourier"])
def test_odd_couplings_vanish(family):
    # 1o x 1o has parity +1: its l3 = 1 part (1e: the cross product) has l1+l2+l3 odd
    product = tp.make(family, "1x1o", "1x1o", "1x0e+1x1o+1x2e")
    x1, x2 = random_inputs(product, 0, batch=16)
    out = product(x1, x2)
    assert float(jnp.max(jnp.abs(out.filter("1o").array))) < 1e-14
    assert float(jnp.max(jnp.abs(out.filter(drop="1o").array))) > 1e-2
    assert all((c.ir1.l + c.ir2.l + c.ir_out.l) % 2 == 0 for c in product.couplings())


@pytest.mark.parametrize("family", ["gaunt_grid", "gaunt_fourier"])
def test_channels_weights_and_broadcast_operand(family):
    product = tp.make(family, "3x0e+3x1o+3x2e", "1x0e+1x1o", "3x0e+3x1o+3x3o")
    x1, x2 = random_inputs(product, 1, batch=2)
    w = random_weights(product, 2)
    out = product(x1, x2, w)
    w1, w2, w3 = (w[b.offset : b.offset + b.size].reshape(b.shape) for b in product.weight_layout())
    plain = tp.make(family, "0e+1o+2e", "0e+1o", "0e+1o+3o")
    for c in range(3):
        a = e3nn.IrrepsArray(
            "0e+1o+2e", x1.mul_to_axis(3).array[:, c] * jnp.repeat(w1[c], jnp.array([1, 3, 5]))
        )
        b = e3nn.IrrepsArray("0e+1o", x2.array * jnp.repeat(w2[c], jnp.array([1, 3])))
        expected = plain(a, b).array * jnp.repeat(w3[c], jnp.array([1, 3, 7]))
        assert np_max_abs(out.mul_to_axis(3).array[:, c], expected) < 1e-12


def test_gaunt_errors():
    with pytest.raises(ValueError, match="linear layer"):
        tp.make("gaunt_grid", "2x0e+1x1o", "0e")
    with pytest.raises(ValueError, match="exceeds"):
        tp.make("gaunt_fourier", "0e+1o", "0e+1o", "0e+3o")
    with pytest.raises(ValueError, match="too coarse"):
        tp.make("gaunt_grid", "0e+1o", "0e+1o", res_beta=2, res_alpha=3)
