"""The book's U-Net script run on scratch (ported by the import rule) vs scratch's own UNet: the
training step at batch 128, side by side.

    python benchmarks/bench_book_port.py [--rounds 3] [--steps 1] [--batch 128]

Both steps are the book's: noise x_0 at a random t, predict the noise, MSE, backward, Adam. The
book's step runs its own code (its per-sample ``pos_encoding`` loop, its ``Diffuser.add_noise``);
scratch's runs ``scratch.models.unet.UNet``. Timings interleave round by round (median seconds);
the target is book / scratch <= 1.2. Writes benchmarks/results/book_port.json.
"""

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np

import scratch
from scratch.autograd import Tensor
from scratch.models.unet import UNet
from scratch.nn import functional as F
from scratch.optim import Adam

HERE = Path(__file__).parent


def _module(name):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def book_runner(B: int, x: np.ndarray):
    book = _module("book_port").definitions("step09/diffusion_model.py")
    scratch.manual_seed(0)
    model, diffuser = book["UNet"](), book["Diffuser"](1000)
    opt = book["Adam"](model.parameters(), lr=1e-3)
    images = scratch.tensor(x)

    def step():  # the book's loop body, line for line
        opt.zero_grad()
        t = scratch.randint(1, 1001, (len(images),))
        x_noisy, noise = diffuser.add_noise(images, t)
        loss = book["F"].mse_loss(noise, model(x_noisy, t))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def scratch_runner(B: int, x: np.ndarray):
    scratch.manual_seed(0)
    model = UNet()
    opt = Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    alpha_bars = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000, dtype=np.float32))

    def step():
        opt.zero_grad()
        t = rng.integers(1, 1001, B)
        noise = rng.standard_normal(x.shape, dtype=np.float32)
        a = alpha_bars[t - 1].reshape(-1, 1, 1, 1)
        x_noisy = np.sqrt(a) * x + np.sqrt(1 - a) * noise
        loss = F.mse_loss(model(Tensor(x_noisy), t), noise)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)
    x = np.random.default_rng(0).random((args.batch, 1, 28, 28), dtype=np.float32)
    fns = {"book": book_runner(args.batch, x), "scratch": scratch_runner(args.batch, x)}
    times = _module("bench_unet").timed(fns, args.rounds, args.steps)
    result = {**{f"{k}_s": v for k, v in times.items()}, "ratio": times["book"] / times["scratch"]}
    result.update(batch=args.batch, rounds=args.rounds, steps=args.steps)
    print(
        f"book script on scratch {times['book']:.3f} s/step, scratch UNet "
        f"{times['scratch']:.3f} s/step: ratio {result['ratio']:.2f} (target <= 1.2)"
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "book_port.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
