"""The assignment step of Lloyd's k-means: each point's nearest centre.

    label_n = argmin_k ||x_n - c_k||^2,   d2_n = min_k ||x_n - c_k||^2

The Numba kernel runs over rows in parallel and never forms the (N, K) distance matrix.
"""

import numpy as np

from ._jit import fast, njit, prange


def nearest_numpy(X, centers):
    """X (N, D), centers (K, D) -> labels (N,) int64, d2 (N,) squared distance to that centre."""
    d2 = ((X[:, None, :] - centers) ** 2).sum(axis=-1)  # (N, K)
    labels = d2.argmin(axis=1)
    return labels, d2[np.arange(len(X)), labels]


@fast(nearest_numpy)
@njit(parallel=True, cache=True)
def nearest(X, centers):
    """label_n = argmin_k ||x_n - c_k||^2 and d2_n, as :func:`nearest_numpy` (ties to the lowest
    k). Fast: rows run in parallel, and the (N, K) distance matrix is never formed."""
    N, D = X.shape
    K = centers.shape[0]
    labels = np.empty(N, dtype=np.int64)
    d2 = np.empty(N)
    for n in prange(N):
        best, best_k = np.inf, 0
        for k in range(K):
            s = 0.0
            for i in range(D):
                t = X[n, i] - centers[k, i]
                s += t * t
            if s < best:
                best, best_k = s, k
        labels[n], d2[n] = best_k, best
    return labels, d2
