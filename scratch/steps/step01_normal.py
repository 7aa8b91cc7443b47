"""``scratch normal``: step 1, the normal distribution and the central limit theorem.

The sum of n independent uniform U(0, 1) draws has mean n/2 and variance n/12; as n grows its
histogram approaches N(n/2, n/12), and the sample mean's approaches N(1/2, 1/(12 n))."""

import matplotlib.pyplot as plt
import numpy as np

from scratch.probability import Normal
from scratch.viz import save

from ._common import integer, make_parser, parse, quick_defaults, write_json

NS = (1, 2, 4, 10)  # how many uniforms are summed, one panel each


def main(argv=None) -> dict:
    parser = make_parser("normal", __doc__)
    parser.add_argument(
        "--trials", type=integer(2), help="sums per panel (default 10000; --quick: 2000)"
    )
    args = parse(parser, argv)
    quick_defaults(args, trials=(10000, 2000))
    trials = args.trials
    rng = np.random.default_rng(args.seed)

    # the density itself, for a few (mu, sigma)
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.linspace(-6, 6, 400)
    for mu, sigma in ((0, 1), (0, 0.5), (0, 2), (2, 1)):
        ax.plot(x, Normal(mu, sigma).pdf(x), label=f"mu={mu}, sigma={sigma}")
    ax.set(xlabel="x", ylabel="N(x; mu, sigma)", title="the normal distribution")
    ax.legend()
    pdf_png = save(fig, args.out / "normal_pdf.png")

    # the central limit theorem: sums and means of n uniforms against their predicted normals
    fig, axes = plt.subplots(2, len(NS), figsize=(3.2 * len(NS), 6.5), layout="constrained")
    result = {"trials": trials, "n": list(NS), "sum_mean": [], "sum_var": []}
    for col, n in enumerate(NS):
        sums = rng.random((trials, n)).sum(axis=1)  # (trials,)
        result["sum_mean"].append(round(float(sums.mean()), 4))
        result["sum_var"].append(round(float(sums.var()), 4))
        for row, (values, mu, var, what) in enumerate(
            ((sums, n / 2, n / 12, "sum"), (sums / n, 0.5, 1 / (12 * n), "mean"))
        ):
            ax = axes[row, col]
            ax.hist(values, bins=40, density=True, alpha=0.6)
            grid = np.linspace(values.min(), values.max(), 200)
            ax.plot(grid, Normal(mu, np.sqrt(var)).pdf(grid), "r")
            ax.set_title(f"{what} of n={n}: N({mu:.3g}, {var:.3g})", fontsize=9)
            ax.set(xlabel=f"{what} of {n} uniforms", ylabel="density" if col == 0 else "")
    fig.suptitle(f"central limit theorem: {trials} sums of n uniforms (red: predicted normal)")
    clt_png = save(fig, args.out / "clt.png")

    for n, m, v in zip(NS, result["sum_mean"], result["sum_var"], strict=True):
        print(f"n={n:>2}: sum mean {m:.4f} (predicted {n / 2:.4f}), var {v:.4f} ({n / 12:.4f})")
    print(f"figures: {pdf_png}, {clt_png}")
    write_json(args.out / "normal.json", result)
    return result
