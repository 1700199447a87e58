import ase.build
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eqpot import graph as eg

CUTOFF = 4.0


def _structures():
    a = ase.build.bulk("Cu", "fcc", cubic=True).repeat(2)
    a.rattle(0.1, seed=0)
    b = ase.build.fcc111("Cu", (2, 2, 3), vacuum=5.0)
    c = ase.build.molecule("CH3CH2OH")
    c.cell = [50.0, 50.0, 50.0]
    return [a, b, c]


def _graphs():
    type_map = [1, 6, 8, 29]
    return [
        eg.graph_from_atoms(s, CUTOFF, type_map, energy=float(k), source=f"s{k}")
        for k, s in enumerate(_structures())
    ]


def _energy(positions, cells, graph):
    """A smooth pair energy with a polynomial envelope vanishing at the cutoff."""
    r = jnp.linalg.norm(eg.edge_vectors(graph, positions, cells), axis=-1)
    x = r / CUTOFF
    envelope = jnp.where(x < 1, (1 - x) ** 3, 0.0)
    pair = envelope * jnp.exp(-r) * (1 + jnp.cos(3 * r))
    per_graph = jax.ops.segment_sum(pair, graph.edge_graph, graph.cells.shape[0])
    return jnp.sum(per_graph * graph.graph_mask)


def test_padded_and_unpadded_batches_agree():
    graphs = _graphs()
    tight = eg.batch_graphs(
        graphs,
        eg.Budget(sum(g.num_nodes for g in graphs) + 1, sum(g.num_edges for g in graphs), 4),
        padding_length=CUTOFF,
    )
    padded = eg.batch_graphs(graphs, eg.Budget(136, 1024, 6), padding_length=CUTOFF)
    assert int(tight.edge_mask.sum()) == tight.senders.shape[0]  # no padding edges at all
    assert padded.shape_key == (136, 1024, 6)
    e1, g1 = jax.value_and_grad(_energy, argnums=(0, 1))(tight.positions, tight.cells, tight)
    e2, g2 = jax.value_and_grad(_energy, argnums=(0, 1))(padded.positions, padded.cells, padded)
    assert float(e1) == pytest.approx(float(e2), rel=1e-14)
    n = int(tight.node_mask.sum())
    np.testing.assert_allclose(g1[0][:n], g2[0][:n], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g1[1][:3], g2[1][:3], rtol=1e-13, atol=1e-15)
    assert np.all(np.isfinite(g2[0])) and np.all(np.isfinite(g2[1]))
    assert np.all(g2[0][n:] == 0)  # padding nodes feel nothing
    # padding edges have length padding_length: finite, and outside the cutoff
    pad = ~np.asarray(padded.edge_mask)
    lengths = np.linalg.norm(np.asarray(eg.edge_vectors(padded))[pad], axis=-1)
    np.testing.assert_allclose(lengths, CUTOFF)


def test_budget_rounding_and_layout():
    graphs = _graphs()
    batch = eg.batch_graphs(graphs)  # padding length defaults to the graphs' cutoff
    pad = ~np.asarray(batch.edge_mask)
    assert pad.any()
    np.testing.assert_allclose(
        np.linalg.norm(np.asarray(eg.edge_vectors(batch))[pad], axis=-1), CUTOFF
    )
    with pytest.raises(ValueError, match="padding_length"):
        eg.batch_graphs(graphs, padding_length=CUTOFF / 2)
    assert batch.positions.shape[0] % eg.NODE_MULTIPLE == 0
    assert batch.senders.shape[0] % eg.EDGE_MULTIPLE == 0
    assert list(batch.n_node[:3]) == [g.num_nodes for g in graphs]
    assert int(batch.n_node.sum()) == batch.positions.shape[0]
    assert int(batch.n_edge.sum()) == batch.senders.shape[0]
    assert list(batch.graph_mask) == [True, True, True, False]
    assert list(batch.energy[:3]) == [0.0, 1.0, 2.0] and list(batch.has_energy) == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="do not fit"):
        eg.batch_graphs(graphs, eg.Budget(8, 64, 2))


def test_pack_and_buckets():
    graphs = _graphs() * 5
    budget = eg.Budget(128, 2048, 8)
    batches = list(eg.pack(graphs, budget))
    assert sum(len(b) for b in batches) == len(graphs)
    for b in batches:
        assert budget.fits(sum(g.num_nodes for g in b), sum(g.num_edges for g in b), len(b))
    buckets = eg.bucket_budgets(graphs, batch_size=4)
    assert 1 <= len(buckets) <= 3
    shapes = {b.shape_key for b in eg.iterate_batches(graphs, 4, seed=0, budgets=buckets)}
    assert len(shapes) <= len(buckets)
    with pytest.raises(ValueError, match="alone exceeds"):
        list(eg.pack(graphs, eg.Budget(16, 64, 2)))


def test_shape_counter_counts_compilations_and_prefetch():
    graphs = _graphs()
    counter = eg.ShapeCounter(lambda g: _energy(g.positions, g.cells, g))
    budget = eg.Budget(136, 1024, 4)
    batches = [
        eg.batch_graphs(graphs, budget),
        eg.batch_graphs(graphs[::-1], budget),
        eg.batch_graphs(graphs),
    ]
    values = [float(counter(b)) for b in eg.prefetch(iter(batches), size=2)]
    assert counter.count == 2  # two distinct shapes
    assert values[0] == pytest.approx(values[1]) == pytest.approx(values[2])


