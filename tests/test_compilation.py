"""Compilation once per machine: the persistent cache's directory, and a second ``eqpot
eval`` in a fresh process that loads every program from the cache the first one wrote."""

import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import platformdirs
import pytest

from eqpot.compilation import CACHE_ENV, CompileClock, cache_directory, enable_persistent_cache


def test_the_cache_directory_is_chosen_moved_or_switched_off(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert cache_directory() == tmp_path.__class__(platformdirs.user_cache_dir("eqpot")) / "jax"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "here"))
    assert cache_directory() == tmp_path / "here"
    for off in ("off", "OFF", "0", "none"):
        monkeypatch.setenv(CACHE_ENV, off)
        assert cache_directory() is None
        assert enable_persistent_cache("off") is None
    assert cache_directory(tmp_path / "explicit") == tmp_path / "explicit"


def test_a_cache_the_caller_configured_is_kept():
    configured = jax.config.jax_compilation_cache_dir  # the test run's (tests/conftest.py)
    assert configured
    assert str(enable_persistent_cache()) == configured
    assert jax.config.jax_compilation_cache_dir == configured


def test_the_compile_clock_counts_what_this_process_compiles():
    clock = CompileClock()
    jax.jit(lambda x: jnp.cos(x) * 3.0 + 1.0)(jnp.arange(7.0)).block_until_ready()
    seen = clock.read()
    assert seen["programs"] >= 1 and seen["total_s"] > 0
    assert seen["total_s"] == pytest.approx(seen["trace_s"] + seen["lower_s"] + seen["compile_s"])
    assert re.fullmatch(
        r"compile: [\d.]+ s \(trace .*; \d+ programs, \d+ from the cache .*\)", clock.summary()
    )


def test_a_second_eval_loads_every_program_from_the_cache(quickstart_run, tmp_path):
    import ase.io

    from eqpot.train.config import load_config

    run_dir = quickstart_run.run_dir
    frames = tmp_path / "three.extxyz"
    source = load_config(run_dir / "config.yaml").test_files[0]
    ase.io.write(frames, ase.io.read(source, ":3"), format="extxyz")
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "eqpot.cli", "--compile-cache", str(cache), "eval"]
    lines = []
    for _ in range(2):
        done = subprocess.run([*command, str(run_dir), str(frames)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        lines.append(
            re.search(
                r"^compile: .*; (\d+) programs, (\d+) from the cache", done.stdout, re.MULTILINE
            )
        )
    (cold_programs, cold_hits), (warm_programs, warm_hits) = (m.groups() for m in lines)
    assert int(cold_hits) == 0 and int(cold_programs) > 0
    assert int(warm_hits) == int(warm_programs) == int(cold_programs)
    assert any(cache.iterdir())
