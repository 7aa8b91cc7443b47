"""The book's step-9 training loop in PyTorch, on this CPU: the reference trajectory for issue 6.

The book records a mean training loss of 0.0462 after epoch 1 (0.0181 after epoch 10). This runs
the book's loop (batch 128, shuffled, Adam 1e-3, t ~ U{1..1000}, MSE between the noise and its
prediction) with the book's U-Net (``book_unet_torch.py``) for a few seeds, so that scratch's own
epoch-1 loss can be set beside what the same recipe gives in PyTorch here.

    SCRATCH_DATA=/work/shared/data python benchmarks/book_diffusion_torch.py --epochs 1 --seeds 0

Needs torch; the images come from scratch's MNIST loader (ToTensor's [0, 1] scaling).
Writes ``results/diffusion_torch_history.json``.
"""

import argparse
import json
import time
from pathlib import Path

import torch
from book_unet_torch import UNetCond
from torch.nn import functional as F
from tqdm import tqdm

from scratch.data import MNIST

RESULTS = Path(__file__).parent / "results"


def train(seed: int, epochs: int, images: torch.Tensor, T: int = 1000) -> dict:
    """The book's loop; returns the mean loss and seconds of each epoch."""
    torch.manual_seed(seed)
    alpha_bars = torch.cumprod(1 - torch.linspace(1e-4, 0.02, T), dim=0)
    model = UNetCond()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = {"seed": seed, "loss": [], "seconds": []}
    for _ in range(epochs):
        start, total, count = time.perf_counter(), 0.0, 0
        for idx in tqdm(torch.randperm(len(images)).split(128), leave=False):
            x = images[idx]
            t = torch.randint(1, T + 1, (len(x),))
            ab = alpha_bars[t - 1].view(-1, 1, 1, 1)
            noise = torch.randn_like(x)
            loss = F.mse_loss(noise, model(ab.sqrt() * x + (1 - ab).sqrt() * noise, t))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item(), count + 1
        history["loss"].append(total / count)
        history["seconds"].append(time.perf_counter() - start)
        print(f"seed {seed} epoch {len(history['loss'])}: loss {history['loss'][-1]:.5f}")
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    images = torch.from_numpy(MNIST(train=True).data)
    runs = [train(seed, args.epochs, images) for seed in args.seeds]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "diffusion_torch_history.json"
    out.write_text(json.dumps({"torch": torch.__version__, "runs": runs}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
