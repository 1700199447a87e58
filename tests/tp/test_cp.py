import itertools

import e3nn_jax as e3nn
import jax.numpy as jnp
import numpy as np
import pytest

import eqpot.tp as tp
from tests.helpers import random_inputs, random_o3, random_weights


def _rotation_error(product, q, x1, x2, w):
    out = product(x1, x2, w)
    rotated = product(x1.transform_by_matrix(q), x2.transform_by_matrix(q), w)
    diff = rotated.array - out.transform_by_matrix(q).array
    return jnp.linalg.norm(diff, axis=-1)


@pytest.mark.parametrize("mode", ["uvw", "uvu"])
@pytest.mark.parametrize("rank", [3, 7, 12])
def test_equivariance_error_within_reported_bound(mode, rank):
    product = tp.make("cp", "2x0e+2x1o+2x2e", "2x0e+2x1o+2x2e", rank=rank, mode=mode)
    assert 0 < product.relative_error < 1  # genuinely approximate at these ranks
    x1, x2 = random_inputs(product, rank, batch=8)
    w = random_weights(product, rank + 1)
    bound = product.equivariance_bound(x1, x2, w)
    for seed, inversion in [(0, False), (1, True), (2, False)]:
        error = _rotation_error(product, random_o3(seed, inversion), x1, x2, w)
        assert bool(jnp.all(error <= bound)), (error, bound)
    assert float(jnp.max(error)) > 1e-6  # the check is not vacuous


@pytest.mark.xla_optimized
def test_approaches_cg_as_rank_grows():
    irreps = "2x0e+2x1o+2x2e"
    cg = tp.make("cg", irreps, irreps, tp.make("cp", irreps, irreps, rank=1).irreps_out)
    fit_errors, deviations = [], []
    for rank in (2, 12, 30, 45, 60, 81):
        product = tp.make("cp", irreps, irreps, rank=rank)
        x1, x2 = random_inputs(product, 0, batch=4)
        w = random_weights(product, 1)
        w_cg = jnp.concatenate([w for _ in cg.table.paths])  # one channel weight on every path
        deviation = jnp.linalg.norm(product(x1, x2, w).array - cg(x1, x2, w_cg).array, axis=-1)
        # |T_CP - T| <= eps sum |W| |x| |y|: half the equivariance bound
        assert bool(jnp.all(deviation <= product.equivariance_bound(x1, x2, w) / 2 + 1e-12))
        fit_errors.append(product.relative_error)
        deviations.append(float(jnp.max(deviation)))
    assert all(b < a for a, b in itertools.pairwise(fit_errors))  # strictly improving fit
    assert fit_errors[0] > 0.5 and deviations[0] > 1e-2
    assert fit_errors[-1] == 0.0 and deviations[-1] < 1e-12  # full rank: exactly the CG product


def test_factors_are_deterministic_and_cached(tmp_path):
    a = tp.make("cp", "0e+1o+2e", "0e+1o+2e", rank=10, seed=3, cache=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    b = tp.make("cp", "0e+1o+2e", "0e+1o+2e", rank=10, seed=3, cache=tmp_path)
    for fa, fb in zip(a.factors, b.factors, strict=True):
        np.testing.assert_array_equal(fa, fb)
    files[0].unlink()  # a refit from the same seed reproduces the factors
    c = tp.make("cp", "0e+1o+2e", "0e+1o+2e", rank=10, seed=3, cache=tmp_path)
    for fa, fc in zip(a.factors, c.factors, strict=True):
        np.testing.assert_allclose(fa, fc, rtol=0, atol=1e-12)
    assert a.relative_error == pytest.approx(c.relative_error)
    assert not list(tmp_path.glob("*.tmp"))


def test_cp_errors():
    with pytest.raises(ValueError, match="weights are required"):
        product = tp.make("cp", "0e+1o", "0e+1o", rank=2)
        product(e3nn.zeros("0e+1o", ()), e3nn.zeros("0e+1o", ()))
    with pytest.raises(ValueError, match="rank"):
        tp.make("cp", "0e", "0e", rank=0)
