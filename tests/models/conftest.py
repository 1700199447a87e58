import pytest

from tests.models import common


@pytest.fixture(autouse=True, scope="module")
def _forget_potentials():
    yield
    common._CACHE.clear()
