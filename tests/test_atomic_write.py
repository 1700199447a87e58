"""eqpot.atomic_write: a file is the old version or the new one, never half of one."""

import os

import numpy as np
import pytest

from eqpot.atomic_write import atomic_write


def test_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "record.json"  # the parent is created
    with atomic_write(path) as tmp:
        assert tmp.parent == path.parent and tmp != path
        tmp.write_text("new")
        assert not path.exists()  # nothing visible until the block ends
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]


def test_an_error_mid_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_write(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_writers_that_infer_the_format_from_the_suffix_write_the_target(tmp_path):
    path = tmp_path / "cache.npz"
    with atomic_write(path) as tmp:
        np.savez(tmp, a=np.arange(3))  # appends ".npz" to names that lack it
    with np.load(path) as data:
        np.testing.assert_array_equal(data["a"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npz"]


def test_the_file_gets_the_permissions_of_a_direct_write(tmp_path):
    direct = tmp_path / "direct.txt"
    direct.write_text("x")
    with atomic_write(tmp_path / "atomic.txt") as tmp:
        tmp.write_text("x")
    assert os.stat(tmp_path / "atomic.txt").st_mode == os.stat(direct).st_mode
