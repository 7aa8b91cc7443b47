"""k-means, to start EM: k-means++ seeding, then Lloyd's iterations.

Lloyd: assign each point to its nearest centre, move each centre to the mean of its points,
repeat until the centres move by less than ``tol`` times the data's mean variance.
k-means++: the first seed uniformly, each next one drawn with probability proportional to its
squared distance to the nearest seed so far (the best of 2 + log K draws, as scikit-learn).
"""

import numpy as np

from scratch.kernels.kmeans import nearest


def kmeans_plusplus(X, K: int, rng: np.random.RandomState):
    """K seeds by k-means++: (centers (K, D), indices (K,) into X). The rows are visited in a
    fixed (sorted) order, so the seeds do not depend on the order of the data."""
    order = np.lexsort(X.T[::-1])  # (N,) sorted rows
    Xs = X[order]
    n_trials = 2 + int(np.log(K))
    picks = [rng.randint(len(Xs))]
    d2 = nearest(Xs, Xs[picks])[1]  # (N,) squared distance to the nearest seed
    for _ in range(1, K):
        total = d2.sum()
        if total > 0:
            draws = rng.uniform(size=n_trials) * total
            cands = np.minimum(np.searchsorted(np.cumsum(d2), draws), len(Xs) - 1)
        else:
            cands = rng.randint(len(Xs), size=n_trials)
        # each candidate's potential: the sum of squared distances if it were added
        d2_cands = np.minimum(d2, ((Xs[None, :, :] - Xs[cands][:, None, :]) ** 2).sum(-1))
        best = d2_cands.sum(axis=1).argmin()
        picks.append(cands[best])
        d2 = d2_cands[best]
    indices = order[picks]
    return X[indices].copy(), indices


def kmeans(X, K: int, rng: np.random.RandomState, max_iter: int = 300, tol: float = 1e-4):
    """Lloyd's k-means from k-means++ seeds: (centers (K, D), labels (N,)).

    A cluster left empty takes the point farthest from its centre."""
    centers = kmeans_plusplus(X, K, rng)[0]
    tol = tol * X.var(axis=0).mean()
    for _ in range(max_iter):
        labels, d2 = nearest(X, centers)  # assignment
        counts = np.bincount(labels, minlength=K)  # (K,)
        for k in np.flatnonzero(counts == 0):
            far = d2.argmax()
            labels[far], d2[far] = k, 0.0
        counts = np.bincount(labels, minlength=K)
        sums = np.stack([np.bincount(labels, x, K) for x in X.T], axis=1)  # (K, D)
        new = sums / counts[:, None]  # update: the mean of each cluster
        shift = ((new - centers) ** 2).sum()
        centers = new
        if shift <= tol:
            break
    return centers, nearest(X, centers)[0]
