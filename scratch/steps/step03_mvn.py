"""``scratch mvn``: step 3, the multivariate normal. Fit N(mu, Sigma) to book/height_weight.txt
by maximum likelihood, then draw its density as a contour map over the data and as a 3-D surface."""

import matplotlib.pyplot as plt
import numpy as np

from scratch.data import load_height_weight
from scratch.probability import MultivariateNormal
from scratch.viz import save

from ._common import data_source, make_parser, parse, stand_in_label, write_json

# a generated stand-in close to the book's fit
STAND_IN = MultivariateNormal([172.7, 57.6], [[23.3, 12.8], [12.8, 28.0]])


def density_grid(logpdf, X, n: int = 100, pad: float = 0.1):
    """(xx, yy, zz) of shape (n, n) each: the density exp(logpdf) on a grid covering X (N, 2)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    lo, hi = lo - pad * (hi - lo), hi + pad * (hi - lo)
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    zz = np.exp(logpdf(np.stack([xx.ravel(), yy.ravel()], axis=1))).reshape(n, n)
    return xx, yy, zz


def contour_and_surface(logpdf, X, title: str, labels, path_contour, path_surface, rng):
    """Contours of exp(logpdf) over (at most 1000 of) the points X (N, 2), and the 3-D surface."""
    xx, yy, zz = density_grid(logpdf, X)
    shown = X[rng.permutation(len(X))[:1000]]
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(shown[:, 0], shown[:, 1], s=4, alpha=0.4, color="gray")
    ax.contour(xx, yy, zz, levels=10)
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
    contour = save(fig, path_contour)
    fig = plt.figure(figsize=(7, 5))
    ax = fig.add_subplot(projection="3d")
    # stride 3 cuts the 100 x 100 grid into equal patches: with the default stride 2 the last
    # patches are smaller, and matplotlib 3.11 then projects uninitialised padding (a random
    # "overflow encountered in dot" warning, matplotlib issue #32272)
    ax.plot_surface(xx, yy, zz, rstride=3, cstride=3, cmap="viridis")
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
    return contour, save(fig, path_surface)


def main(argv=None) -> dict:
    parser = make_parser("mvn", __doc__, synthetic=True)
    args = parse(parser, argv)
    rng = np.random.default_rng(args.seed)
    source = data_source(args, ["book/height_weight.txt"], "book/height_weight.txt")
    if source is None:
        X, source = STAND_IN.sample(25000, rng), stand_in_label("book/height_weight.txt", None)
    else:
        X = load_height_weight()
    fit = MultivariateNormal.fit(X)
    print(f"{source}: {len(X)} (height, weight) pairs")
    print(f"MLE mu = {np.round(fit.mu, 4).tolist()}, Sigma = {np.round(fit.cov, 4).tolist()}")
    figures = contour_and_surface(
        fit.logpdf,
        X,
        f"N(mu, Sigma) fitted to {source}",
        ("height (cm)", "weight (kg)"),
        args.out / "contour.png",
        args.out / "surface.png",
        rng,
    )
    print(f"figures: {', '.join(map(str, figures))}")
    result = {"data": source, "mu": fit.mu.round(6).tolist(), "cov": fit.cov.round(6).tolist()}
    write_json(args.out / "mvn.json", result)
    return result
