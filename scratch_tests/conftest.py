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


def need(*names: str):
    """Skip the test unless every named data file is present locally (CI sets $SCRATCH_DATA)."""
    missing = [n for n in names if not available(n)]
    return pytest.mark.skipif(bool(missing), reason=f"data not present: {', '.join(missing)}")
