"""Seconds per EM iteration, scratch against scikit-learn, for every covariance type side by side.

Both run from the same start (init_params='random_from_data', the same seed, tol=0). The time of
one iteration is (best time of max_iter=1+n) - (best time of max_iter=1), over n iterations, each
the best of --repeat fits, so that validation and initialisation cancel and load from other
processes (which only ever adds time) is filtered out on both sides. Writes
benchmarks/results/em.json.

    python benchmarks/bench_em.py [--iters 5] [--repeat 3] [--shapes 1000000,2,8 100000,16,8]
"""

import argparse
import json
import os
import pathlib
import time
import warnings

import numpy as np

from scratch.probability import GaussianMixture

TYPES = ("full", "tied", "diag", "spherical")
OUT = pathlib.Path(__file__).parent / "results" / "em.json"


def fit_seconds(cls, X, K, covariance_type, max_iter):
    gmm = cls(K, covariance_type=covariance_type, max_iter=max_iter, tol=0, random_state=0,
              init_params="random_from_data")  # fmt: skip
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gmm.fit(X)
    return time.perf_counter() - t, gmm


def per_iteration(cls, X, K, covariance_type, iters, repeat):
    """(seconds per iteration, the fitted model of 1 + iters iterations)."""
    fit_seconds(cls, X, K, covariance_type, 1)  # compile / warm caches
    short = min(fit_seconds(cls, X, K, covariance_type, 1)[0] for _ in range(repeat))
    runs = [fit_seconds(cls, X, K, covariance_type, 1 + iters) for _ in range(repeat)]
    return (min(t for t, _ in runs) - short) / iters, runs[0][1]


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", nargs="+", default=["1000000,2,8", "100000,16,8"])
    parser.add_argument("--out", default=str(OUT))
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
            ours, gm = per_iteration(GaussianMixture, X, K, ct, args.iters, args.repeat)
            row = {"N": N, "D": D, "K": K, "covariance_type": ct, "scratch_s": ours}
            if SkGaussianMixture is not None:
                theirs, sk = per_iteration(SkGaussianMixture, X, K, ct, args.iters, args.repeat)
                row |= {
                    "sklearn_s": theirs,
                    "speedup": theirs / ours,
                    "rel_diff": {
                        name: rel(getattr(gm, name), getattr(sk, name))
                        for name in ("weights_", "means_", "covariances_")
                    },
                }
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {
        "command": "python benchmarks/bench_em.py "
        + " ".join(
            f"--{k} {' '.join(v) if isinstance(v, list) else v}"
            for k, v in vars(args).items()
            if k != "out"
        ),
        "load_average": os.getloadavg(),
        "rows": rows,
    }
    pathlib.Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
