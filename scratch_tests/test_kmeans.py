"""k-means: the Numba assignment step equals its NumPy twin; Lloyd finds separated clusters."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from scratch.kernels.kmeans import nearest, nearest_numpy
from scratch.probability.kmeans import kmeans, kmeans_plusplus


@given(seed=st.integers(0, 2**32 - 1), N=st.integers(1, 500), D=st.integers(1, 5),
       K=st.integers(1, 6))  # fmt: skip
def test_nearest_equals_its_numpy_twin(seed, N, D, K):
    rng = np.random.default_rng(seed)
    X, centers = rng.normal(size=(N, D)), rng.normal(size=(K, D))
    labels, d2 = nearest(X, centers)
    want_labels, want_d2 = nearest_numpy(X, centers)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_allclose(d2, want_d2, rtol=1e-12, atol=1e-14)
    py_labels, py_d2 = nearest.py_func(X, centers) if hasattr(nearest, "py_func") else (labels, d2)
    np.testing.assert_array_equal(py_labels, want_labels)


def test_lloyd_finds_separated_clusters_and_seeds_are_data_points():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])
    X = np.concatenate([c + rng.standard_normal((100, 2)) for c in centres])
    seeds, idx = kmeans_plusplus(X, 4, np.random.RandomState(0))
    np.testing.assert_array_equal(seeds, X[idx])
    found, labels = kmeans(X, 4, np.random.RandomState(0))
    order = np.lexsort(found.T[::-1])
    np.testing.assert_allclose(found[order], centres[np.lexsort(centres.T[::-1])], atol=0.3)
    assert len(np.unique(labels)) == 4
