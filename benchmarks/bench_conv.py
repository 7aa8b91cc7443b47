"""The U-Net's convolutions, forward and backward: scratch (Winograd F(2x2, 3x3) for the forward and
dx of its 3x3 convolutions, sgemms on shifted views for the rest) vs the same without Winograd
("direct") vs its NumPy twin vs PyTorch (when installed, same 2 threads), in one process.

    python benchmarks/bench_conv.py [--repeat 5] [--batch 128]

For each shape prints the median time of forward and of backward (dx, dW, db), the ratio to
PyTorch and the achieved GFLOP/s (2 B O C kh kw Ho Wo per product: 1 product forward, 2 backward),
and writes benchmarks/results/conv.json.
"""

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from scratch.kernels import conv as K
from scratch.kernels.memory import reuse_freed_memory

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

# (C, O, H, k): the book's U-Net at 28x28 (down1, down2, bot1, up2, up1, out)
SHAPES = [(64, 64, 28, 3), (1, 64, 28, 3), (64, 128, 14, 3), (128, 128, 14, 3), (128, 256, 7, 3),
          (256, 256, 7, 3), (384, 128, 14, 3), (192, 64, 28, 3), (64, 1, 28, 1)]  # fmt: skip


def without_winograd(f):
    """f run with the 3x3 convolutions on the direct shifted-slices path instead of Winograd."""

    def run(*args):
        saved, K.WINOGRAD = K.WINOGRAD, False
        try:
            return f(*args)
        finally:
            K.WINOGRAD = saved

    return run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "conv.json"))
    args = parser.parse_args(argv)
    reuse_freed_memory()  # as `scratch diffusion` does, for both contenders
    if torch is not None:
        torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    B = args.batch
    rows = []
    for C, O, H, k in SHAPES:
        pad = k // 2
        x = rng.standard_normal((B, C, H, H), dtype=np.float32)
        W = rng.standard_normal((O, C, k, k), dtype=np.float32) * 0.1
        b = rng.standard_normal(O, dtype=np.float32)
        gy = rng.standard_normal((B, O, H, H), dtype=np.float32)
        runs = {
            "scratch": (
                lambda: K.conv2d_forward(x, W, b, 1, pad),  # noqa: B023
                lambda s: K.conv2d_backward(gy, s, x.shape, W, 1, pad),  # noqa: B023
            ),
            "numpy": (
                lambda: K.conv2d_forward(x, W, b, 1, pad, numba=False),  # noqa: B023
                lambda s: K.conv2d_backward(gy, s, x.shape, W, 1, pad, numba=False),  # noqa: B023
            ),
        }
        if K.winograd_applies(k, k, pad) and C >= K.MIN_SHIFTED_CHANNELS:
            runs["direct"] = tuple(map(without_winograd, runs["scratch"]))
        if torch is not None:
            tx = torch.from_numpy(x).requires_grad_()
            tW, tb = torch.from_numpy(W).requires_grad_(), torch.from_numpy(b).requires_grad_()
            tgy = torch.from_numpy(gy)

            def t_fwd():
                return torch.nn.functional.conv2d(tx, tW, tb, padding=pad), None  # noqa: B023

            def t_bwd(y):
                return torch.autograd.grad(y, (tx, tW, tb), tgy)  # noqa: B023

            runs["torch"] = (lambda: (t_fwd()[0], None), t_bwd)
        times = {name: {"forward": [], "backward": []} for name in runs}
        for rep in range(args.repeat + 1):  # interleaved, so outside load hits all alike
            for name, (fwd, bwd) in runs.items():
                start = time.perf_counter()
                y, saved = fwd()
                mid = time.perf_counter()
                bwd(y if name == "torch" else saved)
                end = time.perf_counter()
                if rep:  # the first round warms up (and compiles)
                    times[name]["forward"].append(mid - start)
                    times[name]["backward"].append(end - mid)
        gflop = 2 * B * O * C * k * k * H * H / 1e9
        row = {"shape": f"{C}->{O} {k}x{k} {B}x{H}x{H}", "gflop_forward": gflop}
        for name, t in times.items():
            for phase, mult in (("forward", 1), ("backward", 2)):
                ms = 1e3 * statistics.median(t[phase])
                row[f"{name}_{phase}_ms"] = round(ms, 2)
                row[f"{name}_{phase}_gflops"] = round(mult * gflop / ms * 1e3, 1)
        if torch is not None:
            for phase in ("forward", "backward"):
                for name in ("scratch", "direct", "numpy"):
                    if name not in times:
                        continue
                    ratio = row[f"{name}_{phase}_ms"] / row[f"torch_{phase}_ms"]
                    row[f"{name}_{phase}_vs_torch"] = round(ratio, 2)
        rows.append(row)
        print(
            f"{row['shape']:>24}  "
            + "  ".join(
                f"{n} fwd {row[f'{n}_forward_ms']:7.1f} ms ({row[f'{n}_forward_gflops']:5.1f} GF/s)"
                f" bwd {row[f'{n}_backward_ms']:7.1f} ms"
                for n in times
            )
        )
    results = {
        "machine": platform.processor() or platform.machine(),
        "repeat": args.repeat,
        "torch": None if torch is None else torch.__version__,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
