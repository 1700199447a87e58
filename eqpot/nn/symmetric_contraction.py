"""MACE's symmetric contraction (the product basis; Batatia et al. 2022, eqs. 10-11).

For node features ``A`` (``C`` channels of the irreps ``X``, one copy of each) and each
output irrep ``L``:

    B_{c, L} = sum_{nu=1..correlation} sum_p  w^{(nu)}_{z, p, c}
               sum_{i_1..i_nu} U^{(nu, L)}_{i_1..i_nu, p} A_{c, i_1} ... A_{c, i_nu}

where ``U^{(nu, L)}`` spans the ``L`` part of the *symmetric* ``nu``-th tensor power of ``X``
(the generalised Clebsch-Gordan coefficients; e3nn-jax's
``reduced_symmetric_tensor_product_basis``), ``p`` runs over its copies of ``L`` and the
weights depend on the element ``z`` of the node (``(n_elements, n_paths, C)`` per ``nu``).
Both implementations expand the sum into monomials ``A_{i_1} ... A_{i_nu}``
(``i_1 <= ... <= i_nu``; 410 of them for ``0e+1o+2e+3o`` at correlation 3, against
``d^3 = 4096`` ordered products) with coefficients ``sum_p U w_z`` folded once per element:
XLA picks each monomial's factors with exact one-hot matrix products (fast matrix kernels
on every backend, whose transposes are matrix products too: no scatter in the backward)
and contracts the monomials with the folded weights, node by node in chunks on a CPU;
Pallas runs the sparse polynomial in one kernel (:mod:`eqpot.kernels.polynomial_pallas`).

Two bases span the same functions: ``"symmetric"`` (the reduced basis, one weight per
independent symmetric coupling) and ``"ordered"`` (mace-torch's ``U_matrix_real``: every
ordered chain of couplings ``((i_1 x i_2) -> k_2 x i_3) -> ... -> L``, so permutations of
the same irreps, and chains through antisymmetric intermediates that vanish on ``A x A``,
carry their own weights). ``"ordered"`` reproduces mace-torch's parameter count.
"""

from __future__ import annotations

import dataclasses
import functools

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np

from eqpot import kernels, so3
from eqpot.kernels.chunked import map_in_chunks

BASES = ("symmetric", "ordered")


@functools.cache
def _ordered_states(irreps_in: str, degree: int) -> tuple:
    """Every ordered coupling chain of ``degree`` inputs: ``(irrep, (d,)*degree + (dim,))``."""
    irreps = e3nn.Irreps(irreps_in)
    embeddings, offset = [], 0
    for mul, ir in irreps:
        for _ in range(mul):
            e = np.zeros((irreps.dim, ir.dim))
            e[offset : offset + ir.dim] = np.eye(ir.dim)
            embeddings.append((ir, e))
            offset += ir.dim
    if degree == 1:
        return tuple(embeddings)
    states = []
    for ir_a, t in _ordered_states(irreps_in, degree - 1):
        for ir_b, e in embeddings:
            for ir_c in ir_a * ir_b:
                cg = so3.clebsch_gordan(ir_a.l, ir_b.l, ir_c.l) * np.sqrt(ir_c.dim)
                states.append((ir_c, np.einsum("...i,jm,imn->...jn", t, e, cg, optimize=True)))
    return tuple(states)


@functools.cache
def _basis(irreps_in: str, degree: int, ir_out: str, basis: str = "symmetric") -> np.ndarray:
    """``U`` of shape ``(d,)*degree + (paths, dim_out)``."""
    if basis == "ordered":
        target = e3nn.Irrep(ir_out)
        chains = [t for ir, t in _ordered_states(irreps_in, degree) if ir == target]
        d = e3nn.Irreps(irreps_in).dim
        if not chains:
            return np.zeros((d,) * degree + (0, target.dim))
        return np.stack(chains, axis=-2)
    basis = e3nn.reduced_symmetric_tensor_product_basis(
        e3nn.Irreps(irreps_in), degree, keep_ir=[e3nn.Irrep(ir_out)]
    )
    mul = basis.irreps.count(e3nn.Irrep(ir_out))
    array = np.asarray(basis.array)  # (d,)*degree + (mul * dim,)
    return array.reshape((*array.shape[:-1], mul, e3nn.Irrep(ir_out).dim))


