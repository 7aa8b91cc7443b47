"""GaussianMixture: the book's Old Faithful figure, agreement with scikit-learn from the same start,
EM's monotone log-likelihood, permutation invariance, degenerate data, and clear errors."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scratch.data import load_old_faithful
from scratch.kernels.em import log_resp_numpy
from scratch.probability import ConvergenceWarning, GaussianMixture
from scratch_tests.conftest import need

BOOK_START = {
    "weights_init": [0.5, 0.5],
    "means_init": [[0.0, 50.0], [0.0, 100.0]],
    "covariances_init": [np.eye(2), np.eye(2)],
}


def mixture_data(seed, N, D, K, spread=4.0, offset=0.0):
    """N points from K random Gaussians in D dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (K, D))
    A = rng.normal(0, 1, (K, D, D)) / np.sqrt(D)
    z = rng.integers(0, K, N)
    X = (
        centres[z]
        + np.einsum("nij,nj->ni", A[z], rng.standard_normal((N, D)))
        + 0.1 * (rng.standard_normal((N, D)))
    )
    return X + offset


def fit_quietly(gmm, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gmm.fit(X)


@need("book/old_faithful.txt")
def test_old_faithful_from_the_books_start_reaches_the_books_log_likelihood():
    X = load_old_faithful()
    gmm = GaussianMixture(2, **BOOK_START).fit(X)
    assert gmm.converged_
    assert gmm.log_likelihoods_[-1] == pytest.approx(-4.155382, abs=1e-5)
    assert gmm.score(X) == pytest.approx(gmm.log_likelihoods_[-1], rel=1e-12)
    np.testing.assert_allclose(gmm.weights_, [0.356, 0.644], atol=1e-3)


@pytest.mark.parametrize(("N", "D", "K", "offset"), [(500, 2, 3, 0.0), (2000, 5, 4, 0.0),
                                                   (3000, 3, 3, 1e6)])  # fmt: skip
def test_agrees_with_sklearn_from_the_same_start(N, D, K, offset):
    sk = pytest.importorskip("sklearn.mixture")
    X = mixture_data(N + D, N, D, K, offset=offset)
    init = GaussianMixture(K, max_iter=1, random_state=0)
    fit_quietly(init, X)
    start = {"weights_init": init.weights_, "means_init": init.means_}
    n = 15
    ours = fit_quietly(
        GaussianMixture(K, max_iter=n, tol=0, covariances_init=init.covariances_, **start), X
    )
    theirs = sk.GaussianMixture(
        K, covariance_type="full", max_iter=n, tol=0, precisions_init=np.linalg.inv(
            init.covariances_), **start,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X)
    assert theirs.n_iter_ == ours.n_iter_ == n
    assert ours.log_likelihoods_[-1] == pytest.approx(theirs.score(X), rel=1e-9)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-7)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-6, atol=1e-9)


@given(seed=st.integers(0, 2**32 - 1), D=st.integers(1, 3), K=st.integers(1, 4))
def test_log_likelihood_never_decreases(seed, D, K):
    """Near-exact EM: reg_covar makes the M-step miss the likelihood's argmax by O(reg_covar)
    (1e-6 gave drops of 5e-12 once converged), so it is 1e-10 here: small, yet no collapse."""
    X = mixture_data(seed, 300, D, K)
    gmm = GaussianMixture(K, max_iter=30, tol=0, reg_covar=1e-10, random_state=seed)
    fit_quietly(gmm, X)
    # a component collapsed onto <= D points has a singular covariance: its likelihood is rounding
    assume(np.all(gmm.weights_ * len(X) > D + 1))
    steps = np.diff(gmm.log_likelihoods_)
    assert np.all(steps >= -1e-12 * np.abs(gmm.log_likelihoods_[1:]))
    assert len(gmm.log_likelihoods_) == gmm.n_iter_ + 1 == 31


@given(seed=st.integers(0, 2**32 - 1), D=st.integers(1, 3), K=st.integers(1, 4))
def test_fit_does_not_change_when_the_points_are_permuted(seed, D, K):
    X = mixture_data(seed, 400, D, K)
    perm = np.random.default_rng(seed).permutation(len(X))
    a, b = (
        fit_quietly(GaussianMixture(K, max_iter=20, tol=0, random_state=seed), Y)
        for Y in (X, X[perm])
    )
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(a.predict_proba(X)[perm], b.predict_proba(X[perm]), atol=1e-7)


