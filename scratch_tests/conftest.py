"""Shared test settings: a hypothesis profile without deadlines (Numba compiles on first call),
and the ``data`` marker for tests that need the real files."""

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

from scratch.data import available

matplotlib.use("Agg")

settings.register_profile(
    "scratch", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("scratch")


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Tests never download: a file missing locally is missing (as offline)."""
    from scratch.data import store

    def offline(entry, target):
        raise store.DataNotFoundError("downloads are disabled in the tests")

    monkeypatch.setattr(store, "_download", offline)


def need(*names: str):
    """Skip the test unless every named data file is present locally (CI sets $SCRATCH_DATA)."""
    missing = [n for n in names if not available(n)]
    return pytest.mark.skipif(bool(missing), reason=f"data not present: {', '.join(missing)}")


# scikit-learn's own fixtures, for its mixture tests run against scratch (test_sklearn_suite.py)
@pytest.fixture(params=["float64", "float32"])
def global_dtype(request):
    """Both float dtypes, as scikit-learn's fixture with SKLEARN_RUN_FLOAT32_TESTS=1."""
    import numpy as np

    return np.dtype(request.param).type


@pytest.fixture
def global_random_seed():
    """scikit-learn's default global seed (SKLEARN_TESTS_GLOBAL_RANDOM_SEED unset)."""
    return 42
