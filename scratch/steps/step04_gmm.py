"""``scratch gmm``: step 4, the Gaussian mixture model as a generative model.
Draw z ~ Categorical(phis), then x ~ N(mus[z], covs[z]), with the book's parameters (close to
Old Faithful); compare the samples with the density p(x) = sum_k phi_k N(x; mu_k, Sigma_k)."""

import matplotlib.pyplot as plt
import numpy as np

from scratch.probability import MultivariateNormal
from scratch.viz import save

from ._common import integer, make_parser, parse, write_json
from .step03_mvn import contour_and_surface

# the book's mixture: (eruption minutes, waiting minutes)
PHIS = np.array([0.35, 0.65])
MUS = np.array([[2.0, 54.50], [4.3, 80.0]])
COVS = np.array([[[0.07, 0.44], [0.44, 33.7]], [[0.17, 0.94], [0.94, 36.00]]])
LABELS = ("eruptions (min)", "waiting (min)")


def sample(n: int, rng, phis=PHIS, mus=MUS, covs=COVS) -> tuple[np.ndarray, np.ndarray]:
    """(n, D) points and their (n,) components: z ~ Categorical(phis), x ~ N(mus[z], covs[z])."""
    z = rng.choice(len(phis), size=n, p=phis)  # (n,)
    X = np.empty((n, mus.shape[1]))
    for k, (mu, cov) in enumerate(zip(mus, covs, strict=True)):
        X[z == k] = MultivariateNormal(mu, cov).sample(int((z == k).sum()), rng)
    return X, z


def log_density(X, phis=PHIS, mus=MUS, covs=COVS) -> np.ndarray:
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
    X, z = sample(args.samples, rng)

    fig, ax = plt.subplots(figsize=(6, 5))
    for k in range(len(PHIS)):
        ax.scatter(X[z == k, 0], X[z == k, 1], s=6, label=f"z = {k} (phi = {PHIS[k]})")
    ax.set(xlabel=LABELS[0], ylabel=LABELS[1], title=f"{args.samples} samples from the GMM")
    ax.legend()
    samples_png = save(fig, args.out / "samples.png")
    figures = contour_and_surface(
        log_density, X, "GMM density p(x)", LABELS, args.out / "contour.png",
        args.out / "surface.png", rng,
    )  # fmt: skip
    counts = np.bincount(z, minlength=len(PHIS))
    print(f"{args.samples} samples: {counts.tolist()} per component (phis {PHIS.tolist()})")
    print(f"figures: {samples_png}, {', '.join(map(str, figures))}")
    result = {
        "samples": args.samples,
        "fraction_per_component": (counts / args.samples).round(4).tolist(),
        "sample_mean": X.mean(axis=0).round(4).tolist(),
        "mixture_mean": (PHIS @ MUS).round(4).tolist(),
    }
    write_json(args.out / "gmm.json", result)
    return result
