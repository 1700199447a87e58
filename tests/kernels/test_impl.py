import jax.numpy as jnp
import numpy as np
import pytest

from eqpot import kernels


def test_resolution_order(monkeypatch):
    monkeypatch.delenv(kernels.ENV_VAR, raising=False)
    assert kernels.resolve_impl("k", None) == "xla"
    assert kernels.resolve_impl("k", "xla") == "xla"
    monkeypatch.setenv(kernels.ENV_VAR, "xla")
    assert kernels.resolve_impl("k", None) == "xla"
    monkeypatch.setenv(kernels.ENV_VAR, "bogus")
    with pytest.raises(ValueError, match="environment variable EQPOT_KERNEL_IMPL='bogus'"):
        kernels.resolve_impl("k", None)
    assert kernels.resolve_impl("k", "auto") == "xla"  # the argument wins over the environment


def test_environment_is_a_preference_argument_is_strict(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, "pallas")
    assert kernels.resolve_impl("k", None, ("xla", "pallas")) == "pallas"
    assert kernels.resolve_impl("k", None) == "xla"  # a kernel without Pallas runs its default
    with pytest.raises(ValueError, match="no 'pallas' implementation"):
        kernels.resolve_impl("k", "pallas")


def test_unavailable_implementation_is_a_clear_error():
    with pytest.raises(ValueError, match="kernel 'contract_paths' has no 'pallas'"):
        kernels.resolve_impl("contract_paths", "pallas")


def test_contract_paths_padding_and_weight_checks():
    seg = kernels.Segment(0, 1, 1)
    path = kernels.Path(0, 0, 0, "uvw", np.ones((1, 1, 1)), 0, (1, 1, 1))
    table = kernels.PathTable((seg,), (seg,), (seg, kernels.Segment(1, 2, 3)), (path,), 1)
    out = kernels.contract_paths(table, jnp.array([[2.0]]), jnp.array([[3.0]]), jnp.array([0.5]))
    np.testing.assert_array_equal(out, [[3.0, 0, 0, 0, 0, 0, 0]])  # unfed segment is zero
    with pytest.raises(ValueError, match="needs weights"):
        kernels.contract_paths(table, jnp.ones((1, 1)), jnp.ones((1, 1)))
    with pytest.raises(ValueError, match="expected 1"):
        kernels.contract_paths(table, jnp.ones((1, 1)), jnp.ones((1, 1)), jnp.ones(2))
