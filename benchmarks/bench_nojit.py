"""Speed without Numba: the NumPy twins bound in place of the kernels (NUMBA_DISABLE_JIT=1),
beside the jitted build, each in a child process.

    python benchmarks/bench_nojit.py [--repeats 3] [--tree PATH]

- EM: 5 iterations of GaussianMixture(8).fit on 100,000 x 2 points (full covariances),
- U-Net: one no-grad forward of the book's conditional U-Net at batch 8.

Best of ``--repeats`` for each. ``--tree`` runs the children on another checkout of scratch
(for a before/after). Prints one JSON line per build.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys, time, warnings
import numpy as np
from scratch.autograd import no_grad
from scratch.models.unet import UNetCond
from scratch.probability import GaussianMixture

repeats = int(sys.argv[1])
X = np.random.default_rng(0).normal(size=(100_000, 2)) + np.arange(2)

def em():
    gmm = GaussianMixture(8, max_iter=5, tol=0, random_state=0, init_params="random_from_data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gmm.fit(X)

model = UNetCond(num_labels=10)
model.eval()
rng = np.random.default_rng(0)
x = rng.standard_normal((8, 1, 28, 28), dtype=np.float32)
t, labels = rng.integers(1, 1001, 8), rng.integers(0, 10, 8)

def unet():
    with no_grad():
        model(x, t, labels)

def best(f):
    f()  # compile / warm caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)

print(json.dumps({"em_5_iters_s": best(em), "unet_forward_b8_s": best(unet)}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    for jit in (False, True):
        env = dict(os.environ, PYTHONPATH=str(args.tree.resolve()))
        env.pop("NUMBA_DISABLE_JIT", None)
        if not jit:
            env["NUMBA_DISABLE_JIT"] = "1"
        run = subprocess.run([sys.executable, "-c", CHILD, str(args.repeats)], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        row = {"tree": str(args.tree), "numba_jit": jit} | json.loads(run.stdout)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
