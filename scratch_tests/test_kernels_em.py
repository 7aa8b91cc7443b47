"""The EM kernels equal their NumPy twins (and their pure-Python bodies), across several parallel
chunks; responsibilities are probabilities; far points keep finite log-likelihoods."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.kernels import em


def params(seed, N, D, K, offset=0.0):
    """Data X (N, D) and mixture parameters (log phis, mus, upper precision Cholesky factors)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 3, (N, D)) + offset
    log_weights = np.log(rng.dirichlet(np.ones(K)))
    means = rng.normal(0, 3, (K, D)) + offset
    prec_chols = np.triu(rng.normal(0, 0.3, (K, D, D)))
    idx = np.arange(D)
    prec_chols[:, idx, idx] = rng.uniform(0.2, 2.0, (K, D))
    return X, log_weights, means, prec_chols


def assert_same(got, want, rtol):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * np.max(np.abs(w)))


@given(
    seed=st.integers(0, 2**32 - 1),
    N=st.integers(1, 3 * em.CHUNK + 7),
    D=st.integers(1, 5),
    K=st.integers(1, 5),
)
def test_kernels_equal_numpy_twins(seed, N, D, K):
    X, log_weights, means, prec_chols = params(seed, N, D, K)
    shift = means + 0.5
    want_lr = em.log_resp_numpy(X, log_weights, means, prec_chols)
    assert_same(em.log_resp(X, log_weights, means, prec_chols), want_lr, 1e-10)
    qs = np.exp(want_lr[0])
    assert_same(em.suff_stats(X, qs, shift), em.suff_stats_numpy(X, qs, shift), 1e-10)
    assert_same(
        em.em_step(X, log_weights, means, prec_chols, shift),
        em.em_step_numpy(X, log_weights, means, prec_chols, shift),
        1e-10,
    )


@given(
    seed=st.integers(0, 2**32 - 1),
    N=st.integers(1, 5 * em.CHUNK + 7),
    D=st.integers(1, 5),
    K=st.integers(1, 5),
)
def test_diag_kernel_equals_its_twin_and_the_full_kernel(seed, N, D, K):
    """em_step_diag = em_step_diag_numpy = em_step on diagonal factors (its sxx's diagonal)."""
    X, log_weights, means, prec_chols = params(seed, N, D, K)
    prec_diag = np.ascontiguousarray(np.diagonal(prec_chols, axis1=1, axis2=2))  # (K, D)
    shift = means - 0.25
    got = em.em_step_diag(X, log_weights, means, prec_diag, shift)
    assert_same(got, em.em_step_diag_numpy(X, log_weights, means, prec_diag, shift), 1e-10)
    ll, nk, sx, sxx = em.em_step(X, log_weights, means, prec_diag[:, :, None] * np.eye(D), shift)
    assert_same(got, (ll, nk, sx, np.diagonal(sxx, axis1=1, axis2=2)), 1e-10)


@given(
    seed=st.integers(0, 2**32 - 1),
    N=st.integers(1, 5 * em.CHUNK + 7),
    D=st.integers(1, 17),
)
def test_whiten_equals_its_twin(seed, N, D):
    rng = np.random.default_rng(seed)
    X, P = rng.normal(0, 3, (N, D)), rng.normal(0, 1, (D, D))
    np.testing.assert_allclose(em.whiten(X, P), em.whiten_numpy(X, P), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["log_resp", "suff_stats", "em_step", "em_step_diag", "whiten"])
def test_pure_python_bodies_equal_numpy_twins(name):
    """The kernels' Python bodies (what runs with NUMBA_DISABLE_JIT=1) compute the same."""
    X, log_weights, means, prec_chols = params(0, 300, 3, 2)
    args = {
        "log_resp": (X, log_weights, means, prec_chols),
        "suff_stats": (X, np.exp(em.log_resp_numpy(X, log_weights, means, prec_chols)[0]), means),
        "em_step": (X, log_weights, means, prec_chols, means),
        "em_step_diag": (X, log_weights, means, np.diagonal(prec_chols, axis1=1, axis2=2), means),
        "whiten": (X, prec_chols[0]),
    }[name]
    kernel = getattr(em, name)
    assert_same(
        getattr(kernel, "py_func", kernel)(*args), getattr(em, name + "_numpy")(*args), 1e-10
    )


@given(seed=st.integers(0, 2**32 - 1), D=st.integers(1, 4), K=st.integers(1, 6))
def test_responsibilities_are_probabilities(seed, D, K):
    X, log_weights, means, prec_chols = params(seed, 500, D, K)
    log_q, log_prob = em.log_resp(X, log_weights, means, prec_chols)
    qs = np.exp(log_q)  # (N, K)
    assert np.all((qs >= 0) & (qs <= 1))
    np.testing.assert_allclose(qs.sum(axis=1), 1.0, rtol=1e-12)
    ll, nk, _, _ = em.em_step(X, log_weights, means, prec_chols, means)
    assert ll == pytest.approx(log_prob.sum(), rel=1e-12)
    assert nk.sum() == pytest.approx(len(X), rel=1e-12)


def test_far_points_get_finite_log_likelihoods():
    X, log_weights, means, prec_chols = params(0, 100, 2, 3)
    for kernel in (em.log_resp, em.log_resp_numpy):
        log_q, log_prob = kernel(X + 1e6, log_weights, means, prec_chols)
        assert np.all(np.isfinite(log_q)) and np.all(np.isfinite(log_prob))
        assert np.all(log_prob < -1e9)
        np.testing.assert_allclose(np.exp(log_q).sum(axis=1), 1.0, rtol=1e-12)


def test_shifted_sums_do_not_cancel_far_from_zero():
    """About the component means, the covariance from the sums keeps its digits at a 1e6 offset."""
    X, log_weights, means, prec_chols = params(1, 5000, 2, 2, offset=1e6)
    base = params(1, 5000, 2, 2)
    _, nk, sx, sxx = em.em_step(X, log_weights, means, prec_chols, means)
    _, nk0, sx0, sxx0 = em.em_step(*base, base[2])
    for s, s0 in ((nk, nk0), (sx, sx0), (sxx, sxx0)):
        np.testing.assert_allclose(s, s0, rtol=1e-8, atol=1e-8 * np.abs(s0).max())


def test_vectorised_exp_equals_numpy_exp():
    top = np.zeros(em.BLOCK)
    for a in (
        np.linspace(-708, 0, em.BLOCK),
        -np.geomspace(1e-12, 700, em.BLOCK),
        np.zeros(em.BLOCK),
    ):
        out, bits = np.empty(em.BLOCK), np.empty(em.BLOCK, dtype=np.int64)
        for kernel in (em._exp_shifted, em._exp_shifted.py_func):
            kernel(a + 5.0, top + 5.0, out, bits, em.BLOCK)
            np.testing.assert_allclose(out, np.exp(a), rtol=1e-14, atol=0)
    out = np.empty(em.BLOCK)
    em._exp_shifted(np.full(em.BLOCK, -1e4), top, out, np.empty(em.BLOCK, dtype=np.int64), em.BLOCK)
    assert np.all((out >= 0) & (out < 1e-307))  # far below: as good as 0, never NaN
