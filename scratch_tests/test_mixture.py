"""GaussianMixture: the book's Old Faithful figure, the fused fit equal to the book's e_step/m_step
loop, agreement with scikit-learn from the same start (every covariance type, float64 and
float32), EM's monotone log-likelihood, bic/aic, permutation invariance, degenerate data, clear
errors, and scikit-learn's meta-estimators."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scratch.data import load_old_faithful
from scratch.kernels.em import log_resp_numpy
from scratch.probability import ConvergenceWarning, GaussianMixture, e_step, m_step
from scratch_tests.conftest import need

BOOK_START = {
    "weights_init": [0.5, 0.5],
    "means_init": [[0.0, 50.0], [0.0, 100.0]],
    "precisions_init": [np.eye(2), np.eye(2)],
}
TYPES = ("full", "tied", "diag", "spherical")


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
    gmm = GaussianMixture(2, tol=1e-4, **BOOK_START).fit(X)
    assert gmm.converged_
    assert gmm.lower_bound_ == pytest.approx(-4.155382, abs=1e-5)
    np.testing.assert_allclose(gmm.weights_, [0.356, 0.644], atol=1e-3)
    start = [np.array(BOOK_START[k], dtype=float) for k in BOOK_START]
    qs, ll = e_step(X, *start)
    for _ in range(gmm.n_iter_):
        qs, ll = e_step(X, *m_step(X, qs, reg_covar=gmm.reg_covar))
    assert gmm.score(X) == pytest.approx(ll, rel=1e-12)


def full(covs, covariance_type, K, D):
    """A covariance_type's covariances as (K, D, D) matrices, for the book's e_step."""
    if covariance_type == "full":
        return covs
    if covariance_type == "tied":
        return np.broadcast_to(covs, (K, D, D))
    return np.broadcast_to(covs.reshape(K, -1)[:, :, None] * np.eye(D), (K, D, D))


def start_of(X, K, covariance_type, seed):
    """An estimator's start from random_from_data, as (weights_init, means_init, precisions_init)."""
    init = GaussianMixture(K, covariance_type=covariance_type, max_iter=0, random_state=seed,
                           init_params="random_from_data").fit(X)  # fmt: skip
    return {"weights_init": init.weights_, "means_init": init.means_,
            "precisions_init": init.precisions_}, init.covariances_  # fmt: skip


