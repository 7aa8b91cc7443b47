"""Fréchet distance: closed forms, a dense sqrtm reference, basic properties and bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.eval import class_histogram, feature_stats, frechet_distance, label_accuracy


def random_spd(rng, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def sqrtm_reference(a: np.ndarray) -> np.ndarray:
    """A general (non-symmetric) matrix square root by a dense eigendecomposition."""
    lam, V = np.linalg.eig(a)
    return (V * np.sqrt(lam.astype(complex))) @ np.linalg.inv(V)


@given(st.floats(-5, 5), st.floats(0.05, 5), st.floats(-5, 5), st.floats(0.05, 5))
def test_one_dimensional_normals(m1, s1, m2, s2):
    d2 = frechet_distance([m1], [[s1**2]], [m2], [[s2**2]])
    assert d2 == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-9, abs=1e-9)


@given(st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_diagonal_covariances(seed, d):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    v1, v2 = rng.uniform(0.01, 4, d), rng.uniform(0.01, 4, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    got = frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(st.integers(0, 2**32 - 1), st.integers(2, 8))
def test_commuting_covariances(seed, d):
    """C1 = Q diag(a) Q^T and C2 = Q diag(b) Q^T share eigenvectors: d^2 = |dmu|^2 + |√a − √b|^2."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    a, b = rng.uniform(0.01, 4, d), rng.uniform(0.01, 4, d)
    mu = rng.standard_normal(d)
    got = frechet_distance(mu, Q @ np.diag(a) @ Q.T, mu, Q @ np.diag(b) @ Q.T)
    assert got == pytest.approx(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rel=1e-7, abs=1e-9)


@given(st.integers(0, 2**32 - 1), st.integers(1, 12))
def test_matches_dense_sqrtm_reference_and_properties(seed, d):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    c1, c2 = random_spd(rng, d), random_spd(rng, d)
    covmean = sqrtm_reference(c1 @ c2)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * covmean).real
    got = frechet_distance(mu1, c1, mu2, c2)
    assert got == pytest.approx(expected, rel=1e-8, abs=1e-9)
    assert got >= 0
    assert got == pytest.approx(frechet_distance(mu2, c2, mu1, c1), rel=1e-9, abs=1e-12)
    assert frechet_distance(mu1, c1, mu1, c1) == pytest.approx(0, abs=1e-9 * np.trace(c1))


def test_identical_singular_stats_are_zero():
    """A rank-deficient covariance (more dimensions than samples) still gives 0 against itself."""
    f = np.random.default_rng(0).standard_normal((5, 20))
    mu, cov = feature_stats(f)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0, abs=1e-6)


def test_feature_stats_is_mean_and_unbiased_covariance():
    f = np.random.default_rng(1).standard_normal((50, 3)).astype(np.float32)
    mu, cov = feature_stats(f)
    assert mu.dtype == cov.dtype == np.float64
    centred = f.astype(np.float64) - f.mean(axis=0, dtype=np.float64)
    np.testing.assert_allclose(cov, centred.T @ centred / 49, rtol=1e-12)


@pytest.mark.parametrize(
    "args, match",
    [
        (([0.0, 0.0], np.eye(3), [0.0, 0.0], np.eye(2)), "expected a mean"),
        (([0.0], [[1.0]], [0.0, 0.0], np.eye(2)), "differ in dimension"),
        (([np.nan], [[1.0]], [0.0], [[1.0]]), "NaN"),
        (([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]], [0.0, 0.0], np.eye(2)), "not symmetric"),
    ],
)
def test_bad_stats(args, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(*args)


def test_bad_features():
    with pytest.raises(ValueError, match="N >= 2"):
        feature_stats(np.zeros((1, 4)))


class FixedClassifier:
    """Predicts the label stored in each image's first pixel."""

    def predict(self, x):
        return np.asarray(x).reshape(len(x), -1)[:, 0].astype(int)


def test_histogram_and_label_accuracy():
    clf = FixedClassifier()
    x = np.zeros((6, 1, 28, 28))
    x[:, 0, 0, 0] = [3, 3, 3, 7, 1, 7]
    np.testing.assert_array_equal(
        class_histogram(x, clf), np.bincount([3, 3, 3, 7, 1, 7], minlength=10)
    )
    acc = label_accuracy(x, np.array([3, 3, 3, 7, 7, 7]), clf)
    assert acc == {"all": 5 / 6, "3": 1.0, "7": 2 / 3}
    with pytest.raises(ValueError, match="one label per image"):
        label_accuracy(x, np.array([1, 2]), clf)


def test_rms_distance_is_per_image():
    from scratch.eval.sampling import rms_distance

    rng = np.random.default_rng(0)
    reference = rng.random((3, 1, 28, 28)).astype(np.float32)
    shift = np.array([0.0, 0.1, -0.5], dtype=np.float32).reshape(3, 1, 1, 1)
    np.testing.assert_allclose(
        rms_distance(reference + shift, reference), [0.0, 0.1, 0.5], atol=1e-6
    )
