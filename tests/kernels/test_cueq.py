"""eqpot's coefficients as cuEquivariance segmented polynomials: the forms its CUDA kernel
(method ``uniform_1d``) accepts, and the choice of ``impl="cueq"``. (Values and every
derivative order against XLA: ``test_message.py``, ``test_polynomial_pallas.py`` and
``tests/models/test_kernel_impl.py``, through the pure-JAX method on a CPU.)"""

import contextlib
import importlib.util

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import pytest

import eqpot.tp
from eqpot import kernels
from eqpot.models.mace import spherical_irreps
from eqpot.nn.symmetric_contraction import symmetric_contraction_polynomial

pytest.importorskip("cuequivariance_jax", reason="cuEquivariance-JAX not installed (eqpot[cueq])")

from eqpot.kernels import cueq


def _uniform_1d_error(poly, inputs, outputs, indices, configuration) -> str:
    """Run cuEquivariance's uniform_1d preparation (its checks of the polynomial's form)
    up to the point where it loads the CUDA ops; return the error it stops with."""
    from cuequivariance_jax.segmented_polynomials.segmented_polynomial_uniform_1d import (
        execute_uniform_1d,
    )

    with contextlib.suppress(NotImplementedError):  # as cuex does before dispatching
        poly = poly.unsymmetrize_for_identical_operands()
    with pytest.raises(ValueError) as error:
        execute_uniform_1d(inputs, outputs, indices, configuration, poly, {}, "test")
    return str(error.value)


needs_no_ops = pytest.mark.skipif(
    importlib.util.find_spec("cuequivariance_ops_jax") is not None,
    reason="the CUDA ops are installed: the GPU tests run the kernel itself",
)


@needs_no_ops
def test_message_polynomial_has_the_uniform_1d_form():
    channels, nodes, edges = 8, 5, 7
    product = eqpot.tp.make(
        "cg",
        e3nn.Irreps("0e+1o+2e") * channels,
        spherical_irreps(3),
        spherical_irreps(3, channels),
        mode="uvu",
    )
    table = product.message_table
    poly = cueq.message_polynomial(table)
    inputs = [
        jnp.ones((edges, table.num_paths * channels)),
        jnp.ones((nodes, table.dim_in * channels)),
        jnp.ones((edges, table.dim_edge)),
    ]
    outputs = [jax.ShapeDtypeStruct((nodes, table.dim_out * channels), jnp.float32)]
    indices = [jnp.zeros(edges, jnp.int32)] * 2  # senders (input 1), receivers (output)
    configuration = ((-1,), (0,), (-1,), (1,))
    assert "cuequivariance_ops_jax is not installed" in _uniform_1d_error(
        poly, inputs, outputs, indices, configuration
    )


@needs_no_ops
def test_contraction_polynomial_has_the_uniform_1d_form():
    channels, nodes, elements = 8, 6, 3
    poly, _ = symmetric_contraction_polynomial("0e+1o+2e+3o", "0e+1o", 3, "ordered")
    segmented = cueq.segmented_polynomial(poly, channels)
    assert [len(stp.operands) for _, stp in segmented.operations] == [3, 4, 5]  # degrees 1-3
    inputs = [
        jnp.ones((nodes, poly.input_dims[0] * channels)),
        jnp.ones((elements, poly.input_dims[1] * channels)),  # weights, read at the species
    ]
    outputs = [jax.ShapeDtypeStruct((nodes, poly.out_dim * channels), jnp.float32)]
    configuration = ((-1,), (0,), (-1,))
    assert "cuequivariance_ops_jax is not installed" in _uniform_1d_error(
        segmented, inputs, outputs, [jnp.zeros(nodes, jnp.int32)], configuration
    )


def test_a_polynomial_that_breaks_the_form_is_refused():
    """The check above can fail: two channel counts in one polynomial are not uniform."""
    import cuequivariance as cue

    stp = cue.SegmentedTensorProduct.from_subscripts("u,u")
    stp.add_segments(0, [(4,), (8,)])
    stp.add_segments(1, [(4,), (8,)])
    stp.add_path(0, 0, c=1.0)
    stp.add_path(1, 1, c=1.0)
    poly = cue.SegmentedPolynomial.eval_last_operand(stp)
    message = _uniform_1d_error(
        poly,
        [jnp.ones((3, 12))],
        [jax.ShapeDtypeStruct((3, 12), jnp.float32)],
        [],
        ((-1,), (-1,)),
    )
    assert "uniform" in message and "not installed" not in message


def test_cueq_method_follows_the_backend_and_the_environment(monkeypatch):
    monkeypatch.delenv(cueq.METHOD_ENV_VAR, raising=False)
    cuda_ops = importlib.util.find_spec("cuequivariance_ops_jax") is not None
    expected = "uniform_1d" if jax.default_backend() == "gpu" and cuda_ops else "naive"
    assert cueq.cueq_method() == expected
    monkeypatch.setenv(cueq.METHOD_ENV_VAR, "uniform_1d")
    assert cueq.cueq_method() == "uniform_1d"


def test_cueq_is_offered_only_where_installed(monkeypatch):
    assert "cueq" in kernels.with_cueq(("xla",))
    monkeypatch.setattr(kernels._impl, "cueq_installed", lambda: False)
    assert kernels.with_cueq(("xla",)) == ("xla",)
    with pytest.raises(ValueError, match=r"no 'cueq' implementation .*install eqpot\[cueq\]"):
        kernels.resolve_impl("channelwise_message", "cueq", kernels.with_cueq(("xla",)))
    monkeypatch.setenv(kernels.ENV_VAR, "cueq")  # a preference: the default runs
    assert kernels.resolve_impl("channelwise_message", None, kernels.with_cueq(("xla",))) == "xla"
