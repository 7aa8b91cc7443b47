"""The book's U-Net (64/128/256 channels, 28x28): scratch vs PyTorch (when installed, 2 threads).

    python benchmarks/bench_unet.py [--rounds 3] [--steps 2] [--profile]

- the training step (forward, MSE, backward, Adam) at batch 128,
- the no-grad eval forward at batch 20 (one sampling step),
- the peak memory (max RSS) of the training step, each framework in a fresh child process.

Timings are interleaved round by round in one process (so outside load hits both alike); the table
gives the median ms and the ratio scratch / torch. ``--profile`` prints the cProfile of scratch's
training step. Writes benchmarks/results/unet.json.

``--malloc reuse`` (the default, as the ``scratch`` command does) keeps freed memory for reuse
(``scratch.kernels.memory``) in the process, and so for both frameworks; ``--malloc default``
leaves glibc's own thresholds.
"""

import argparse
import cProfile
import json
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scratch.autograd import Tensor, no_grad
from scratch.kernels.memory import reuse_freed_memory
from scratch.models.unet import UNetCond
from scratch.nn import functional as F
from scratch.optim import Adam

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

HERE = Path(__file__).parent
LR = 1e-3


def batch(B: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, 1, 28, 28), dtype=np.float32)
    noise = rng.standard_normal((B, 1, 28, 28), dtype=np.float32)
    return x, noise, rng.integers(1, 1001, B), rng.integers(0, 10, B)


def scratch_runner(B: int, train: bool):
    model = UNetCond(num_labels=10)
    x, noise, t, labels = batch(B)
    if not train:
        model.eval()

        def forward():
            with no_grad():
                return model(x, t, labels)

        return forward
    opt = Adam(model.parameters(), lr=LR)

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(Tensor(x), t, labels), noise)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_runner(B: int, train: bool):
    sys.path.insert(0, str(HERE))
    from book_unet_torch import UNetCond as TorchUNet

    torch.set_num_threads(2)
    model = TorchUNet(num_labels=10)
    x, noise, t, labels = (torch.from_numpy(a) for a in batch(B))
    if not train:
        model.eval()

        def forward():
            with torch.no_grad():
                return model(x, t, labels)

        return forward
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x, t, labels), noise)
        loss.backward()
        opt.step()
        return loss.item()

    return step


RUNNERS = {"scratch": scratch_runner, "torch": torch_runner}


def peak_rss_mb() -> float:
    """This process's peak resident set: VmHWM (Linux; unlike ru_maxrss it does not inherit the
    parent's peak through fork + exec), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(framework: str, B: int, steps: int) -> None:
    """Run in a fresh process: peak RSS after building the model, then after ``steps`` steps."""
    step = RUNNERS[framework](B, train=True)
    before = peak_rss_mb()
    for _ in range(steps):
        step()
    print(json.dumps({"rss_before_mb": round(before), "peak_rss_mb": round(peak_rss_mb())}))


def peak_memory(framework: str, B: int, steps: int, malloc: str) -> dict:
    cmd = [sys.executable, __file__, "--child", framework, "--batch", str(B), "--steps", str(steps),
           "--malloc", malloc]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed(fns: dict, rounds: int, steps: int) -> dict:
    """Median seconds per call of each function, interleaved; the first call of each warms up."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            start = time.perf_counter()
            for _ in range(steps):
                fn()
            times[k].append((time.perf_counter() - start) / steps)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--sample-batch", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--malloc", choices=("reuse", "default"), default="reuse")
    parser.add_argument("--child", choices=list(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "results" / "unet.json"))
    args = parser.parse_args(argv)
    if args.malloc == "reuse":
        reuse_freed_memory()
    if args.child:
        return child(args.child, args.batch, args.steps)
    frameworks = ["scratch"] + (["torch"] if torch is not None else [])
    results = {"machine": platform.processor() or platform.machine(), "rounds": args.rounds,
               "torch": None if torch is None else torch.__version__,
               "malloc": args.malloc}  # fmt: skip
    for what, B, train in (("train_step", args.batch, True),
                           ("sample_forward", args.sample_batch, False)):  # fmt: skip
        fns = {f: RUNNERS[f](B, train) for f in frameworks}
        med = timed(fns, args.rounds, args.steps)
        row = {f"{f}_ms": round(1e3 * s, 1) for f, s in med.items()}
        if torch is not None:
            row["ratio"] = round(med["scratch"] / med["torch"], 2)
        results[f"{what}_batch{B}"] = row
        print(what, f"batch {B}:", row)
        del fns
    mem = {f: peak_memory(f, args.batch, 2, args.malloc) for f in frameworks}
    results["peak_rss_train_step_mb"] = mem
    print("peak RSS of the training step (MB):", mem)
    if args.profile:
        step = scratch_runner(args.batch, train=True)
        step()
        prof = cProfile.Profile()
        prof.runcall(step)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