@given(seed=st.integers(0, 2**32 - 1), K=st.integers(1, 4))
def test_responsibilities_and_predictions(seed, K):
    X = mixture_data(seed, 200, 2, K)
    gmm = fit_quietly(GaussianMixture(K, max_iter=10, random_state=seed), X)
    qs = gmm.predict_proba(X)
    assert qs.shape == (200, K) and np.all((qs >= 0) & (qs <= 1))
    np.testing.assert_allclose(qs.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(gmm.predict(X), qs.argmax(axis=1))
    assert gmm.score(X) == pytest.approx(gmm.score_samples(X).mean(), rel=1e-12)


def test_offset_data_fit_the_same_as_centred_data():
    """A 1e6 offset shifts the means and leaves everything else alone: no cancellation."""
    X = mixture_data(3, 1000, 2, 3)
    common = {"max_iter": 25, "tol": 0, "weights_init": np.full(3, 1 / 3),
              "covariances_init": np.tile(np.eye(2), (3, 1, 1))}  # fmt: skip
    means = X[:3].copy()
    a = fit_quietly(GaussianMixture(3, means_init=means, **common), X)
    b = fit_quietly(GaussianMixture(3, means_init=means + 1e6, **common), X + 1e6)
    np.testing.assert_allclose(b.means_ - 1e6, a.means_, atol=1e-6)
    np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-6, atol=1e-8)
    assert b.log_likelihoods_[-1] == pytest.approx(a.log_likelihoods_[-1], rel=1e-9)


def test_a_far_jump_of_the_means_keeps_the_covariance_exact():
    """Means started 1e5 away move that far in the first M-step: the sums are retaken about the
    new means, so the covariances match the two-pass formula sum q (x - mu)(x - mu)^T / N_k."""
    X = mixture_data(4, 1000, 2, 2)
    start = {"weights_init": [0.5, 0.5], "means_init": X[:2] + 1e5,
             "covariances_init": np.tile(1e10 * np.eye(2), (2, 1, 1))}  # fmt: skip
    gmm = fit_quietly(GaussianMixture(2, max_iter=1, **start), X)
    prec_chols = np.tile(1e-5 * np.eye(2), (2, 1, 1))
    qs = np.exp(log_resp_numpy(X, np.log([0.5, 0.5]), start["means_init"], prec_chols)[0])
    nk = qs.sum(axis=0)  # (K,)
    means = qs.T @ X / nk[:, None]  # (K, D)
    for k in range(2):
        diff = X - means[k]
        cov = (qs[:, k, None] * diff).T @ diff / nk[k] + gmm.reg_covar * np.eye(2)
        np.testing.assert_allclose(gmm.covariances_[k], cov, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gmm.means_, means, rtol=1e-9, atol=1e-9)


def test_degenerate_components_are_held_up_by_reg_covar():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0]]), 20, axis=0)  # 3 points, 60 rows
    gmm = fit_quietly(GaussianMixture(3, max_iter=20, random_state=0), X)
    for value in (gmm.weights_, gmm.means_, gmm.covariances_, gmm.score_samples(X)):
        assert np.all(np.isfinite(value))
    assert np.all(np.linalg.eigvalsh(gmm.covariances_) >= 0.5 * gmm.reg_covar)
    assert np.all(np.isfinite(gmm.score_samples(X + 1e6)))  # far from every component


def test_max_iter_reached_warns():
    X = mixture_data(0, 300, 2, 3)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        gmm = GaussianMixture(3, max_iter=2, tol=0, random_state=0).fit(X)
    assert not gmm.converged_ and gmm.n_iter_ == 2


def test_sample_reproduces_the_mixture():
    X = mixture_data(1, 2000, 2, 2)
    gmm = GaussianMixture(2, random_state=0).fit(X)
    n = 40_000
    Y, labels = gmm.sample(n, rng=1)
    assert Y.shape == (n, 2) and labels.shape == (n,)
    freq = np.bincount(labels, minlength=2) / n
    assert np.all(np.abs(freq - gmm.weights_) < 6 * np.sqrt(gmm.weights_ * (1 - gmm.weights_) / n))
    for k in range(2):
        Yk = Y[labels == k]
        se = np.sqrt(np.diag(gmm.covariances_[k]) / len(Yk))
        assert np.all(np.abs(Yk.mean(axis=0) - gmm.means_[k]) < 6 * se)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: g.fit(np.array([[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]])), "finite"),
        (lambda g: g.fit(np.array([[0.0, np.inf], [1.0, 1.0], [2.0, 2.0]])), "finite"),
        (lambda g: g.fit(np.zeros((1, 2))), "n_samples >= n_components=2"),
        (lambda g: g.fit(np.zeros(10)), "2-D"),
        (lambda g: g.predict(np.zeros((3, 2))), "not fitted"),
        (lambda g: g.fit(np.random.default_rng(0).random((9, 2))).score(np.zeros((3, 5))), "5"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(GaussianMixture(2, random_state=0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_components": 0}, "n_components"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"reg_covar": np.nan}, "reg_covar"),
        ({"init": "random"}, "init"),
        ({"weights_init": [0.2, 0.2]}, "summing to 1"),
        ({"means_init": np.zeros((3, 2))}, r"shape \(2, 2\)"),
        ({"covariances_init": [[[1, 2], [2, 1]], np.eye(2)]}, "positive-definite"),
    ],
)
def test_bad_parameters_raise_a_clear_value_error(kwargs, message):
    X = np.random.default_rng(0).random((20, 2))
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**{"n_components": 2, **kwargs}).fit(X)
