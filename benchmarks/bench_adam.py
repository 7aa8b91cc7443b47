"""Adam's step on the book's models: the readable per-parameter NumPy rule (``fused=False``) vs
the fused Numba pass per parameter (``fused=True``), on the VAE's and the U-Net's parameters
with random float32 gradients; the two interleaved in one process, best of ``--repeat``.

    python benchmarks/bench_adam.py [--steps 20] [--repeat 5]

Writes benchmarks/results/adam.json.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scratch import nn  # noqa: E402
from scratch.models.unet import UNet  # noqa: E402
from scratch.models.vae import VAE  # noqa: E402
from scratch.optim import Adam  # noqa: E402


def ms_per_step(params, fused: bool, steps: int) -> float:
    opt = Adam(params, lr=1e-4, fused=fused)
    opt.step()  # compile / warm the caches
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - t0) / steps * 1e3


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    nn.init.manual_seed(0)
    rng = np.random.default_rng(0)
    rows = {}
    for name, model in (("vae", VAE(784, 200, 20)), ("unet", UNet())):
        params = list(model.parameters())
        for p in params:
            p.grad = rng.standard_normal(p.shape).astype(p.dtype)
        best = {"readable": np.inf, "fused": np.inf}
        for _ in range(args.repeat):
            for key, fused in (("readable", False), ("fused", True)):
                best[key] = min(best[key], ms_per_step(params, fused, args.steps))
        n = sum(p.data.size for p in params)
        rows[name] = {"parameters": len(params), "elements": n, **best}
        print(
            f"{name:5s} {len(params):4d} params {n:9d} elements | readable {best['readable']:8.3f}"
            f" ms  fused {best['fused']:8.3f} ms  readable/fused {best['readable'] / best['fused']:5.2f}"
        )
    out = Path(__file__).parent / "results" / "adam.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
