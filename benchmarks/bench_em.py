"""Seconds per EM iteration, scratch against scikit-learn, for every covariance type side by side.

Both start from the same parameters (init_params='random_from_data', the same seed, one EM
iteration). Then single EM iterations are timed one by one, --repeat of them per side, the two
sides interleaved, and the best is kept: load from other processes only ever adds time, so the
minimum is the iteration's cost. scikit-learn's iteration is what its fit loop runs
(``_e_step`` then ``_m_step``); scratch's is ``_em_iteration`` (one fused pass, then its M-step).
rel_diff compares both sides' parameters after fits of 1 + --iters iterations from that start.
Writes benchmarks/results/em.json.

    python benchmarks/bench_em.py [--iters 5] [--repeat 7] [--shapes 1000000,2,8 100000,16,8]
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


def fitted(cls, X, K, covariance_type, max_iter):
    gmm = cls(K, covariance_type=covariance_type, max_iter=max_iter, tol=0, random_state=0,
              init_params="random_from_data")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gmm.fit(X)


def iteration(gmm, X):
    """A closure running one EM iteration of gmm (either side) from its current parameters."""
    if isinstance(gmm, GaussianMixture):
        Xc = np.ascontiguousarray(X, dtype=np.float64)
        xtx = Xc.T @ Xc if gmm.covariance_type == "tied" else None  # once per fit, as fit does
        state = [gmm._params64()]

        def step():
            state[0] = gmm._em_iteration(Xc, state[0], xtx)[1]

        return step

    def step():
        gmm._m_step(X, gmm._e_step(X)[1])

    return step


def seconds(step):
    t = time.perf_counter()
    step()
    return time.perf_counter() - t


def per_iteration(classes, X, K, covariance_type, repeat):
    """Best seconds of one EM iteration for each class, timed alternately."""
    steps = [iteration(fitted(cls, X, K, covariance_type, 1), X) for cls in classes]
    for step in steps:
        step()  # compile / warm caches
    best = [np.inf] * len(steps)
    for _ in range(repeat):
        for i, step in enumerate(steps):
            best[i] = min(best[i], seconds(step))
    return best


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7)
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
            classes = [GaussianMixture] + ([SkGaussianMixture] if SkGaussianMixture else [])
            times = per_iteration(classes, X, K, ct, args.repeat)
            row = {"N": N, "D": D, "K": K, "covariance_type": ct, "scratch_s": times[0]}
            if SkGaussianMixture is not None:
                gm, sk = (fitted(cls, X, K, ct, 1 + args.iters) for cls in classes)
                row |= {
                    "sklearn_s": times[1],
                    "speedup": times[1] / times[0],
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