@pytest.mark.parametrize("covariance_type", TYPES)
@given(seed=st.integers(0, 2**32 - 1), D=st.integers(1, 4), K=st.integers(1, 4))
def test_fused_fit_equals_the_books_e_step_m_step_loop(covariance_type, seed, D, K):
    X = mixture_data(seed, 300, D, K)
    start, covs = start_of(X, K, covariance_type, seed)
    n = 5
    gmm = fit_quietly(GaussianMixture(K, covariance_type=covariance_type, max_iter=n, tol=0,
                                      reg_covar=1e-3, **start), X)  # fmt: skip
    phis, mus = start["weights_init"], start["means_init"]
    bounds = []
    for _ in range(n):
        qs, ll = e_step(X, phis, mus, full(covs, covariance_type, K, D))
        phis, mus, covs = m_step(X, qs, covariance_type, reg_covar=1e-3)
        bounds.append(ll)
    np.testing.assert_allclose(gmm.lower_bounds_, bounds, rtol=1e-10)
    np.testing.assert_allclose(gmm.weights_, phis, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(gmm.means_, mus, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(gmm.covariances_, covs, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(seed=st.integers(0, 2**32 - 1), D=st.integers(1, 4), K=st.integers(1, 4),
       offset=st.sampled_from([0.0, 100.0]))  # fmt: skip
def test_agrees_with_sklearn_from_the_same_start(covariance_type, dtype, seed, D, K, offset):
    sk = pytest.importorskip("sklearn.mixture")
    # float32 at an offset: scikit-learn's 'tied'/'diag'/'spherical' covariances, E[x^2] - mu^2 in
    # float32, lose their digits (scratch shifts its sums), so the oracle is compared unshifted
    assume(dtype == np.float64 or offset == 0.0)
    X = mixture_data(seed, 400, D, K, offset=offset).astype(dtype)
    # float32: scikit-learn's float32 rounding grows along the trajectory (1e-3 after 10 steps)
    n = 10 if dtype == np.float64 else 3
    kw = {"n_components": K, "covariance_type": covariance_type, "max_iter": n, "tol": 0,
          "random_state": seed, "init_params": "random"}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sk.GaussianMixture(**kw).fit(X)
        ours = GaussianMixture(**kw).fit(X)
    # float32: scratch computes in float64 and rounds its results, so it is held to scikit-learn's
    # float64 run from the same float32 data (scikit-learn's float32 run drifts by its own rounding)
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    assume(np.all(theirs.weights_ * len(X) > D + 1))  # no component collapsed (ill-conditioned)
    assert theirs.n_iter_ == ours.n_iter_ == n
    exact = theirs if dtype == np.float64 else sk.GaussianMixture(**kw).fit(X.astype(np.float64))
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        got, want = getattr(ours, name), getattr(exact, name)
        assert got.dtype == getattr(theirs, name).dtype == dtype, name
        np.testing.assert_allclose(
            got, want, rtol=rtol, atol=rtol * np.abs(want).max(), err_msg=name
        )
    # the lower bound is a mean log-likelihood (nats per point), near 0 at times: absolute too
    np.testing.assert_allclose(ours.lower_bounds_, exact.lower_bounds_, rtol=rtol, atol=rtol)
    if dtype == np.float64:
        want = theirs.score_samples(X)
        np.testing.assert_allclose(ours.score_samples(X), want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
@given(seed=st.integers(0, 2**32 - 1), D=st.integers(1, 4), K=st.integers(1, 4))
def test_bic_and_aic_count_the_free_parameters(covariance_type, seed, D, K):
    X = mixture_data(seed, 200, D, K)
    gmm = fit_quietly(GaussianMixture(K, covariance_type=covariance_type, random_state=seed), X)
    cov = {"full": K * D * (D + 1) // 2, "tied": D * (D + 1) // 2, "diag": K * D, "spherical": K}
    p = cov[covariance_type] + K * D + K - 1
    log_L = gmm.score_samples(X).sum()
    assert gmm.bic(X) == pytest.approx(-2 * log_L + p * np.log(len(X)), rel=1e-12)
    assert gmm.aic(X) == pytest.approx(-2 * log_L + 2 * p, rel=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
@given(seed=st.integers(0, 2**32 - 1), D=st.integers(1, 3), K=st.integers(1, 4))
def test_log_likelihood_never_decreases(covariance_type, seed, D, K):
    """Near-exact EM: reg_covar makes the M-step miss the likelihood's argmax by O(reg_covar)
    (1e-6 gave drops of 5e-12 once converged), so it is 1e-10 here: small, yet no collapse."""
    X = mixture_data(seed, 300, D, K)
    gmm = GaussianMixture(K, covariance_type=covariance_type, max_iter=30, tol=0,
                          reg_covar=1e-10, random_state=seed)  # fmt: skip
    fit_quietly(gmm, X)
    # a component collapsed onto <= D points has a singular covariance: its likelihood is rounding
    assume(np.all(gmm.weights_ * len(X) > D + 1))
    bounds = np.append(gmm.lower_bounds_, gmm.score(X))  # (31,) before each M-step, then at the end
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    assert len(gmm.lower_bounds_) == gmm.n_iter_ == 30


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
              "precisions_init": np.tile(np.eye(2), (3, 1, 1))}  # fmt: skip
    means = X[:3].copy()
    a = fit_quietly(GaussianMixture(3, means_init=means, **common), X)
    b = fit_quietly(GaussianMixture(3, means_init=means + 1e6, **common), X + 1e6)
    np.testing.assert_allclose(b.means_ - 1e6, a.means_, atol=1e-6)
    np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-6, atol=1e-8)
    assert b.lower_bound_ == pytest.approx(a.lower_bound_, rel=1e-9)


def test_a_far_jump_of_the_means_keeps_the_covariance_exact():
    """Means started 1e5 away move that far in the first M-step: the sums are retaken about the
    new means, so the covariances match the two-pass formula sum q (x - mu)(x - mu)^T / N_k."""
    X = mixture_data(4, 1000, 2, 2)
    start = {"weights_init": [0.5, 0.5], "means_init": X[:2] + 1e5,
             "precisions_init": np.tile(1e-10 * np.eye(2), (2, 1, 1))}  # fmt: skip
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
    with pytest.warns(UserWarning, match="did not converge"):
        gmm = GaussianMixture(3, max_iter=2, tol=0, random_state=0).fit(X)
    assert not gmm.converged_ and gmm.n_iter_ == 2


def test_stops_at_the_same_step_as_sklearn():
    sk = pytest.importorskip("sklearn.mixture")
    X = mixture_data(5, 1000, 2, 3)
    for tol in (1e-1, 1e-3, 1e-6):
        kw = {"n_components": 3, "tol": tol, "random_state": 0, "init_params": "random_from_data"}
        assert GaussianMixture(**kw).fit(X).n_iter_ == sk.GaussianMixture(**kw).fit(X).n_iter_


def test_n_init_keeps_the_best_lower_bound_and_warm_start_continues():
    X = mixture_data(6, 500, 2, 4)
    single = [fit_quietly(GaussianMixture(4, max_iter=3, random_state=s, init_params="random"), X)
              for s in range(1)]  # fmt: skip
    best = fit_quietly(GaussianMixture(4, n_init=5, max_iter=3, random_state=0,
                                       init_params="random"), X)  # fmt: skip
    assert best.lower_bound_ >= single[0].lower_bound_
    two = fit_quietly(GaussianMixture(4, max_iter=6, tol=0, random_state=0), X)
    warm = GaussianMixture(4, max_iter=3, tol=0, random_state=0, warm_start=True)
    fit_quietly(warm, X), fit_quietly(warm, X)
    np.testing.assert_allclose(warm.means_, two.means_, rtol=1e-12)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_init_finds_separated_clusters(init_params):
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.concatenate([c + rng.standard_normal((200, 2)) for c in centres])
    gmm = GaussianMixture(3, init_params=init_params, n_init=3, random_state=0).fit(X)
    found = gmm.means_[np.argsort(gmm.means_[:, 0] + 2 * gmm.means_[:, 1])]
    np.testing.assert_allclose(found, centres, atol=0.3)


def test_float32_in_float32_out():
    X = mixture_data(7, 300, 2, 2).astype(np.float32)
    gmm = GaussianMixture(2, random_state=0).fit(X)
    for value in (gmm.weights_, gmm.means_, gmm.covariances_, gmm.precisions_,
                  gmm.score_samples(X), gmm.predict_proba(X), gmm.sample(5)[0]):  # fmt: skip
        assert value.dtype == np.float32


def test_sklearn_meta_estimators_accept_it():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.validation import check_is_fitted

    gmm = GaussianMixture(2, covariance_type="diag", random_state=0)
    with pytest.raises(NotFittedError):
        check_is_fitted(gmm)
    copy = clone(gmm)
    assert copy.get_params() == gmm.get_params() and copy is not gmm
    X = mixture_data(8, 300, 2, 3)
    pipe = Pipeline([("scale", StandardScaler()), ("gmm", gmm)]).fit(X)
    assert np.isfinite(pipe.score(X))
    grid = GridSearchCV(GaussianMixture(random_state=0), {"n_components": [1, 2, 3]}, cv=3).fit(X)
    assert grid.best_params_["n_components"] in (1, 2, 3)
    check_is_fitted(grid.best_estimator_)


def test_without_sklearn_loaded_it_imports_none_of_the_oracles():
    """Every covariance type fits, scores and raises its errors without loading scikit-learn or
    PyTorch; the errors are scratch's twins with scikit-learn's bases. (SciPy is not checked:
    Numba itself imports it when it is installed.)"""
    code = (
        "import sys, warnings, numpy as np\n"
        "from scratch.probability import GaussianMixture, NotFittedError\n"
        "X = np.random.default_rng(0).normal(size=(200, 3))\n"
        "for ct in ('full', 'tied', 'diag', 'spherical'):\n"
        "    GaussianMixture(2, covariance_type=ct, random_state=0).fit(X).score(X)\n"
        "try:\n"
        "    GaussianMixture(2).predict(X)\n"
        "except NotFittedError as e:\n"
        "    assert isinstance(e, ValueError) and isinstance(e, AttributeError)\n"
        "else:\n"
        "    raise SystemExit('no NotFittedError')\n"
        "print(sorted(m for m in ('sklearn', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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
    ("call", "error", "message"),
    [
        (lambda g: g.fit(np.array([[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]])), ValueError, "NaN"),
        (lambda g: g.fit(np.array([[0.0, np.inf], [1.0, 1.0], [2.0, 2.0]])), ValueError, "inf"),
        (lambda g: g.fit(np.zeros((1, 2))), ValueError, "1 sample"),
        (lambda g: g.fit(np.zeros((3, 0))), ValueError, "0 feature"),
        (lambda g: g.fit(np.zeros(10)), ValueError, "2D array"),
        (lambda g: g.fit(np.zeros((3, 2), dtype=complex)), ValueError, "Complex"),
        (lambda g: g.fit([["a", "b"], ["c", "d"]]), ValueError, "expected numbers"),
        (lambda g: g.predict(np.zeros((3, 2))), ValueError, "not fitted"),
        (lambda g: g.predict(np.zeros((3, 2))), AttributeError, "not fitted"),
        (
            lambda g: g.fit(np.random.default_rng(0).random((9, 2))).score(np.zeros((3, 5))),
            ValueError,
            "5 features",
        ),  # fmt: skip
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call(GaussianMixture(2, random_state=0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_components": 0}, "n_components"),
        ({"max_iter": -1}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"reg_covar": np.nan}, "reg_covar"),
        ({"covariance_type": "Full"}, "covariance_type"),
        ({"init_params": "kmeans++"}, "init_params"),
        ({"weights_init": [0.2, 0.2]}, "normalized"),
        ({"means_init": np.zeros((3, 2))}, r"shape of \(2, 2\)"),
        ({"precisions_init": [[[1, 2], [2, 1]], np.eye(2)]}, "positive-definite"),
        ({"covariance_type": "diag", "precisions_init": [[1, -1], [1, 1]]}, "positive"),
    ],
)
def test_bad_parameters_raise_a_clear_value_error_in_fit(kwargs, message):
    X = np.random.default_rng(0).random((20, 2))
    gmm = GaussianMixture(**{"n_components": 2, **kwargs})  # the constructor only stores them
    with pytest.raises(ValueError, match=message):
        gmm.fit(X)
