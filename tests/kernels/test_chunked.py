"""``map_in_chunks``: the chunked CPU loop equals one vmap over all items (the path other
backends take), values and gradients, when the chunk divides the items and when it leaves a
remainder; and the XLA message partials and symmetric contraction agree on both paths at
sizes with several full chunks."""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import eqpot.tp
from eqpot.kernels import chunked
from eqpot.kernels.message import EDGE_CHUNK
from eqpot.nn.symmetric_contraction import (
    NODE_CHUNK,
    SymmetricContractionSpec,
    symmetric_contraction,
)


def _per_item(operands):
    a, b = operands
    return jnp.sin(a) * b[0] + a**2 * b[1]


@pytest.mark.parametrize("items", [12, 13])
@pytest.mark.parametrize("rematerialise", [False, True])
def test_chunks_equal_one_vmap_with_gradients(items, rematerialise):
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(k1, (items, 3))
    b = jax.random.normal(k2, (items, 2))

    def loss(fn):
        return lambda a, b: jnp.sum(jnp.cos(fn(_per_item, (a, b))))

    chunks = lambda f, ops: chunked.map_in_chunks(f, ops, 4, rematerialise=rematerialise)  # noqa: E731
    np.testing.assert_allclose(chunks(_per_item, (a, b)), jax.vmap(_per_item)((a, b)), rtol=1e-13)
    for got, want in zip(
        jax.grad(loss(chunks), argnums=(0, 1))(a, b),
        jax.grad(loss(lambda f, ops: jax.vmap(f)(ops)), argnums=(0, 1))(a, b),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def _on_both_paths(monkeypatch, fn, *args):
    cpu = jax.jit(fn)(*args)
    monkeypatch.setattr(chunked.jax, "default_backend", lambda: "gpu")
    jax.clear_caches()  # inner jitted functions would reuse their CPU-path traces
    other = jax.jit(fn)(*args)
    monkeypatch.undo()
    jax.clear_caches()
    return cpu, other


def test_message_partials_agree_on_both_paths(monkeypatch):
    irreps = e3nn.Irreps("0e+1o") * 2
    product = eqpot.tp.make("cg", irreps, "0e+1o+2e", e3nn.Irreps("0e+1o+2e") * 2, mode="uvu")
    edges, nodes = 2 * EDGE_CHUNK + 37, 50
    keys = jax.random.split(jax.random.PRNGKey(1), 5)
    senders = jax.random.randint(keys[0], (edges,), 0, nodes)
    receivers = jax.random.randint(keys[1], (edges,), 0, nodes)
    x = jax.random.normal(keys[2], (nodes, irreps.dim))
    y = jax.random.normal(keys[3], (edges, 9))
    w = jax.random.normal(keys[4], (edges, product.num_weights))

    def loss(x, y, w):
        out = product.message(
            e3nn.IrrepsArray(irreps, x), e3nn.IrrepsArray("0e+1o+2e", y), w, senders, receivers
        )
        return jnp.sum(jnp.sin(out.array))

    cpu, other = _on_both_paths(monkeypatch, jax.grad(loss, argnums=(0, 1, 2)), x, y, w)
    for a, b in zip(cpu, other, strict=True):  # the x, y and w partials
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_symmetric_contraction_agrees_on_both_paths(monkeypatch):
    spec = SymmetricContractionSpec.build("0e+1o", "0e+1o", 3)
    nodes, channels = 2 * NODE_CHUNK + 5, 3
    keys = jax.random.split(jax.random.PRNGKey(2), 3)
    features = jax.random.normal(keys[0], (nodes, channels, 4))
    species = jax.random.randint(keys[1], (nodes,), 0, 2)
    weights = {
        key: jax.random.normal(jax.random.fold_in(keys[2], i), shape)
        for i, (key, shape) in enumerate(spec.weight_shapes(2, channels).items())
    }

    def loss(features, weights):
        out = symmetric_contraction(spec, features, species, weights, impl="xla")
        return jnp.sum(jnp.sin(out))

    cpu, other = _on_both_paths(
        monkeypatch, jax.value_and_grad(loss, argnums=(0, 1)), features, weights
    )
    for a, b in zip(jax.tree_util.tree_leaves(cpu), jax.tree_util.tree_leaves(other), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
