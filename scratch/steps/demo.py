"""``scratch demo``: every step in quick mode, its figures, and one ``summary.json``; beside the
quick runs of steps 7, 8, 9 (2-D toy) and 10, samples of the models that ship with scratch."""

import contextlib
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
# the steps whose figures include a shipped model's: step -> shipped_figures(out, seed)
SHIPPED = {
    "step07_vae": lambda out, seed: _vae_commands().shipped_figures("vae", out, seed),
    "step08_hvae": lambda out, seed: _vae_commands().shipped_figures("hvae", out, seed),
    "step09_toy": lambda out, seed: _step("step09_toy").shipped_figures(out, seed),
    "step10_diffusion": lambda out, seed: _step("step10_diffusion").shipped_figures(out, seed),
}
# the U-Net spreads its convolutions over the cores itself (kernels/spread.py); every other
# step multiplies small matrices, which OpenBLAS's threads slow down many times on a busy machine
SPREADS_ITSELF = {"step10_diffusion"}


def _step(name: str):
    return importlib.import_module(f"scratch.steps.{name}")


def _vae_commands():
    return _step("_vae_commands")


@contextlib.contextmanager
def single_threaded_blas(active: bool = True):
    """This thread's sgemms on one thread (OpenBLAS's thread-local setting, where it exists)."""
    from scratch.kernels.spread import SET_NUM_THREADS_LOCAL

    if not active or SET_NUM_THREADS_LOCAL is None:
        yield
        return
    previous = SET_NUM_THREADS_LOCAL(1)
    try:
        yield
    finally:
        SET_NUM_THREADS_LOCAL(previous)


def main(argv=None) -> dict:
    parser = make_parser("demo", __doc__)
    args = parse(parser, argv)
    summary = {}
    for name in STEPS:
        start = time.perf_counter()
        print(f"== {name}")
        out = args.out / name
        with single_threaded_blas(name not in SPREADS_ITSELF):
            result = _step(name).main(["--quick", "--seed", str(args.seed), "--out", str(out)])
            if name in SHIPPED:
                result = {**result, **SHIPPED[name](out, args.seed)}
        summary[name] = {**result, "seconds": round(time.perf_counter() - start, 2)}
    write_json(args.out / "summary.json", summary)
    print(f"figures and summary.json written to {args.out}")
    return summary
