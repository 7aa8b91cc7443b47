"""``scratch em``: step 5, fit a Gaussian mixture to Old Faithful by EM from the book's start
(phis [0.5, 0.5], mus [[0, 50], [0, 100]], covs two identity matrices); print the mean
log-likelihood per iteration, draw the fitted density over the data, and generate new points.

The loop is the book's: E-step (qs), M-step (phis, mus, covs), until the mean log-likelihood
changes by less than ``--tol``. ``GaussianMixture`` runs the same EM in one fused pass a step."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from scratch.data import load_old_faithful
from scratch.data.toy import FAITHFUL_LABELS, sample_mixture
from scratch.probability import GaussianMixture, e_step, m_step
from scratch.viz import density_grid, save

from ._common import data_source, integer, make_parser, parse, real, write_json

BOOK_START = {
    "phis": np.array([0.5, 0.5]),
    "mus": np.array([[0.0, 50.0], [0.0, 100.0]]),
    "covs": np.array([np.eye(2), np.eye(2)]),
}


def em(X, phis, mus, covs, max_iter=100, tol=1e-4):
    """The book's EM loop: (phis, mus, covs, mean log-likelihoods, converged)."""
    qs, current = e_step(X, phis, mus, covs)
    log_likelihoods = [current]
    for _ in range(max_iter):
        phis, mus, covs = m_step(X, qs)  # M-step: 1. phis, 2. mus, 3. covs
        qs, next_ = e_step(X, phis, mus, covs)  # E-step, and the likelihood it reaches
        log_likelihoods.append(next_)
        if abs(next_ - current) < tol:
            return phis, mus, covs, log_likelihoods, True
        current = next_
    return phis, mus, covs, log_likelihoods, False


def likelihood_figure(log_likelihoods, source: str, path):
    """The mean log-likelihood per iteration, and on a log scale its gap to the final value, so
    that the converging iterations show beside the start (-137 against -4.2 on the book's)."""
    ll = np.asarray(log_likelihoods)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
    ax0.plot(ll, "o-")
    ax0.set(xlabel="iteration", ylabel="mean log-likelihood", title="every iteration")
    gap = ll[-1] - ll[:-1]  # >= 0: EM never lowers the likelihood
    ax1.semilogy(np.arange(len(gap)), np.maximum(gap, 1e-12), "o-")
    ax1.set(xlabel="iteration", ylabel="final minus this iteration's (log scale)",
            title="gap to the final mean log-likelihood")  # fmt: skip
    for ax in (ax0, ax1):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"EM on {source}: {len(ll) - 1} iterations, final {ll[-1]:.4f}")
    return save(fig, path)


def main(argv=None) -> dict:
    parser = make_parser("em", __doc__, synthetic=True)
    parser.add_argument("--max-iter", type=integer(1), default=100, help="EM iterations at most")
    parser.add_argument(
        "--tol", type=real(0, open_low=True), default=1e-4, help="stop when the change is smaller"
    )
    args = parse(parser, argv)
    rng = np.random.default_rng(args.seed)
    source = data_source(args, ["book/old_faithful.txt"], "book/old_faithful.txt")
    if source is None:
        X, source = (
            sample_mixture(272, rng)[0],
            "generated stand-in: 272 samples of step 4's mixture",
        )
    else:
        X = load_old_faithful()

    phis, mus, covs, log_likelihoods, converged = em(
        X, **BOOK_START, max_iter=args.max_iter, tol=args.tol
    )
    n_iter = len(log_likelihoods) - 1
    for i, ll in enumerate(log_likelihoods):
        print(f"iteration {i:>3}: mean log-likelihood {ll:.6f}")
    print(f"{source}: converged={converged} after {n_iter} iterations")
    print(f"phis {phis.round(4).tolist()}, mus {mus.round(4).tolist()}")
    # the fitted mixture as an estimator (max_iter=0 keeps the given parameters), to draw and sample
    gmm = GaussianMixture(2, weights_init=phis, means_init=mus,
                          precisions_init=np.linalg.inv(covs), max_iter=0).fit(X)  # fmt: skip

    curve_png = likelihood_figure(log_likelihoods, source, args.out / "log_likelihood.png")

    xx, yy, zz = density_grid(gmm.score_samples, X)
    new, _ = gmm.sample(500, rng=np.random.RandomState(args.seed))  # (500, 2) generated points
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True, sharey=True)
    axes[0].scatter(X[:, 0], X[:, 1], s=6, color="gray", label="data")
    axes[0].contour(xx, yy, zz, levels=10)
    axes[0].set(title=f"fitted density over {source}", xlabel=FAITHFUL_LABELS[0])
    axes[1].scatter(X[:, 0], X[:, 1], s=6, color="gray", label="data")
    axes[1].scatter(new[:, 0], new[:, 1], s=6, alpha=0.6, label="generated")
    axes[1].set(title="500 points generated from the fit", xlabel=FAITHFUL_LABELS[0])
    axes[0].set_ylabel(FAITHFUL_LABELS[1])
    axes[1].legend()
    fit_png = save(fig, args.out / "fit.png")
    print(f"figures: {curve_png}, {fit_png}")

    result = {
        "data": source,
        "n_iter": n_iter,
        "converged": converged,
        "mean_log_likelihood": round(float(log_likelihoods[-1]), 6),
        "weights": phis.round(6).tolist(),
        "means": mus.round(6).tolist(),
    }
    write_json(args.out / "em.json", result)
    return result
