"""``scratch em``: step 5, fit a Gaussian mixture to Old Faithful by EM from the book's start
(phis [0.5, 0.5], mus [[0, 50], [0, 100]], covs two identity matrices); print the mean
log-likelihood per iteration, draw the fitted density over the data, and generate new points."""

import matplotlib.pyplot as plt
import numpy as np

from scratch.data import load_old_faithful
from scratch.probability import GaussianMixture
from scratch.viz import save

from . import step04_gmm
from ._common import have, make_parser, parse, write_json
from .step03_mvn import density_grid

BOOK_START = {
    "weights_init": [0.5, 0.5],
    "means_init": [[0.0, 50.0], [0.0, 100.0]],
    "covariances_init": [np.eye(2), np.eye(2)],
}


def main(argv=None) -> dict:
    parser = make_parser("em", __doc__.split("\n")[0])
    parser.add_argument("--max-iter", type=int, default=100, help="EM iterations at most")
    parser.add_argument("--tol", type=float, default=1e-4, help="stop when the change is smaller")
    args = parse(parser, argv)
    rng = np.random.default_rng(args.seed)
    if args.quick and not have("book/old_faithful.txt"):
        X, source = step04_gmm.sample(272, rng)[0], "272 samples of step 4's mixture"
    else:
        X, source = load_old_faithful(), "book/old_faithful.txt"

    gmm = GaussianMixture(2, max_iter=args.max_iter, tol=args.tol, **BOOK_START).fit(X)
    for i, ll in enumerate(gmm.log_likelihoods_):
        print(f"iteration {i:>3}: mean log-likelihood {ll:.6f}")
    print(f"{source}: converged={gmm.converged_} after {gmm.n_iter_} iterations")
    print(f"phis {gmm.weights_.round(4).tolist()}, mus {gmm.means_.round(4).tolist()}")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(gmm.log_likelihoods_, "o-")
    ax.set(xlabel="iteration", ylabel="mean log-likelihood", title=f"EM on {source}")
    curve_png = save(fig, args.out / "log_likelihood.png")

    xx, yy, zz = density_grid(gmm.score_samples, X)
    new, _ = gmm.sample(500, rng)  # (500, 2) generated points
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True, sharey=True)
    axes[0].scatter(X[:, 0], X[:, 1], s=6, color="gray", label="data")
    axes[0].contour(xx, yy, zz, levels=10)
    axes[0].set(title=f"fitted density over {source}", xlabel=step04_gmm.LABELS[0])
    axes[1].scatter(X[:, 0], X[:, 1], s=6, color="gray", label="data")
    axes[1].scatter(new[:, 0], new[:, 1], s=6, alpha=0.6, label="generated")
    axes[1].set(title="500 points generated from the fit", xlabel=step04_gmm.LABELS[0])
    axes[0].set_ylabel(step04_gmm.LABELS[1])
    axes[1].legend()
    fit_png = save(fig, args.out / "fit.png")
    print(f"figures: {curve_png}, {fit_png}")

    result = {
        "data": source,
        "n_iter": gmm.n_iter_,
        "converged": bool(gmm.converged_),
        "mean_log_likelihood": round(float(gmm.log_likelihoods_[-1]), 6),
        "weights": gmm.weights_.round(6).tolist(),
        "means": gmm.means_.round(6).tolist(),
    }
    write_json(args.out / "em.json", result)
    return result
