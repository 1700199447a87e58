"""Test configuration: float64 and highest matmul precision for exactness checks, one JAX
compilation cache for the whole run, and XLA's cheap compilation for all but the tests that
run one compiled function many times."""

import contextlib
import os
import shutil
import tempfile

# Most tests compile more than they run (second derivatives, many small models): with XLA's
# optimisations mostly off (LLVM -O0, no expensive passes) the suite takes ~15 % less time
# (benchmarks/results/test_suite_cpu2/). Tests that run long loops (MD, training for many
# epochs) are up to 8x slower that way and are marked ``xla_optimized``.
# Set before jax is imported, so that the processes the tests start (eqpot CLI runs, notebook
# kernels) inherit it; an explicit JAX_DISABLE_MOST_OPTIMIZATIONS wins.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture(autouse=True, scope="session")
def _cp_cache(tmp_path_factory):
    """Keep fitted CP factors of the test run out of the user's cache directory."""
    mp = pytest.MonkeyPatch()
    mp.setenv("EQPOT_CACHE_DIR", str(tmp_path_factory.mktemp("eqpot-cache")))
    yield
    mp.undo()


@contextlib.contextmanager
def xla_optimized():
    """Compile with XLA's optimisations on, here and in the processes started meanwhile.

    The setting is read when a function is compiled and is not part of jit's cache key: a
    function this process already compiled at the same shapes keeps its unoptimised code."""
    previous = jax.config.values["jax_disable_most_optimizations"]
    mp = pytest.MonkeyPatch()
    mp.setenv("JAX_DISABLE_MOST_OPTIMIZATIONS", "0")
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", previous)
        mp.undo()


@pytest.fixture(autouse=True)
def _xla_optimisations(request):
    """``@pytest.mark.xla_optimized`` tests run optimised code (see ``xla_optimized``)."""
    marked = request.node.get_closest_marker("xla_optimized") is not None
    with xla_optimized() if marked else contextlib.nullcontext():
        yield


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_code():
    """Drop compiled executables after each test module: the suite compiles hundreds of
    functions, and keeping them all resident grows one process by gigabytes."""
    yield
    import gc

    jax.clear_caches()
    gc.collect()


_OWN_CACHE = pytest.StashKey[str]()
_CACHE_SETTINGS = {  # every compilation, however quick or small, goes into the cache
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": 0,
}


def pytest_configure(config):
    """Share compiled code between tests, test processes and the subprocesses they start
    (``eqpot train`` runs, notebook kernels): the suite builds the same models at the same
    shapes in many places, and ``_release_compiled_code`` drops the in-memory copies. The
    cache lives in a fresh directory per run, made by the process that starts first (the
    xdist controller; its workers inherit the environment), so timings of a run never
    depend on an earlier one. An existing ``JAX_COMPILATION_CACHE_DIR`` is used as is."""
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        directory = tempfile.mkdtemp(prefix="eqpot-test-jax-cache-")
        config.stash[_OWN_CACHE] = directory
        os.environ["JAX_COMPILATION_CACHE_DIR"] = directory
        for name, value in _CACHE_SETTINGS.items():
            os.environ.setdefault(name.upper(), str(value))
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    for name, value in _CACHE_SETTINGS.items():
        if name.upper() in os.environ:
            jax.config.update(name, type(value)(os.environ[name.upper()]))


def pytest_unconfigure(config):
    directory = config.stash.get(_OWN_CACHE, None)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    on_gpu = jax.default_backend() == "gpu"
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(pytest.mark.skip(reason="slow: pass --runslow to run"))
        if "gpu" in item.keywords and not on_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a GPU backend"))


@pytest.fixture(scope="session")
def shared_data():
    """The shared real-data directory ($EQPOT_DATA or ../shared/data), or a skip."""
    from eqpot import datasets

    try:
        root = datasets.data_dir()
    except datasets.DataError as error:
        pytest.skip(f"shared datasets unavailable: {error}")
    if not (root / "acac").is_dir():
        pytest.skip(f"shared datasets unavailable: {root} has no acac/")
    return root


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory):
    """The README's main job (``eqpot quickstart``, 40 epochs, ~2 min on 2 cores): a small
    MACE for EMT copper that the training, calculator and simulation tests share. The run
    the README's block made just before ``pytest`` (``./runs/quickstart``) is used when it is
    finished, current and made from this checkout's sources; otherwise it is trained here."""
    from eqpot.train.quickstart import finished_run, quickstart

    existing = finished_run(".")
    if existing is not None:
        return existing
    workdir = tmp_path_factory.mktemp("quickstart-run")
    with xla_optimized():  # 40 epochs: running dominates compiling
        return quickstart(workdir, ["progress=false"], log=lambda *a: None)
