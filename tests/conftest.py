"""Test configuration: float64 and highest matmul precision for exactness checks."""

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
