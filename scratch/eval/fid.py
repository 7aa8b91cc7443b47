"""Classifier-FID: the Fréchet distance between Gaussians fitted to classifier features.

    d^2 = |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2)

The matrix square roots come from ``np.linalg.eigh``: C1^1/2 = V sqrt(L) V^T, and the trace of
(C1^1/2 C2 C1^1/2)^1/2, a symmetric PSD matrix, is the sum of the square roots of its
eigenvalues (clipped at 0 against rounding). tr((C1 C2)^1/2) is the same number, since
C1 C2 is similar to C1^1/2 C2 C1^1/2.
"""

import time

import numpy as np


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """The symmetric square root V sqrt(max(L, 0)) V^T of a symmetric PSD matrix."""
    lam, V = np.linalg.eigh(cov)
    return (V * np.sqrt(np.clip(lam, 0.0, None))) @ V.T


def _check_stats(mu, cov, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    if mu.ndim != 1 or cov.shape != (len(mu), len(mu)):
        raise ValueError(
            f"{name}: expected a mean (D,) and a covariance (D, D), "
            f"got shapes {mu.shape} and {cov.shape}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(cov).all()):
        raise ValueError(f"{name}: the mean or covariance contains NaN or infinite values")
    if not np.allclose(cov, cov.T, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(cov).max())):
        raise ValueError(f"{name}: the covariance is not symmetric")
    return mu, (cov + cov.T) / 2


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2)."""
    mu1, cov1 = _check_stats(mu1, cov1, "first")
    mu2, cov2 = _check_stats(mu2, cov2, "second")
    if mu1.shape != mu2.shape:
        raise ValueError(f"the two means differ in dimension: {mu1.shape} and {mu2.shape}")
    s1 = _sqrt_psd(cov1)  # (D, D)
    lam = np.linalg.eigvalsh(s1 @ cov2 @ s1)  # eigenvalues of C1^1/2 C2 C1^1/2
    tr_covmean = np.sqrt(np.clip(lam, 0.0, None)).sum()
    diff = mu1 - mu2
    d2 = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_covmean
    return float(max(d2, 0.0))


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) (ddof=1) of features (N, D), in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"expected features of shape (N, D) with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def classifier_fid(images_a, images_b, classifier) -> float:
    """Fréchet distance between the classifier's penultimate features of two image sets."""
    stats_a = feature_stats(classifier.features(images_a))
    stats_b = feature_stats(classifier.features(images_b))
    return frechet_distance(*stats_a, *stats_b)


def class_histogram(images, classifier) -> np.ndarray:
    """How many images the classifier assigns to each digit 0..9: (10,) int64."""
    return np.bincount(classifier.predict(images), minlength=10)


def label_accuracy(images, labels, classifier) -> dict:
    """For conditional samples: the fraction classified as their requested label, overall
    ('all') and per requested label (keys '0'..'9' for the labels present)."""
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"expected one label per image ({len(images)},), got shape {labels.shape}")
    hit = classifier.predict(images) == labels  # (N,)
    per = {str(k): float(hit[labels == k].mean()) for k in np.unique(labels)}
    return {"all": float(hit.mean()), **per}


def reference_stats(classifier) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the classifier's features over all 10,000 MNIST test images: the
    reference of every classifier-FID here, whatever the number of samples. A first-n subset
    would not do: the test set is ordered, its first 5,000 images from other writers than its
    last 5,000 (the first 1,000 alone lie 52.9 from 1,000 training images, a random 1,000 about 20)."""
    from scratch.data import MNIST

    return feature_stats(classifier.features(MNIST(train=False).data))


def fid_to_test(images, classifier, reference=None) -> float:
    """Classifier-FID of images against the whole test set (``reference``: its
    :func:`reference_stats`, if already computed)."""
    reference = reference_stats(classifier) if reference is None else reference
    return frechet_distance(*feature_stats(classifier.features(images)), *reference)


def fid_floor(classifier, n: int = 10_000, seed: int = 0, reference=None) -> dict:
    """The real-against-real floor: classifier-FID of n MNIST training images (drawn with
    ``seed``) against the whole test set, with its runtime in seconds. Compare a model's n
    samples with the floor at the same n: both carry the same small-sample bias."""
    from scratch.data import MNIST

    train = MNIST(train=True)
    if not 2 <= n <= len(train):
        raise ValueError(f"n must lie in [2, {len(train)}], got {n}")
    idx = np.random.default_rng(seed).choice(len(train), size=n, replace=False)
    tick = time.perf_counter()
    fid = fid_to_test(train.data[idx], classifier, reference)
    return {"fid": fid, "n": n, "seed": seed, "seconds": time.perf_counter() - tick}