@dataclasses.dataclass(frozen=True)
class SymmetricContractionSpec:
    """Irreps and path counts; ``num_paths[L][nu-1]`` copies of ``L`` at order ``nu``."""

    irreps_in: e3nn.Irreps
    irreps_out: e3nn.Irreps
    correlation: int
    num_paths: dict
    basis: str = "symmetric"

    @classmethod
    def build(
        cls, irreps_in, irreps_out, correlation: int, basis: str = "symmetric"
    ) -> SymmetricContractionSpec:
        irreps_in = e3nn.Irreps(irreps_in)
        irreps_out = e3nn.Irreps(irreps_out)
        if any(mul != 1 for mul, _ in irreps_in) or any(mul != 1 for mul, _ in irreps_out):
            raise ValueError(
                "symmetric contraction: irreps are per channel, one copy each; "
                f"got {irreps_in} -> {irreps_out}"
            )
        if basis not in BASES:
            raise ValueError(f"symmetric contraction: basis must be one of {BASES}, got {basis!r}")
        if correlation < 1:
            raise ValueError(f"correlation must be >= 1, got {correlation}")
        paths = {
            str(ir): tuple(
                _basis(str(irreps_in), nu, str(ir), basis).shape[-2]
                for nu in range(1, correlation + 1)
            )
            for _, ir in irreps_out
        }
        return cls(irreps_in, irreps_out, correlation, paths, basis)

    def weight_shapes(self, num_elements: int, channels: int) -> dict:
        """``{(L, nu): (num_elements, paths, channels)}`` for every order with paths."""
        return {
            (ir, nu): (num_elements, count, channels)
            for ir, counts in self.num_paths.items()
            for nu, count in enumerate(counts, start=1)
            if count
        }

    def num_weights(self, num_elements: int, channels: int) -> int:
        return sum(int(np.prod(s)) for s in self.weight_shapes(num_elements, channels).values())


@functools.cache
def symmetric_contraction_polynomial(
    irreps_in: str, irreps_out: str, correlation: int, basis: str
) -> tuple[kernels.Polynomial, tuple]:
    """The contraction as a sparse polynomial of ``(A, w)`` for the Pallas kernel, and the
    ``(L, nu)`` keys whose weights, concatenated along the path axis, form ``w``.

    Each monomial ``A_{i_1} ... A_{i_nu}`` (``i_1 <= ... <= i_nu``) carries the sum of ``U``
    over the orderings of its indices, times the weight of its path: for mace-torch's
    ordered basis at ``0e+1o+2e+3o -> 0e+1o``, correlation 3, that is 1,909 terms on 410
    monomials per channel, against ``d^3 = 4096`` products of the dense contraction.
    """
    collected: dict = {}
    keys, path_offset, out_offset = [], 0, 0
    d = e3nn.Irreps(irreps_in).dim
    for _, ir in e3nn.Irreps(irreps_out):
        for nu in range(1, correlation + 1):
            u = _basis(irreps_in, nu, str(ir), basis)
            if u.shape[-2] == 0:
                continue
            keys.append((str(ir), nu))
            for index in zip(*np.nonzero(np.abs(u) > 1e-14), strict=True):
                factors = tuple((0, int(i)) for i in sorted(index[:nu]))
                factors += ((1, path_offset + int(index[nu])),)
                key = (out_offset + int(index[nu + 1]), factors)
                collected[key] = collected.get(key, 0.0) + float(u[index])
            path_offset += u.shape[-2]
        out_offset += ir.dim
    terms = [(o, v, f) for (o, f), v in sorted(collected.items()) if abs(v) > 1e-14]
    return kernels.Polynomial(terms, (d, path_offset), out_offset), tuple(keys)


def _contraction_polynomial(spec, features, species, weights, impl):
    poly, keys = symmetric_contraction_polynomial(
        str(spec.irreps_in), str(spec.irreps_out), spec.correlation, spec.basis
    )
    if impl == "pallas":
        evaluate = kernels.evaluate_polynomial
    else:
        from eqpot.kernels.cueq import evaluate_polynomial_cueq as evaluate
    out = evaluate(
        poly, jnp.swapaxes(features, 1, 2), _weight_table(weights, keys), rows={1: species}
    )  # each node's weights gathered by its element inside the kernel
    return jnp.swapaxes(out, 1, 2)


def _weight_table(weights: dict, keys: tuple) -> jax.Array:
    """``(n_elements, P, C)``: the weights of ``keys`` concatenated along the path axis."""
    return jnp.concatenate([weights[k] for k in keys], axis=1)


