"""Normal and MultivariateNormal: densities against independent formulas, MLE, sampling moments,
and clear errors for bad parameters."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.data import load_height
from scratch.probability import MultivariateNormal, Normal
from scratch.probability.normal import cholesky, precision_cholesky, solve_lower
from scratch_tests.conftest import need

seeds = st.integers(0, 2**32 - 1)


def random_mvn(seed, D) -> MultivariateNormal:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((D, D))
    return MultivariateNormal(rng.normal(0, 3, D), A @ A.T + 0.1 * np.eye(D))


@given(
    mu=st.floats(-100, 100),
    sigma=st.floats(1e-3, 1e3),
    x=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20),
)
def test_normal_logpdf_is_log_pdf_and_the_formula(mu, sigma, x):
    x = np.array(x)
    d = Normal(mu, sigma)
    want = np.log(1 / np.sqrt(2 * np.pi * sigma**2)) - (x - mu) ** 2 / (2 * sigma**2)
    np.testing.assert_allclose(d.logpdf(x), want, rtol=1e-12, atol=1e-12)
    pdf = d.pdf(x)
    ok = pdf > 1e-300  # where pdf does not underflow
    np.testing.assert_allclose(np.log(pdf[ok]), d.logpdf(x)[ok], rtol=1e-12, atol=1e-12)


@given(seed=seeds, D=st.integers(1, 6))
def test_mvn_logpdf_is_log_pdf_and_the_formula(seed, D):
    d = random_mvn(seed, D)
    x = np.random.default_rng(seed + 1).normal(0, 4, (30, D))
    diff = x - d.mu
    maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(d.cov), diff)
    want = -0.5 * maha - 0.5 * np.linalg.slogdet(2 * np.pi * d.cov)[1]
    np.testing.assert_allclose(d.logpdf(x), want, rtol=1e-9, atol=1e-9)
    pdf = d.pdf(x)
    ok = pdf > 1e-300
    np.testing.assert_allclose(np.log(pdf[ok]), d.logpdf(x)[ok], rtol=1e-12, atol=1e-12)


@given(x=st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=50).filter(lambda v: np.ptp(v) > 1))
def test_normal_mle_is_mean_and_ddof0_std(x):
    fit = Normal.fit(x)
    assert fit.mu == pytest.approx(np.mean(x), rel=1e-12, abs=1e-9)
    assert fit.sigma == pytest.approx(np.std(x, ddof=0), rel=1e-9)


@given(seed=seeds, D=st.integers(1, 5), extra=st.integers(1, 40))
def test_mvn_mle_is_mean_and_ddof0_cov(seed, D, extra):
    X = random_mvn(seed, D).sample(D + extra, seed)
    fit = MultivariateNormal.fit(X)
    np.testing.assert_allclose(fit.mu, X.mean(axis=0), rtol=1e-12, atol=1e-12)
    want = np.atleast_2d(np.cov(X.T, ddof=0))
    np.testing.assert_allclose(fit.cov, want, rtol=1e-10, atol=1e-12)


@given(seed=seeds, mu=st.floats(-50, 50), sigma=st.floats(0.01, 50))
def test_normal_samples_reproduce_moments(seed, mu, sigma):
    n = 20_000
    x = Normal(mu, sigma).sample(n, seed)
    # 6 standard errors: the mean's is sigma / sqrt(n), the variance's sigma^2 sqrt(2 / n)
    assert abs(x.mean() - mu) < 6 * sigma / np.sqrt(n)
    assert abs(x.var() - sigma**2) < 6 * sigma**2 * np.sqrt(2 / n)


@given(seed=seeds, D=st.integers(1, 4))
def test_mvn_samples_reproduce_moments(seed, D):
    n = 20_000
    d = random_mvn(seed, D)
    X = d.sample(n, seed)
    var = np.diag(d.cov)
    assert np.all(np.abs(X.mean(axis=0) - d.mu) < 6 * np.sqrt(var / n))
    # Var of the sample covariance's (i, j) entry is (S_ii S_jj + S_ij^2) / n for a normal
    se = np.sqrt((np.outer(var, var) + d.cov**2) / n)
    assert np.all(np.abs(np.cov(X.T, ddof=0).reshape(D, D) - d.cov) < 6 * se)


@need("book/height.txt")
def test_mle_on_height_txt_gives_the_books_figures():
    fit = Normal.fit(load_height())
    assert fit.mu == pytest.approx(172.7025, abs=5e-5)
    assert fit.sigma == pytest.approx(4.83017, abs=5e-6)


def test_near_singular_covariance_stays_finite():
    cov = np.array([[1.0, 1 - 1e-12], [1 - 1e-12, 1.0]])
    d = MultivariateNormal([0.0, 0.0], cov)
    x = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, -1.0]])
    assert np.all(np.isfinite(d.logpdf(x)))
    assert d.logpdf(x)[2] < -1e10  # off the thin ridge: very unlikely, yet finite


def test_forward_substitution_is_exact_on_its_own_factor():
    A = np.random.default_rng(0).standard_normal((3, 5, 5))
    L = cholesky(A @ A.transpose(0, 2, 1) + np.eye(5))
    assert np.array_equal(solve_lower(L, L), np.broadcast_to(np.eye(5), L.shape))
    P = precision_cholesky(L)
    np.testing.assert_allclose(P @ P.transpose(0, 2, 1), np.linalg.inv(L @ L.transpose(0, 2, 1)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MultivariateNormal([0, 0], [[1, 2], [2, 1]]), "positive-definite"),
        (lambda: MultivariateNormal([0, 0], [[1, 0.5], [0, 1]]), "symmetric"),
        (lambda: MultivariateNormal([0, 0, 0], np.eye(2)), "shape"),
        (lambda: MultivariateNormal([0, np.nan], np.eye(2)), "finite"),
        (lambda: MultivariateNormal([[0, 0]], np.eye(2)), "1-D"),
        (lambda: MultivariateNormal([0, 0], np.eye(2)).logpdf(np.zeros((4, 3))), r"\(..., 2\)"),
        (lambda: MultivariateNormal.fit(np.zeros((2, 2))), "more samples"),
        (lambda: Normal(0, 0), "sigma > 0"),
        (lambda: Normal(np.inf, 1), "finite"),
        (lambda: Normal.fit([1.0, np.nan]), "finite"),
        (lambda: Normal.fit([3.0, 3.0]), "not all equal"),
        (lambda: Normal.fit([3.0]), "at least 2"),
    ],
)
def test_bad_parameters_raise_a_clear_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()
