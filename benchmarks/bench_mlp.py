"""One training step of an MLP with the VAE's shapes (784-200-20-200-784: ReLU, a linear latent,
ReLU, sigmoid; mean squared error; Adam): scratch vs a hand-written NumPy forward/backward of the
same network (the floor: same BLAS, same Adam kernel, no graph) vs PyTorch on the CPU (when
installed, with as many threads as cores, which is what OpenBLAS uses too).

    python benchmarks/bench_mlp.py [--steps 50] [--rounds 7]
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mlp.py --threads 1   # one thread each

Each round times ``--steps`` steps of each contender in turn (interleaved, so that load from
other processes hits them alike); the table gives the median and best ms/step over the rounds and
the ratios to scratch. Also the per-op overhead: forward+backward of a chain of 100 multiplies on
one-element tensors. Writes benchmarks/results/mlp.json.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from scratch import Tensor, nn
from scratch.kernels.adam import adam_step
from scratch.nn import functional as F
from scratch.optim import Adam

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

SIZES = (784, 200, 20, 200, 784)
BATCHES = (32, 128)
LR = 1e-3


def scratch_step(x: np.ndarray):
    """scratch: nn.Sequential, F.mse_loss, optim.Adam."""
    model = nn.Sequential(
        nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 20),
        nn.Linear(20, 200), nn.ReLU(), nn.Linear(200, 784), nn.Sigmoid(),
    )  # fmt: skip
    optimizer = Adam(model.parameters(), lr=LR)
    xt = Tensor(x)

    def step():
        optimizer.zero_grad()
        loss = F.mse_loss(model(xt), x)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, model


class NumpyMLP:
    """The same network by hand: forward, backward and Adam on one flat buffer, no graph."""

    def __init__(self, weights: list):
        self.shapes = [w.shape for w in weights]
        sizes = [w.size for w in weights]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.p = np.concatenate([w.ravel() for w in weights]).astype(np.float32)
        self.g = np.empty_like(self.p)
        self.m, self.v = np.zeros_like(self.p), np.zeros_like(self.p)
        self.t = 0

    def view(self, a: np.ndarray, i: int) -> np.ndarray:
        return a[self.offsets[i] : self.offsets[i + 1]].reshape(self.shapes[i])

    def step(self, x: np.ndarray) -> float:
        W1, b1, W2, b2, W3, b3, W4, b4 = (self.view(self.p, i) for i in range(8))
        gW1, gb1, gW2, gb2, gW3, gb3, gW4, gb4 = (self.view(self.g, i) for i in range(8))
        h1 = np.maximum(x @ W1.T + b1, 0)  # (B, 200)
        z = h1 @ W2.T + b2  # (B, 20)
        h3 = np.maximum(z @ W3.T + b3, 0)  # (B, 200)
        y = np.tanh(0.5 * (h3 @ W4.T + b4)) * 0.5 + 0.5  # (B, 784) sigmoid
        diff = y - x
        loss = float((diff * diff).mean())
        ga = diff * (2 / diff.size) * y * (1 - y)  # dL/d(pre-sigmoid)
        np.matmul(ga.T, h3, out=gW4)
        gb4[...] = ga.sum(0)
        gh3 = (ga @ W4) * (h3 > 0)
        np.matmul(gh3.T, z, out=gW3)
        gb3[...] = gh3.sum(0)
        gz = gh3 @ W3
        np.matmul(gz.T, h1, out=gW2)
        gb2[...] = gz.sum(0)
        gh1 = (gz @ W2) * (h1 > 0)
        np.matmul(gh1.T, x, out=gW1)
        gb1[...] = gh1.sum(0)
        self.t += 1
        adam_step(self.p, self.g, self.m, self.v, LR, 0.9, 0.999, 1e-8, 0.0, self.t)
        return loss


def torch_step(weights: list, x: np.ndarray):
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Linear(784, 200), tnn.ReLU(), tnn.Linear(200, 20),
        tnn.Linear(20, 200), tnn.ReLU(), tnn.Linear(200, 784), tnn.Sigmoid(),
    )  # fmt: skip
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(torch.from_numpy(w))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    tx = torch.from_numpy(x)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(tx), tx)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def check_agreement(x: np.ndarray) -> float:
    """The three contenders start from the same weights and must follow the same trajectory."""
    step, model = scratch_step(x)
    weights = [p.data.copy() for p in model.parameters()]
    floor = NumpyMLP(weights)
    losses = [[step() for _ in range(5)], [floor.step(x) for _ in range(5)]]
    if torch is not None:
        tstep = torch_step(weights, x)
        losses.append([tstep() for _ in range(5)])
    worst = max(
        abs(a - b) / abs(b) for other in losses[1:] for a, b in zip(losses[0], other, strict=True)
    )
    if worst > 1e-4:
        raise AssertionError(f"the contenders disagree: losses {losses}")
    return worst


def per_op_overhead(n_ops: int = 100, repeat: int = 200) -> dict:
    """Microseconds per op for forward+backward of a chain of multiplies on 1-element tensors."""

    def ours():
        x = Tensor(np.ones(1, np.float32), requires_grad=True)
        y = x
        for _ in range(n_ops):
            y = y * 1.0001
        y.backward()

    runs = {"scratch": ours}
    if torch is not None:

        def theirs():
            x = torch.ones(1, requires_grad=True)
            y = x
            for _ in range(n_ops):
                y = y * 1.0001
            y.backward()

        runs["torch"] = theirs
    times = {k: [] for k in runs}
    for _ in range(5):
        for k, fn in runs.items():
            start = time.perf_counter()
            for _ in range(repeat // 5):
                fn()
            times[k].append((time.perf_counter() - start) / (repeat // 5) / n_ops * 1e6)
    return {
        k: {"median_us": float(np.median(v)), "best_us": float(np.min(v))} for k, v in times.items()
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=50, help="steps per round (default 50)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1)),
        help="torch threads (default: $OPENBLAS_NUM_THREADS, else the cores, as OpenBLAS)",
    )
    args = parser.parse_args(argv)
    threads = args.threads
    if torch is not None:
        torch.set_num_threads(threads)
    results = {
        "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "load_average_before": os.getloadavg()[0],
        "torch": None if torch is None else {"version": torch.__version__, "threads": threads},
        "numpy": np.__version__,
        "steps_per_round": args.steps,
        "rounds": args.rounds,
    }
    rng = np.random.default_rng(0)
    for batch in BATCHES:
        x = rng.random((batch, 784), dtype=np.float32)
        worst = check_agreement(x)
        step, model = scratch_step(x)
        weights = [p.data.copy() for p in model.parameters()]
        floor = NumpyMLP(weights)
        runs = {"scratch": step, "numpy floor": lambda floor=floor, x=x: floor.step(x)}
        if torch is not None:
            runs["torch"] = torch_step(weights, x)
        for fn in runs.values():  # warm up (Numba compiles, BLAS spins up)
            for _ in range(5):
                fn()
        times = {k: [] for k in runs}
        for _ in range(args.rounds):
            for k, fn in runs.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    fn()
                times[k].append((time.perf_counter() - start) / args.steps * 1e3)
        row = {
            k: {"median_ms": float(np.median(v)), "best_ms": float(np.min(v))}
            for k, v in times.items()
        }
        for k in row:
            row[k]["median_ratio_to_scratch"] = row[k]["median_ms"] / row["scratch"]["median_ms"]
        row["losses_agree_to"] = worst
        results[f"batch {batch}"] = row
        print(f"batch {batch} (losses of the first 5 steps agree to {worst:.1e} relative)")
        print(f"  {'':<12} {'median ms/step':>15} {'best ms/step':>13} {'median / scratch':>17}")
        for k in runs:
            r = row[k]
            ms = f"{r['median_ms']:15.3f} {r['best_ms']:13.3f}"
            print(f"  {k:<12} {ms} {r['median_ratio_to_scratch']:17.2f}")
    results["per_op_overhead"] = per_op_overhead()
    print("per-op overhead, forward+backward of 100 multiplies on 1-element tensors:")
    for k, r in results["per_op_overhead"].items():
        print(f"  {k:<12} median {r['median_us']:.2f} us/op  best {r['best_us']:.2f} us/op")
    results["load_average_after"] = os.getloadavg()[0]
    suffix = "" if threads == (os.cpu_count() or 1) else f"_{threads}thread"
    out = Path(__file__).parent / "results" / f"mlp{suffix}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    return results


if __name__ == "__main__":
    main()
