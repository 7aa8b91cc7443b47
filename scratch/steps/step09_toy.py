"""``scratch diffusion2d``: step 9 on 2-D toy data. An MLP learns the noise eps(x_t, t) of a ring of
eight Gaussians and of two moons with loss ||eps - eps_theta(x_t, t)||^2, then DDPM and DDIM
sample from it; the samples are scored by their mean log-density under the true ring mixture."""

import time

import matplotlib.pyplot as plt
import numpy as np

import scratch.nn.functional as F
from scratch import nn, pretrained
from scratch.checkpoint import save_checkpoint
from scratch.data.toy import ring, ring_log_density, two_moons
from scratch.models.diffusion import Diffuser
from scratch.models.toy import ToyDenoiser
from scratch.optim import Adam
from scratch.viz import quick_note, save

from . import _shipped
from ._common import integer, make_parser, parse, quick_defaults, real, write_json

DATASETS = {"ring": ring, "moons": two_moons}


def train(model, diffuser: Diffuser, data: np.ndarray, steps: int, batch_size: int, lr, rng):
    """Minimise mean ||eps - eps_theta(x_t, t)||^2 over random batches and t ~ U{1..T}, with Adam
    and a cosine-decayed learning rate lr (1 + cos(pi i / steps)) / 2. Returns every step's loss."""
    optimizer = Adam(model.parameters(), lr=lr)
    losses = np.empty(steps)
    for i in range(steps):
        optimizer.lr = lr * 0.5 * (1 + np.cos(np.pi * i / steps))
        x_0 = data[rng.integers(0, len(data), batch_size)]  # (B, 2)
        t = rng.integers(1, diffuser.num_timesteps + 1, batch_size)  # (B,)
        x_t, noise = diffuser.add_noise(x_0, t, rng)
        loss = F.mse_loss(model(x_t, t), noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses[i] = float(loss.data)
    return losses


def scatter(ax, x, title: str) -> None:
    """2-D points on the toy data's square."""
    ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.5)
    ax.set(title=title, xlim=(-2, 2), ylim=(-2, 2), aspect="equal", xlabel="x1", ylabel="x2")


def shipped_figures(out, seed: int, n: int = 500) -> dict:
    """shipped_ring.png: the ring's true points beside DDPM and DDIM samples of the shipped
    ``toy2d`` model, each titled with its mean log-density under the true mixture."""
    model = pretrained.load("toy2d")
    diffuser = Diffuser(**pretrained.info("toy2d")["diffuser"])
    rng = np.random.default_rng(seed)
    panels = {
        "true ring": ring(n, rng),
        "DDPM (1000 steps)": diffuser.sample(model, (n, 2), rng=rng, progress=False),
        "DDIM (50 steps)": diffuser.sample(
            model, (n, 2), sampler="ddim", steps=50, rng=rng, progress=False
        ),
    }
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.6), layout="constrained")
    scores = {}
    for ax, (title, x) in zip(axes, panels.items(), strict=True):
        scores[title] = round(float(ring_log_density(x).mean()), 3)
        scatter(ax, x, f"{title}\nmean log p(x) under the true ring {scores[title]:.2f}")
    fig.suptitle(f"ToyDenoiser (MLP, hidden {model.mlp[0].weight.shape[0]}), "
                 f"{_shipped.note('toy2d')}, {n} samples each")  # fmt: skip
    png = save(fig, out / "shipped_ring.png")
    print(f"shipped model toy2d: samples -> {png}")
    return {"shipped_samples": str(png), "shipped": _shipped.note("toy2d"), "log_density": scores}


def main(argv=None) -> dict:
    parser = make_parser("diffusion2d", __doc__)
    parser.add_argument(
        "--steps", type=integer(1), help="training steps (default 8000; --quick: 1500)"
    )
    parser.add_argument("--batch-size", type=integer(1), default=256, help="points per step")
    parser.add_argument(
        "--hidden", type=integer(1), help="width of the MLP (default 256; --quick: 128)"
    )
    parser.add_argument(
        "--lr",
        type=real(0, open_low=True),
        help="initial learning rate (default 2e-3; --quick: 1e-2)",
    )
    parser.add_argument(
        "--n", type=integer(1), help="samples per sampler (default 1000; --quick: 500)"
    )
    args = parse(parser, argv)
    # --quick: a smaller, shorter run; its larger learning rate shows the ring in 1500 steps
    quick_defaults(args, steps=(8000, 1500), hidden=(256, 128), n=(1000, 500), lr=(2e-3, 1e-2))
    steps, hidden, n = args.steps, args.hidden, args.n
    rng = np.random.default_rng(args.seed)
    nn.init.manual_seed(args.seed)
    diffuser = Diffuser()
    result, figure = {}, plt.figure(figsize=(14, 8.5), layout="constrained")
    for row, (name, make) in enumerate(DATASETS.items()):
        data = make(20_000, rng)  # (20000, 2)
        model = ToyDenoiser(hidden)
        start = time.perf_counter()
        losses = train(model, diffuser, data, steps, args.batch_size, args.lr, rng)
        seconds = time.perf_counter() - start
        config = {
            "model": "toy2d",
            "data": name,
            "hidden": hidden,
            "steps": steps,
            "seed": args.seed,
        }
        saved = save_checkpoint(
            args.out / f"diffusion2d_{name}.npz",
            {f"model.{k}": v for k, v in model.state_dict().items()},
            config=config,
            loss=losses.tolist()[:: max(1, steps // 100)],
        )
        print(f"checkpoint -> {saved}")
        samples = {
            "DDPM (1000 steps)": diffuser.sample(model, (n, 2), rng=rng, progress=False),
            "DDIM (50 steps)": diffuser.sample(
                model, (n, 2), sampler="ddim", steps=50, rng=rng, progress=False
            ),
        }
        entry = {
            "train_seconds": round(seconds, 1),
            "loss_first_100": round(float(losses[:100].mean()), 4),
            "loss_last_100": round(float(losses[-100:].mean()), 4),
        }
        if name == "ring":
            fresh = ring(n, rng)  # true samples the model has not seen
            entry["log_density_true_samples"] = round(float(ring_log_density(fresh).mean()), 3)
            for label, x in samples.items():
                key = "log_density_" + label.split()[0].lower()
                entry[key] = round(float(ring_log_density(x).mean()), 3)
        result[name] = entry
        panels = {"data": data[:n], **samples}
        for col, (title, x) in enumerate(panels.items()):
            ax = figure.add_subplot(2, 4, 4 * row + col + 1)
            scatter(ax, x, f"{name}: {title}")
        ax = figure.add_subplot(2, 4, 4 * row + 4)
        window = min(50, steps)
        ax.plot(
            np.arange(window, steps + 1), np.convolve(losses, np.ones(window) / window, "valid")
        )
        ax.set(title=f"{name}: loss (mean of {window} steps)", xlabel="step", yscale="log",
               ylabel="mean ||eps - eps_theta||^2")  # fmt: skip
        print(f"{name}: {steps} steps in {seconds:.1f} s, {entry}")
    what = (
        f"ToyDenoiser (MLP, hidden {hidden}), {steps} steps of Adam (lr {args.lr:g}) per data set"
    )
    figure.suptitle(what + (f"\n{quick_note(steps)}" if args.quick else ""))
    png = save(figure, args.out / "diffusion2d.png")
    write_json(args.out / "diffusion2d.json", {"steps": steps, "hidden": hidden, **result})
    print(f"figure -> {png}")
    return result
