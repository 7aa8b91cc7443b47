"""Training speed and peak memory of the book's VAE (784-200-20, the book's loss, Adam 3e-4):
scratch vs the book's own PyTorch model on the CPU, same network, same batch, same data, the same
number of threads for both (OpenBLAS for scratch, torch.set_num_threads for PyTorch).

    python benchmarks/bench_vae.py [--steps 300] [--rounds 5] [--threads 1] [--profile]

Timing: one process, the contenders interleaved in ``--rounds`` rounds of ``--steps`` training
steps each (so load from other processes hits them alike); the table gives median and best
ms/step, the seconds per epoch they imply (60,000 images) and the ratio to PyTorch.
Memory: each contender trains ``--steps`` steps in a fresh subprocess; the peak resident set
(VmHWM, reset first) minus the resident set before is the memory training takes: "first MB"
over the first 5 steps (one-time set-up: Numba loading its kernels, torch its allocator), "train
MB" over the next ``--steps``; "peak MB" is the whole process's peak (imports included).
``--profile`` prints where scratch's time goes (cProfile, top functions by own time).
Writes benchmarks/results/vae.json. PyTorch is optional: without it only scratch is timed.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":  # BLAS threads are fixed when numpy loads: set them first
    _args = " ".join(sys.argv[1:]).replace("--threads=", "--threads ").split()
    _threads = _args[_args.index("--threads") + 1] if "--threads" in _args[:-1] else "1"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads)
    os.environ.setdefault("OMP_NUM_THREADS", _threads)

import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scratch import nn  # noqa: E402
from scratch.data import MNIST, available  # noqa: E402
from scratch.models.vae import VAE  # noqa: E402
from scratch.optim import Adam  # noqa: E402
from scratch_tests.torch_book import book_model  # noqa: E402

torch = None  # the peer, optional: imported by main() unless only scratch is measured

BATCHES = (32, 128)
LR = 3e-4
EPOCH = 60_000


def images(n: int) -> np.ndarray:
    if available("mnist/train-images-idx3-ubyte.gz"):
        return MNIST(train=True, flatten=True).data[:n].copy()  # the rest can be freed
    return np.random.default_rng(0).random((n, 784), dtype=np.float32)


def stepper(model, optimizer, batches):
    """A function running n training steps (either framework), cycling over ``batches``."""

    def run(n: int) -> float:
        for i in range(n):
            optimizer.zero_grad()
            loss = model.get_loss(batches[i % len(batches)])
            loss.backward()
            optimizer.step()
        return loss.item()

    return run


def scratch_trainer(x: np.ndarray, batch: int):
    """A function running n steps of scratch's VAE, cycling over x in batches."""
    nn.init.manual_seed(0)
    model = VAE(rng=0)
    optimizer = Adam(model.parameters(), lr=LR)
    return stepper(
        model, optimizer, [x[i : i + batch] for i in range(0, len(x) - batch + 1, batch)]
    )


def torch_trainer(x: np.ndarray, batch: int):
    torch.manual_seed(0)
    model = book_model(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    batches = [torch.from_numpy(x[i : i + batch]) for i in range(0, len(x) - batch + 1, batch)]
    return stepper(model, optimizer, batches)


TRAINERS = {"scratch": scratch_trainer, "torch": torch_trainer}


def status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its peak) of this process, in MB (Linux)."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field))
    return int(line.split()[1]) / 1024


def memory_worker(name: str, batch: int, steps: int) -> dict:
    """(in a subprocess) peak RSS growth over the first 5 steps and over the next ``steps``
    steps, and the process's peak, in MB."""
    import gc

    def peak_growth(n: int) -> float:
        gc.collect()
        before = status_mb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM, the peak, to the current resident set
        run(n)
        return status_mb("VmHWM") - before

    run = TRAINERS[name](images(4096), batch)
    first = peak_growth(5)  # Numba loads its kernels, torch sets up its allocator
    steady = peak_growth(steps)
    return {"first_steps_mb": round(first, 1), "training_mb": round(steady, 1),
            "peak_mb": round(status_mb("VmHWM"), 1)}  # fmt: skip


def memory(name: str, batch: int, steps: int, threads: int) -> dict:
    cmd = [sys.executable, __file__, f"--threads={threads}", "--memory-worker", name,
           "--batch", str(batch), "--steps", str(steps)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def profile(x: np.ndarray, batch: int, steps: int) -> None:
    import cProfile
    import pstats

    run = scratch_trainer(x, batch)
    run(20)
    prof = cProfile.Profile()
    prof.enable()
    run(steps)
    prof.disable()
    print(f"\nscratch, batch {batch}, {steps} steps: top functions by own time")
    pstats.Stats(prof).sort_stats("tottime").print_stats(14)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per round (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads (1)")
    parser.add_argument("--profile", action="store_true", help="cProfile scratch's steps")
    parser.add_argument("--memory-worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global torch
    if args.memory_worker != "scratch":
        try:
            import torch
        except ImportError:
            pass
    if torch is not None:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        print(json.dumps(memory_worker(args.memory_worker, args.batch, args.steps)))
        return {}
    names = ["scratch"] + (["torch"] if torch is not None else [])
    results = {
        "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "threads": args.threads,
        "torch": None if torch is None else torch.__version__,
        "numpy": np.__version__,
        "steps_per_round": args.steps,
        "rounds": args.rounds,
        "data": "MNIST" if available("mnist/train-images-idx3-ubyte.gz") else "uniform noise",
    }
    x = images(4096)
    for batch in BATCHES:
        runs = {k: TRAINERS[k](x, batch) for k in names}
        for run in runs.values():
            run(20)  # warm up: Numba compiles, BLAS spins up
        times = {k: [] for k in runs}
        for _ in range(args.rounds):
            for k, run in runs.items():
                start = time.perf_counter()
                run(args.steps)
                times[k].append((time.perf_counter() - start) / args.steps * 1e3)
        row = {}
        for k, v in times.items():
            med = float(np.median(v))
            row[k] = {"median_ms": med, "best_ms": float(np.min(v)),
                      "seconds_per_epoch": med * 1e-3 * EPOCH / batch}  # fmt: skip
            row[k]["memory"] = memory(k, batch, args.steps, args.threads)
        if torch is not None:
            for k in row:
                row[k]["median_ratio_to_torch"] = row[k]["median_ms"] / row["torch"]["median_ms"]
                row[k]["best_ratio_to_torch"] = row[k]["best_ms"] / row["torch"]["best_ms"]
        results[f"batch {batch}"] = row
        print(
            f"batch {batch}, {args.threads} thread(s), {args.rounds} rounds of {args.steps} steps"
        )
        print(f"  {'':<8} {'median ms':>10} {'best ms':>8} {'s/epoch':>8} {'/ torch':>8} "
              f"{'first MB':>9} {'train MB':>9} {'peak MB':>8}")  # fmt: skip
        for k, r in row.items():
            ratio = r.get("median_ratio_to_torch", float("nan"))
            m = r["memory"]
            print(f"  {k:<8} {r['median_ms']:10.3f} {r['best_ms']:8.3f} "
                  f"{r['seconds_per_epoch']:8.2f} {ratio:8.2f} {m['first_steps_mb']:9.1f} "
                  f"{m['training_mb']:9.1f} "
                  f"{m['peak_mb']:8.1f}")  # fmt: skip
    if args.profile:
        profile(x, 32, args.steps)
    out = Path(__file__).parent / "results" / f"vae_{args.threads}thread.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    return results


if __name__ == "__main__":
    main()
