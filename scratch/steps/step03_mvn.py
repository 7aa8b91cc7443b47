"""``scratch mvn``: step 3, the multivariate normal. Fit N(mu, Sigma) to book/height_weight.txt
by maximum likelihood, then draw its density as a contour map over the data and as a 3-D surface."""

import numpy as np

from scratch.data import load_height_weight
from scratch.probability import MultivariateNormal
from scratch.viz import contour_and_surface

from ._common import data_source, make_parser, parse, stand_in_label, write_json

# a generated stand-in close to the book's fit
STAND_IN = MultivariateNormal([172.7, 57.6], [[23.3, 12.8], [12.8, 28.0]])


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
