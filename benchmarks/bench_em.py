"""Seconds per EM iteration, scratch against scikit-learn, for every covariance type.

Both run from the same start (init_params='random_from_data', the same seed); the time of one
iteration is (time of max_iter=1 + n) - (time of max_iter=1), over n iterations, so that
validation and initialisation are not counted.

    python benchmarks/bench_em.py [--iters 3] [--shapes 1000000,2,8 100000,16,8]
"""

import argparse
import json
import time
import warnings

import numpy as np

from scratch.probability import GaussianMixture

TYPES = ("full", "tied", "diag", "spherical")


def per_iteration(cls, X, K, covariance_type, iters):
    def run(n):
        gmm = cls(K, covariance_type=covariance_type, max_iter=n, tol=0, random_state=0,
                  init_params="random_from_data")  # fmt: skip
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm.fit(X)
        return time.perf_counter() - t

    run(1)  # compile / warm caches
    return (run(1 + iters) - run(1)) / iters


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--shapes", nargs="+", default=["1000000,2,8", "100000,16,8"])
    args = parser.parse_args()
    try:
        from sklearn.mixture import GaussianMixture as SkGaussianMixture
    except ImportError:
        SkGaussianMixture = None
    rows = []
    for shape in args.shapes:
        N, D, K = (int(v) for v in shape.split(","))
        X = np.random.default_rng(0).normal(size=(N, D)) + np.arange(D)
        for ct in TYPES:
            ours = per_iteration(GaussianMixture, X, K, ct, args.iters)
            row = {"N": N, "D": D, "K": K, "covariance_type": ct, "scratch_s": ours}
            if SkGaussianMixture is not None:
                theirs = per_iteration(SkGaussianMixture, X, K, ct, args.iters)
                row |= {"sklearn_s": theirs, "speedup": theirs / ours}
            rows.append(row)
            print(json.dumps(row))


if __name__ == "__main__":
    main()
