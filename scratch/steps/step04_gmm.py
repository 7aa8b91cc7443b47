"""``scratch gmm``: step 4, the Gaussian mixture model as a generative model.
Draw z ~ Categorical(phis), then x ~ N(mus[z], covs[z]), with the book's parameters (close to
Old Faithful); compare the samples with the density p(x) = sum_k phi_k N(x; mu_k, Sigma_k)."""

import matplotlib.pyplot as plt
import numpy as np

from scratch.data.toy import BOOK_COVS, BOOK_MUS, BOOK_PHIS, FAITHFUL_LABELS, sample_mixture
from scratch.probability import MultivariateNormal
from scratch.viz import contour_and_surface, save

from ._common import integer, make_parser, parse, write_json


def log_density(X, phis=BOOK_PHIS, mus=BOOK_MUS, covs=BOOK_COVS) -> np.ndarray:
    """(N,) log p(x) = logsumexp_k [log phi_k + log N(x; mu_k, Sigma_k)]."""
    logs = [
        np.log(p) + MultivariateNormal(m, c).logpdf(X)
        for p, m, c in zip(phis, mus, covs, strict=True)
    ]
    return np.logaddexp.reduce(np.stack(logs, axis=1), axis=1)  # (N, K) -> (N,)


def main(argv=None) -> dict:
    parser = make_parser("gmm", __doc__)
    parser.add_argument("--samples", type=integer(1), default=500, help="points to draw")
    args = parse(parser, argv)
    rng = np.random.default_rng(args.seed)
    X, z = sample_mixture(args.samples, rng)

    fig, ax = plt.subplots(figsize=(6, 5))
    for k in range(len(BOOK_PHIS)):
        ax.scatter(X[z == k, 0], X[z == k, 1], s=6, label=f"z = {k} (phi = {BOOK_PHIS[k]})")
    ax.set(
        xlabel=FAITHFUL_LABELS[0],
        ylabel=FAITHFUL_LABELS[1],
        title=f"{args.samples} samples from the GMM",
    )
    ax.legend()
    samples_png = save(fig, args.out / "samples.png")
    figures = contour_and_surface(
        log_density, X, "GMM density p(x)", FAITHFUL_LABELS, args.out / "contour.png",
        args.out / "surface.png", rng,
    )  # fmt: skip
    counts = np.bincount(z, minlength=len(BOOK_PHIS))
    print(f"{args.samples} samples: {counts.tolist()} per component (phis {BOOK_PHIS.tolist()})")
    print(f"figures: {samples_png}, {', '.join(map(str, figures))}")
    result = {
        "samples": args.samples,
        "fraction_per_component": (counts / args.samples).round(4).tolist(),
        "sample_mean": X.mean(axis=0).round(4).tolist(),
        "mixture_mean": (BOOK_PHIS @ BOOK_MUS).round(4).tolist(),
    }
    write_json(args.out / "gmm.json", result)
    return result
