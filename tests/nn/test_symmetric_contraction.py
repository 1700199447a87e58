import itertools

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eqpot.nn import SymmetricContractionSpec, symmetric_contraction
from eqpot.nn.symmetric_contraction import _basis
from tests.helpers import random_o3

IRREPS_IN, IRREPS_OUT = "0e+1o+2e", "0e+1o"


def _setup(correlation=3, channels=3, nodes=4, elements=2, seed=0, basis="symmetric"):
    spec = SymmetricContractionSpec.build(IRREPS_IN, IRREPS_OUT, correlation, basis)
    keys = jax.random.split(jax.random.PRNGKey(seed), 3)
    features = jax.random.normal(keys[0], (nodes, channels, e3nn.Irreps(IRREPS_IN).dim))
    species = jnp.arange(nodes) % elements
    shapes = spec.weight_shapes(elements, channels)
    weights = {
        k: jax.random.normal(jax.random.fold_in(keys[1], i), s)
        for i, (k, s) in enumerate(sorted(shapes.items()))
    }
    return spec, features, species, weights


@pytest.mark.parametrize("basis", ["symmetric", "ordered"])
def test_matches_direct_sum_over_all_products(basis):
    spec, x, species, weights = _setup(basis=basis)
    out = symmetric_contraction(spec, x, species, weights)
    d = x.shape[-1]
    expected = []
    for _, ir in spec.irreps_out:
        total = 0
        for nu in range(1, spec.correlation + 1):
            if (str(ir), nu) not in weights:
                continue
            u = _basis(str(spec.irreps_in), nu, str(ir), basis)
            w = weights[(str(ir), nu)][species]
            for idx in itertools.product(range(d), repeat=nu):
                prod = np.prod([x[:, :, i] for i in idx], axis=0)  # (N, C)
                total = total + np.einsum("pm,npc,nc->ncm", u[idx], w, prod)
        expected.append(total)
    np.testing.assert_allclose(out, np.concatenate(expected, -1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("inversion", [False, True])
def test_equivariant(inversion):
    spec, x, species, weights = _setup(seed=1)
    q = random_o3(5, inversion)
    d_in = e3nn.Irreps(IRREPS_IN).D_from_matrix(q)
    d_out = e3nn.Irreps(IRREPS_OUT).D_from_matrix(q)
    out = symmetric_contraction(spec, x, species, weights)
    rotated = symmetric_contraction(spec, x @ d_in.T, species, weights)
    assert float(jnp.max(jnp.abs(rotated - out @ d_out.T))) < 1e-10 * float(jnp.max(jnp.abs(out)))


def test_element_dependence_and_counts():
    spec, x, species, weights = _setup(nodes=2)
    same = x.at[1].set(x[0])
    out = symmetric_contraction(spec, same, species, weights)  # species 0 and 1
    assert float(jnp.max(jnp.abs(out[0] - out[1]))) > 1e-3
    # one copy of each L at nu = 1; more at higher orders (MACE's product basis)
    assert spec.num_paths["0e"][0] == 1 and spec.num_paths["1o"][0] == 1
    assert spec.num_paths["0e"][2] > spec.num_paths["0e"][1] > 1
    assert spec.num_weights(2, 3) == sum(int(np.prod(s)) for s in spec.weight_shapes(2, 3).values())
    with pytest.raises(ValueError, match="one copy each"):
        SymmetricContractionSpec.build("2x0e", "0e", 2)
