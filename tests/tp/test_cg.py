import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from e3nn_jax.legacy import FunctionalFullyConnectedTensorProduct, FunctionalTensorProduct

import eqpot.tp as tp
from tests.helpers import np_max_abs, random_inputs, random_weights


@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_uv_matches_e3nn_tensor_product(L):
    s2 = e3nn.s2_irreps(L)
    product = tp.make("cg", 2 * s2, s2)
    x1, x2 = random_inputs(product, L)
    ours = product(x1, x2).regroup()
    ref = e3nn.tensor_product(x1, x2)
    assert ours.irreps == ref.irreps
    assert np_max_abs(ours.array, ref.array) < 1e-12


@pytest.mark.parametrize(
    "irreps1,irreps2,irreps_out",
    [
        ("2x0e+3x1o+2x2e", "0e+1o+2e", "3x0e+2x1o+2x1e+1x2e+2x3o"),
        ("4x0e+2x1e", "2x0e+1x1o", "3x0e+2x1o+3x1e"),
        ("1x0e+1x1o+1x2e+1x3o+1x4e", "1x0e+1x1o+1x2e+1x3o+1x4e", "2x0e+2x2e+1x3o+1x4e+1x5o"),
    ],
)
def test_uvw_matches_e3nn_fully_connected(irreps1, irreps2, irreps_out):
    product = tp.make("cg", irreps1, irreps2, irreps_out)
    ref = FunctionalFullyConnectedTensorProduct(irreps1, irreps2, irreps_out)
    assert product.num_weights == sum(int(np.prod(i.path_shape)) for i in ref.instructions)
    x1, x2 = random_inputs(product, 0, batch=4)
    w = random_weights(product, 1)
    expected = jax.vmap(lambda a, b: ref.left_right(w, a, b))(x1, x2)
    assert np_max_abs(product(x1, x2, w).array, expected.array) < 1e-12


def test_uvu_matches_e3nn_with_per_edge_weights():
    irreps1, irreps2 = e3nn.Irreps("3x0e+3x1o+3x2e"), e3nn.Irreps("0e+1o+2e+3o")
    product = tp.make("cg", irreps1, irreps2, mode="uvu")
    instructions = [(p.in1, p.in2, p.out, "uvu", True) for p in product.table.paths]
    ref = FunctionalTensorProduct(irreps1, irreps2, product.irreps_out, instructions)
    x1, x2 = random_inputs(product, 3, batch=5)
    w = random_weights(product, 4, batch=(5,))  # one weight vector per edge
    expected = jax.vmap(ref.left_right)(w, x1, x2)
    assert np_max_abs(product(x1, x2, w).array, expected.array) < 1e-12


def test_interface_and_errors():
    product = tp.make("cg", "2x0e+1x1o", "1o", "1x1e+1x0e")
    assert [b.shape for b in product.weight_layout()] == [(1, 1, 1), (1, 1, 1)]
    assert product.num_weights == 2
    assert {str(c) for c in product.couplings()} == {"1o x 1o -> 1e", "1o x 1o -> 0e"}
    with pytest.raises(ValueError, match="irreps"):
        product(e3nn.zeros("1x0e", ()), e3nn.zeros("1o", ()), jnp.ones(2))
    with pytest.raises(ValueError, match="weights"):
        product(e3nn.zeros("2x0e+1x1o", ()), e3nn.zeros("1o", ()), jnp.ones(3))
    with pytest.raises(ValueError, match="did you mean 'cg'"):
        tp.make("cgg", "0e", "0e")
    with pytest.raises(ValueError, match="mode"):
        tp.make("cg", "0e", "0e", mode="uuu")
    with pytest.raises(ValueError, match=r"unknown option 'mdoe'; did you mean 'mode'\?"):
        tp.make("cg", "0e", "0e", mdoe="uvw")


@pytest.mark.parametrize("family", sorted(tp.FAMILIES))
def test_every_family_lists_its_options_in_the_unknown_option_error(family):
    with pytest.raises(ValueError, match=rf"^{family}: unknown option 'nonsense' \(options: "):
        tp.make(family, "0e", "0e", nonsense=1)
