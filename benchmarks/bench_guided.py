"""Seconds for 100 guided digits (γ = 3, labels 0..9 cycled) from the shipped ``unet_cond`` with
DPM-Solver++(2M), the figure issue 20 asks for: at most 10 s on 2 cores at 10 steps.

    python benchmarks/bench_guided.py [--steps 10,20] [--chunks 100,50] [--rounds 3]

Each guided step is one forward on 2B images (conditional and unconditional halves). After one
warm-up run, each (steps, chunk) setting is timed ``--rounds`` times, interleaved so that outside
load hits them alike, and the best is kept. Writes benchmarks/results/guided_speed.json.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from scratch import pretrained
from scratch.kernels.memory import reuse_freed_memory
from scratch.models.diffusion import Diffuser


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="10,20")
    parser.add_argument("--chunks", default="100,50", help="images per batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results/guided_speed.json"
    )
    args = parser.parse_args(argv)
    reuse_freed_memory()  # as the CLI does
    model, diffuser = (
        pretrained.load("unet_cond"),
        Diffuser(**pretrained.info("unet_cond")["diffuser"]),
    )
    labels = np.arange(100) % 10

    def draw(steps, chunk):
        tick = time.perf_counter()
        for start in range(0, 100, chunk):
            diffuser.sample(
                model,
                (chunk, 1, 28, 28),
                labels=labels[start : start + chunk],
                gamma=3.0,
                sampler="dpm++2m",
                steps=steps,
                rng=np.random.default_rng([0, start]),
                progress=False,
            )
        return time.perf_counter() - tick

    draw(2, max(int(c) for c in args.chunks.split(",")))  # warm-up: Numba compiles, memory grows
    settings = [(int(s), int(c)) for s in args.steps.split(",") for c in args.chunks.split(",")]
    times = {key: [] for key in settings}
    for _ in range(args.rounds):
        for key in settings:
            times[key].append(draw(*key))
    rows = {
        f"{s} steps, chunk {c}": {"best_seconds": min(t), "all": t} for (s, c), t in times.items()
    }
    for name, row in rows.items():
        print(f"100 guided digits, {name}: {row['best_seconds']:.2f} s")
    result = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "weights_sha256": pretrained.info("unet_cond")["sha256"],
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
