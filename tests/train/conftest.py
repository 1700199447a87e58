import pytest

from eqpot.train.quickstart import ensure_data


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """The quickstart's EMT data (train file, test file), generated once."""
    return ensure_data(tmp_path_factory.mktemp("quickstart") / "quickstart-data")