def symmetric_contraction(
    spec: SymmetricContractionSpec,
    features: jax.Array,
    species: jax.Array,
    weights: dict,
    *,
    impl: str | None = None,
) -> jax.Array:
    """Apply the contraction.

    Args:
        features: ``(N, C, irreps_in.dim)`` (channels first).
        species: ``(N,)`` element indices.
        weights: ``{(L, nu): (n_elements, paths, C)}`` as :meth:`weight_shapes` lists.
        impl: ``xla`` (monomials, weights folded per element), ``pallas`` (the sparse
            polynomial kernel, :mod:`eqpot.kernels.polynomial_pallas`) or ``cueq`` (the same
            polynomial through cuEquivariance, :mod:`eqpot.kernels.cueq`; where installed).

    Returns:
        ``(N, C, irreps_out.dim)``.
    """
    impl = kernels.resolve_impl("symmetric_contraction", impl, kernels.with_cueq(("xla", "pallas")))
    if impl in ("pallas", "cueq"):
        return _contraction_polynomial(spec, features, species, weights, impl)
    return _contraction_xla(spec, features, species, weights)


@functools.cache
def _monomial_form(irreps_in: str, irreps_out: str, correlation: int, basis: str) -> tuple:
    """The polynomial regrouped by its ``M`` monomials of ``A``: ``picks`` (``(d + 1,
    correlation * M)`` one-hot: column ``k * M + m`` selects the ``k``-th factor of monomial
    ``m``; component ``d`` is a constant 1 that pads lower degrees), ``coefficients``
    (``(M, P, dim_out)``: monomial, weight row, output component) and the weight keys."""
    poly, keys = symmetric_contraction_polynomial(irreps_in, irreps_out, correlation, basis)
    d = poly.input_dims[0]
    split = [
        (out, value, tuple(i for k, i in f if k == 0), next(i for k, i in f if k == 1))
        for out, value, f in poly.terms
    ]
    monomials = sorted({m for _, _, m, _ in split})
    index = {m: n for n, m in enumerate(monomials)}
    picks = np.zeros((d + 1, correlation * len(monomials)))
    for n, m in enumerate(monomials):
        for k in range(correlation):
            picks[m[k] if k < len(m) else d, k * len(monomials) + n] = 1.0
    coefficients = np.zeros((len(monomials), poly.input_dims[1], poly.out_dim))
    for out, value, m, row in split:
        coefficients[index[m], row, out] += value
    return picks, coefficients, keys


#: nodes per step of the XLA:CPU loop (:func:`eqpot.kernels.chunked.map_in_chunks`): a
#: node's monomial arrays are (C, correlation * M) floats, 315 KB at 64 channels and M = 410
NODE_CHUNK = 16


def _contraction_xla(spec, features, species, weights):
    picks, coefficients, keys = _monomial_form(
        str(spec.irreps_in), str(spec.irreps_out), spec.correlation, spec.basis
    )
    dtype = features.dtype
    table = _weight_table(weights, keys)
    folded = jnp.einsum("mpo,epc->ecmo", jnp.asarray(coefficients, dtype), table)
    picks = jnp.asarray(picks, dtype)
    num_elements = table.shape[0]

    def per_node(operands):
        a, z = operands  # (C, d), the node's element
        padded = jnp.concatenate([a, jnp.ones((a.shape[0], 1), dtype)], axis=-1)
        # exact selection (no reduced-precision matrix units): (C, correlation * M)
        factors = jnp.matmul(padded, picks, precision="highest")
        # one split (transpose: one concatenate), not slices whose transposes are padded
        # (C, correlation * M) arrays summed in the backward
        first, *rest = jnp.split(factors, spec.correlation, axis=-1)
        monomials = first
        for factor in rest:
            monomials = monomials * factor  # (C, M)
        if num_elements == 1:
            return jnp.einsum("cm,cmo->co", monomials, folded[0])
        onehot = jax.nn.one_hot(z, num_elements, dtype=dtype)
        return jnp.einsum("e,cm,ecmo->co", onehot, monomials, folded)

    # the monomials of a chunk of nodes stay in cache, and the backward recomputes them
    # instead of storing (N, C, correlation * M) intermediates
    return map_in_chunks(per_node, (features, species), NODE_CHUNK, rematerialise=True)
