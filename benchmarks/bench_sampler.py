"""The fused reverse step x_prev = c_x x + c_eps eps + sigma z: Numba kernel vs its NumPy twin vs
the same expression in PyTorch (when installed, one thread), side by side in one process.

    python benchmarks/bench_sampler.py [--repeat 200]

Prints the median and best time per call and the ratios to the Numba kernel, and writes
benchmarks/results/sampler.json.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from scratch.kernels.sampler import reverse_step, reverse_step_numpy

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

SHAPES = {"book batch (20, 784)": (20, 784), "training batch (128, 784)": (128, 784),
          "FID batch (1000, 784)": (1000, 784), "2-D toy (10000, 2)": (10000, 2)}  # fmt: skip


def timings(fn, repeat: int) -> list[float]:
    fn()  # warm up (and compile)
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    results = {"machine": platform.processor() or platform.machine(), "repeat": args.repeat}
    for name, (B, D) in SHAPES.items():
        x, eps, z = (rng.standard_normal((B, D), dtype=np.float32) for _ in range(3))
        c_x, c_eps, sigma = rng.random(B), -rng.random(B), rng.random(B)
        runs = {
            "numba": lambda: reverse_step(x, eps, z, c_x, c_eps, sigma),  # noqa: B023
            "numpy": lambda: reverse_step_numpy(x, eps, z, c_x, c_eps, sigma),  # noqa: B023
        }
        np.testing.assert_allclose(runs["numba"](), runs["numpy"](), rtol=1e-6)
        if torch is not None:
            torch.set_num_threads(1)  # like the kernel and NumPy; threads only lose on a busy box
            tx, te, tz = (torch.from_numpy(a) for a in (x, eps, z))
            tc = [torch.from_numpy(c.astype(np.float32))[:, None] for c in (c_x, c_eps, sigma)]
            runs["torch"] = lambda: tc[0] * tx + tc[1] * te + tc[2] * tz  # noqa: B023
        # interleave the contenders so that load from other processes hits them alike
        times = {k: [] for k in runs}
        for _ in range(5):
            for k, fn in runs.items():
                times[k] += timings(fn, args.repeat // 5)
        row = {
            k: {"median_us": 1e6 * np.median(v), "best_us": 1e6 * np.min(v)}
            for k, v in times.items()
        }
        for k in row:
            row[k]["median_ratio_to_numba"] = row[k]["median_us"] / row["numba"]["median_us"]
        results[name] = row
        print(f"{name}")
        for k, r in row.items():
            print(
                f"  {k:<6} median {r['median_us']:9.1f} us  best {r['best_us']:9.1f} us  "
                f"x{r['median_ratio_to_numba']:.2f} of numba"
            )
    out = Path(__file__).parent / "results" / "sampler.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
