"""KL divergence: non-negative, zero exactly for equal distributions, the closed forms against
direct formulas and each other, and the Monte Carlo estimate within its standard error."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.probability import MultivariateNormal, Normal, kl_monte_carlo, kl_mvn, kl_normal

normals = st.builds(Normal, st.floats(-20, 20), st.floats(0.05, 20))
seeds = st.integers(0, 2**32 - 1)


def random_mvn(rng, D) -> MultivariateNormal:
    A = rng.standard_normal((D, D))
    return MultivariateNormal(rng.normal(0, 2, D), A @ A.T + 0.2 * np.eye(D))


@given(p=normals, q=normals)
def test_kl_normal_is_nonnegative_and_zero_exactly_for_equal(p, q):
    assert kl_normal(p, q) >= 0
    assert kl_normal(p, p) == 0.0
    if abs(p.mu - q.mu) > 1e-3 * p.sigma or abs(p.sigma / q.sigma - 1) > 1e-3:
        assert kl_normal(p, q) > 0


@given(seed=seeds, D=st.integers(1, 6))
def test_kl_mvn_is_nonnegative_zero_for_equal_and_the_formula(seed, D):
    rng = np.random.default_rng(seed)
    p, q = random_mvn(rng, D), random_mvn(rng, D)
    assert kl_mvn(p, p) == 0.0
    kl = kl_mvn(p, q)
    assert kl > 0
    inv = np.linalg.inv(q.cov)
    d = q.mu - p.mu
    log_det = np.linalg.slogdet(q.cov)[1] - np.linalg.slogdet(p.cov)[1]
    want = 0.5 * (np.trace(inv @ p.cov) + d @ inv @ d - D + log_det)
    assert kl == pytest.approx(want, rel=1e-8, abs=1e-10)


@given(p=normals, q=normals)
def test_kl_mvn_in_one_dimension_equals_kl_normal(p, q):
    as_mvn = [MultivariateNormal([d.mu], [[d.sigma**2]]) for d in (p, q)]
    assert kl_mvn(*as_mvn) == pytest.approx(kl_normal(p, q), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_monte_carlo_estimate_agrees_within_its_standard_error(seed):
    rng = np.random.default_rng(seed)
    pairs = [
        (Normal(0, 1), Normal(1, 2), kl_normal),
        (random_mvn(rng, 3), random_mvn(rng, 3), kl_mvn),
    ]
    for p, q, closed in pairs:
        estimate, se = kl_monte_carlo(p, q, n=50_000, rng=seed)
        assert abs(estimate - closed(p, q)) < 5 * se


def test_bad_input_raises():
    with pytest.raises(ValueError, match="one dimension"):
        kl_mvn(MultivariateNormal([0], [[1]]), MultivariateNormal([0, 0], np.eye(2)))
    with pytest.raises(ValueError, match="n >= 2"):
        kl_monte_carlo(Normal(), Normal(), n=1)