def test_unknown_element_and_empty():
    with pytest.raises(ValueError, match=r"s0: element\(s\) \['Cu'\] not in the type map"):
        eg.graph_from_atoms(_structures()[0], CUTOFF, [1, 8], source="s0")
    with pytest.raises(ValueError, match="empty structure"):
        eg.graph_from_atoms(ase.Atoms(), CUTOFF, [1])


def test_atoms_closer_than_min_distance_are_an_error_naming_them():
    molecule = ase.build.molecule("H2O")
    molecule.positions[2] = molecule.positions[0] + [0.0, 0.0, 0.3]
    with pytest.raises(ValueError, match=r"^w: atoms 0 and 2 are 0.300 Å apart, closer than 0.5"):
        eg.graph_from_atoms(molecule, CUTOFF, [1, 8], source="w")
    assert eg.graph_from_atoms(molecule, CUTOFF, [1, 8], min_distance=0.2).num_nodes == 3
    tiny = ase.Atoms("H", cell=np.eye(3) * 0.4, pbc=True)
    with pytest.raises(ValueError, match=r"atom 0 and its periodic image are 0\.400 Å apart"):
        eg.graph_from_atoms(tiny, 1.0, [1])
    assert eg.MIN_DISTANCE == 0.5


def test_buckets_bound_nodes_and_edges_separately():
    """Dense small cells (many edges, few atoms) beside sparse large slabs (the reverse):
    every batch must fit a bucket, whichever graphs it draws."""
    import ase

    from eqpot.graph import bucket_budgets, graph_from_atoms, iterate_batches

    dense = ase.build.bulk("Cu", "fcc", a=3.6)  # 1 atom, ~40 image neighbours
    sparse = ase.Atoms("Cu20", positions=[[4.0 * i, 0, 0] for i in range(20)])  # a chain
    graphs = [graph_from_atoms(a, 5.0, [29]) for a in [dense] * 4 + [sparse] * 4]
    assert graphs[0].num_edges > graphs[-1].num_edges  # most edges, fewest nodes
    budgets = bucket_budgets(graphs, 4)
    for seed in range(6):
        for batch in iterate_batches(graphs, 4, seed=seed, budgets=budgets):
            assert int(batch.n_node.sum()) == batch.positions.shape[0]


def test_reference_energies_leave_the_labels_small_and_are_added_back_exactly():
    type_map = [1, 6, 8]
    e0 = np.array([-13.568422178253735, -1026.8538996116154, -2037.796869412825])  # AcAc's
    molecule = ase.build.molecule("CH3COCH3")  # C3H6O
    molecule.cell = [30.0] * 3
    expected_references = e0[[type_map.index(z) for z in molecule.numbers]]  # -5199.8 eV
    total = expected_references.sum() - 45.123456789012  # a binding energy of 45 eV
    data = [eg.graph_from_atoms(molecule, CUTOFF, type_map, energy=total)]

    batch = eg.batch_graphs(data, reference_energies=e0)
    n = len(molecule)
    np.testing.assert_array_equal(batch.reference_energy[:n], expected_references)
    assert not batch.reference_energy[n:].any()
    assert batch.energy[0] == total - expected_references.sum()
    assert eg.reference_totals(batch)[0] + batch.energy[0] == pytest.approx(total, abs=1e-9)

    # in float32 the label is the difference, which keeps the digits the total would lose
    single = eg.batch_graphs(data, reference_energies=e0, dtype=np.float32)
    assert single.energy.dtype == np.float32
    assert abs(float(single.energy[0]) + eg.reference_totals(single)[0] - total) < 1e-5
    assert abs(np.spacing(np.float32(total))) > 4e-4  # the resolution of the total in float32

    plain = eg.batch_graphs(data)
    assert plain.energy[0] == total and not plain.reference_energy.any()
    with pytest.raises(ValueError, match="one energy per species"):
        eg.batch_graphs(data, reference_energies=e0[:2])


def test_a_one_off_prediction_compiles_a_smaller_shape_only_where_enough_batches_use_it():
    """``eqpot eval`` of 15 equal structures in batches of 10 used to compile two shapes (10
    and 5 graphs); a small bucket is kept only when ``min_batches`` batches use it."""
    from eqpot.graph import bucket_budgets, evaluation_budgets, graph_from_atoms, smallest_fitting

    big = graph_from_atoms(ase.build.bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2), 3.0, [29])
    small = graph_from_atoms(ase.build.bulk("Cu", "fcc", a=3.6, cubic=True), 3.0, [29])
    assert len(bucket_budgets([big] * 15, 10)) > 1
    (only,) = evaluation_budgets([[big] * 15], 10)
    assert only == bucket_budgets([big] * 15, 10)[0]
    sets = [[big] * 40, [small] * 40]  # 4 batches of each
    budgets = bucket_budgets([g for s in sets for g in s], 10)
    kept = evaluation_budgets(sets, 10)
    assert kept[0] == budgets[0] and len(kept) == 2
    used = {smallest_fitting(kept, s[i : i + 10]) for s in sets for i in range(0, 40, 10)}
    assert used == set(kept)  # the big batches take the largest, the small ones the other
    assert evaluation_budgets(sets, 10, min_batches=5) == [budgets[0]]
