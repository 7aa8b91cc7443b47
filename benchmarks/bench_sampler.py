"""Seconds per 100 images for each sampler (DDIM, DPM-Solver++(2M), its SDE form, Heun) at 10,
20 and 50 model evaluations, on the book's U-Net (64/128/256 channels, 28x28) with random
weights: the forward pass is the cost, so the weights do not matter.

    python benchmarks/bench_sampler.py [--batch 10] [--evals 10,20,50] [--rounds 3] [--ddpm]

Each sampler draws ``--batch`` images from the same x_T, and the time is scaled to 100 images:
the median of ``--rounds`` rounds, the runs interleaved so that outside load hits them alike.
Heun costs 2 steps - 1 evaluations, so it runs (evals + 1) // 2 steps (9, 19, 49 evaluations).
Beside it, the solver's own arithmetic per evaluation at batch 100 (a model that costs nothing),
which shows how little of a run is not the network. ``--ddpm`` adds the book's 1000 steps.
Writes benchmarks/results/sampler.json.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from scratch.kernels.memory import reuse_freed_memory
from scratch.models.diffusion import Diffuser
from scratch.models.unet import UNet


def steps_for(sampler: str, evals: int) -> int:
    return (evals + 1) // 2 if sampler == "heun" else evals


def run(diffuser, model, sampler, steps, x_T):
    """(seconds, model evaluations) of one sampling run from x_T."""
    calls = []

    def counted(x, t):
        calls.append(len(x))
        return model(x, t)

    start = time.perf_counter()
    diffuser.sample(counted, sampler=sampler, steps=steps, x_T=x_T, rng=0, progress=False)
    return time.perf_counter() - start, len(calls)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=10, help="images per run (default 10)")
    parser.add_argument("--evals", default="10,20,50", help="model evaluations (10,20,50)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, median taken (3)")
    parser.add_argument("--ddpm", action="store_true", help="also time DDPM's 1000 steps")
    args = parser.parse_args(argv)
    reuse_freed_memory()
    evals = [int(v) for v in args.evals.split(",")]
    diffuser, model = Diffuser(), UNet()
    model.eval()
    x_T = np.random.default_rng(0).standard_normal((args.batch, 1, 28, 28), dtype=np.float32)
    free = lambda x, t: 0.1 * x  # noqa: E731  a model that costs (almost) nothing
    x_100 = np.random.default_rng(1).standard_normal((100, 1, 28, 28), dtype=np.float32)
    results = {"machine": platform.processor() or platform.machine(), "batch": args.batch,
               "rounds": args.rounds}  # fmt: skip
    runs = [(s, steps_for(s, n)) for n in evals for s in ("ddim", "dpm++2m", "dpm++2m-sde", "heun")]
    runs += [("ddpm", None)] if args.ddpm else []
    run(diffuser, model, "ddim", 2, x_T)  # warm up
    print(
        f"{'sampler':<11} {'steps':>5} {'evals':>5} {'s / 100 images':>15} {'solver us/eval':>15}"
    )
    times = {key: [] for key in runs}
    for _ in range(args.rounds):
        for sampler, steps in runs:
            times[sampler, steps].append(run(diffuser, model, sampler, steps, x_T))
    for sampler, steps in runs:
        seconds, n_evals = (
            np.median([s for s, _ in times[sampler, steps]]),
            times[sampler, steps][0][1],
        )
        overhead = min(run(diffuser, free, sampler, steps, x_100)[0] for _ in range(3))
        row = {"steps": steps or 1000, "evals": n_evals,
               "seconds_per_100": seconds * 100 / args.batch,
               "solver_us_per_eval_at_100": 1e6 * overhead / n_evals}  # fmt: skip
        results[f"{sampler} {row['evals']}"] = row
        print(f"{sampler:<11} {row['steps']:>5} {row['evals']:>5} {row['seconds_per_100']:>15.1f} "
              f"{row['solver_us_per_eval_at_100']:>15.0f}")  # fmt: skip
    out = Path(__file__).parent / "results" / "sampler.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
