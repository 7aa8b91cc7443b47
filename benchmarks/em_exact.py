"""Which side of bench_em.py's rel_diff is right: one EM iteration in 80-bit long double.

    python benchmarks/em_exact.py [--n 1000000] [--d 2] [--k 8]

From bench_em.py's start (init_params='random_from_data': one data point per component, so every
variance is reg_covar = 1e-6 and every precision 1e6), one E-step and M-step of a 'diag' or
'spherical' mixture are computed in np.longdouble with the book's formulas,
log N(x; mu_k, diag(v_k)) = -1/2 sum_d [log(2 pi v_kd) + (x_d - mu_kd)^2 / v_kd], and scratch's and
scikit-learn's float64 fits of one iteration are compared with it (max relative difference).
"""

import argparse
import warnings

import numpy as np

from scratch.probability import GaussianMixture

EPS = 10 * np.finfo(np.float64).eps  # both sides add it to N_k


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a, np.longdouble) - b)) / np.max(np.abs(b)))


def exact_iteration(X, weights, means, variances, covariance_type, reg_covar):
    """One EM iteration in long double; variances (K, D). Written out here because the package's
    e_step/m_step go through np.linalg, which has no long-double routines."""
    X, w, mu, v = (np.asarray(a, np.longdouble) for a in (X, weights, means, variances))
    log_p = np.log(w) - 0.5 * (np.log(2 * np.pi * v).sum(1) + ((X[:, None] - mu) ** 2 / v).sum(2))
    q = np.exp(log_p - log_p.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)
    N_k = q.sum(0) + EPS
    mus = q.T @ X / N_k[:, None]
    covs = np.stack([q[:, k] @ (X - mus[k]) ** 2 for k in range(len(N_k))]) / N_k[:, None]
    covs = covs + reg_covar
    return N_k / N_k.sum(), mus, covs if covariance_type == "diag" else covs.mean(1)


def main():
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=2)
    parser.add_argument("--k", type=int, default=8)
    args = parser.parse_args()
    X = np.random.default_rng(0).normal(size=(args.n, args.d)) + np.arange(args.d)
    warnings.simplefilter("ignore")
    for ct in ("diag", "spherical"):
        kw = {"n_components": args.k, "covariance_type": ct, "tol": 0, "random_state": 0,
              "init_params": "random_from_data"}  # fmt: skip
        start = GaussianMixture(max_iter=0, **kw).fit(X)
        v0 = np.broadcast_to(start.covariances_.reshape(args.k, -1), (args.k, args.d))
        exact = exact_iteration(X, start.weights_, start.means_, v0, ct, start.reg_covar)
        ours, theirs = (
            cls(max_iter=1, **kw).fit(X) for cls in (GaussianMixture, SkGaussianMixture)
        )
        for name, want in zip(("weights_", "means_", "covariances_"), exact, strict=True):
            print(f"{ct:9} {name:13} scratch {rel(getattr(ours, name), want):.1e}  "
                  f"scikit-learn {rel(getattr(theirs, name), want):.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
