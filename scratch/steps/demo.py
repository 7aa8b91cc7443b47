"""``scratch demo``: every step in quick mode, its figures, and one ``summary.json``."""

import importlib
import time

from ._common import make_parser, parse, write_json

# the book's road, in order; each module's main(argv) returns a dict of its key results
STEPS = [
    "step01_normal",
    "step02_mle",
    "step03_mvn",
    "step04_gmm",
    "step05_em",
    "step06_regression",
    "step07_vae",
    "step08_hvae",
    "step09_noise",
    "step09_toy",
    "step10_diffusion",
]


def main(argv=None) -> dict:
    parser = make_parser("demo", __doc__)
    args = parse(parser, argv)
    summary = {}
    for name in STEPS:
        start = time.perf_counter()
        print(f"== {name}")
        module = importlib.import_module(f"scratch.steps.{name}")
        result = module.main(["--quick", "--seed", str(args.seed), "--out", str(args.out / name)])
        summary[name] = {**result, "seconds": round(time.perf_counter() - start, 2)}
    write_json(args.out / "summary.json", summary)
    print(f"figures and summary.json written to {args.out}")
    return summary
