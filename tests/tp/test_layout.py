"""The mul_ir <-> channels-first layout changes of ``eqpot.tp.base``: values and the shape
of their derivatives (one concatenate, no per-block pads summed by consumers)."""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eqpot import tp
from eqpot.tp.base import channels_first, channels_last, irreps_blocks, regroup

IRREPS = e3nn.Irreps("3x0e+3x1o+3x2e+3x1o")


def _primitives(fn, *args) -> set[str]:
    return {str(eqn.primitive) for eqn in jax.make_jaxpr(fn)(*args).eqns}


def test_channels_first_and_last_are_inverse_and_match_chunks():
    x = e3nn.normal(IRREPS, jax.random.PRNGKey(0), (5,))
    y = channels_first(x)
    assert y.shape == (5, 3, 1 + 3 + 5 + 3)
    start = 0
    for chunk, (_, ir) in zip(x.chunks, IRREPS, strict=True):
        np.testing.assert_array_equal(y[..., start : start + ir.dim], chunk)
        start += ir.dim
    back = channels_last(y, [ir for _, ir in IRREPS])
    np.testing.assert_array_equal(back, x.array)
    for block, chunk in zip(irreps_blocks(x), x.chunks, strict=True):
        np.testing.assert_array_equal(block, chunk)


def test_channels_first_needs_one_multiplicity():
    with pytest.raises(ValueError, match="one multiplicity"):
        channels_first(e3nn.normal("2x0e+3x1o", jax.random.PRNGKey(0), (2,)))


@pytest.mark.parametrize("direction", ["first", "last"])
def test_layout_cotangents_are_one_concatenate(direction):
    irs = [ir for _, ir in IRREPS]
    if direction == "first":
        fn = lambda a: channels_first(e3nn.IrrepsArray(IRREPS, a))  # noqa: E731
        arg = jnp.ones((4, IRREPS.dim))
    else:
        fn = lambda a: channels_last(a, irs)  # noqa: E731
        arg = jnp.ones((4, 3, 12))
    _, vjp = jax.vjp(fn, arg)
    used = _primitives(vjp, fn(arg))
    assert "concatenate" in used
    assert "pad" not in used and "add_any" not in used


def test_cg_message_blocks_are_sorted_so_regroup_moves_no_data():
    product = tp.make("cg", "4x0e+4x1o+4x2e", "0e+1o+2e+3o", "4x0e+4x1o+4x2e+4x3o", mode="uvu")
    assert product.irreps_out == product.irreps_out.sort().irreps
    x = e3nn.normal(product.irreps_out, jax.random.PRNGKey(1), (3,))
    np.testing.assert_array_equal(regroup(x).array, x.regroup().array)
    assert _primitives(lambda a: regroup(e3nn.IrrepsArray(x.irreps, a)).array, x.array) <= {"pjit"}
    unsorted = e3nn.normal("2x1o+2x0e+1x1o", jax.random.PRNGKey(2), (3,))
    np.testing.assert_array_equal(regroup(unsorted).array, unsorted.regroup().array)
    assert regroup(unsorted).irreps == unsorted.regroup().irreps
