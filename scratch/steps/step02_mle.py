"""``scratch mle``: step 2, maximum likelihood. Fit N(mu, sigma) to book/height.txt:
mu = mean(x), sigma^2 = mean((x - mu)^2); then sample from the fit and compare with the data."""

import matplotlib.pyplot as plt
import numpy as np

from scratch.data import load_height
from scratch.probability import Normal
from scratch.viz import save

from ._common import data_source, make_parser, parse, stand_in_label, write_json


def load(args, rng) -> tuple[np.ndarray, str]:
    """book/height.txt (25000,), or (--synthetic, or --quick without it) 25000 draws from
    N(172.7, 4.83^2)."""
    source = data_source(args, ["book/height.txt"], "book/height.txt")
    if source is None:
        return Normal(172.7, 4.83).sample(25000, rng), stand_in_label("book/height.txt", None)
    return load_height(), source


def main(argv=None) -> dict:
    parser = make_parser("mle", __doc__, synthetic=True)
    args = parse(parser, argv)
    rng = np.random.default_rng(args.seed)
    heights, source = load(args, rng)
    fit = Normal.fit(heights)
    print(f"{source}: {len(heights)} heights, MLE mu = {fit.mu:.4f}, sigma = {fit.sigma:.5f}")

    grid = np.linspace(heights.min(), heights.max(), 400)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(heights, bins=50, density=True, alpha=0.6, label=source)
    ax.plot(grid, fit.pdf(grid), "r", label=f"N({fit.mu:.2f}, {fit.sigma:.2f}^2)")
    ax.set(xlabel="height (cm)", ylabel="density", title="maximum-likelihood normal")
    ax.legend()
    fit_png = save(fig, args.out / "fit.png")

    samples = fit.sample(len(heights), rng)  # (N,) generated heights
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(grid[0], grid[-1], 50)
    ax.hist(heights, bins=bins, density=True, alpha=0.5, label="data")
    ax.hist(samples, bins=bins, density=True, alpha=0.5, label="generated from the fit")
    ax.set(xlabel="height (cm)", ylabel="density", title="data vs samples from the fit")
    ax.legend()
    samples_png = save(fig, args.out / "samples.png")
    print(f"figures: {fit_png}, {samples_png}")

    result = {"data": source, "mu": round(fit.mu, 6), "sigma": round(fit.sigma, 6)}
    write_json(args.out / "mle.json", result)
    return result
