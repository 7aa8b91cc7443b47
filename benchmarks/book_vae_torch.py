"""The book's step-7 VAE trained in PyTorch on this CPU: the reference for the shipped ``vae``.

The same recipe as ``scratch vae train``: 784 -> 200 -> (mu, log_var) of 20 -> 200 -> 784 with a
sigmoid, the book's loss (sum of squared errors - sum(1 + log sigma^2 - mu^2 - sigma^2)) / N, Adam
3e-4, batch 32, shuffled, 30 epochs on the 60,000 MNIST training images in [0, 1].

    SCRATCH_DATA=/work/shared/data python benchmarks/book_vae_torch.py --epochs 30 --seed 0

Needs torch; the images come from scratch's MNIST loader. Writes ``results/vae_torch_history.json``
and prints the final loss beside the shipped model's (``scratch.pretrained.info("vae")``).
"""

import argparse
import json
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from scratch import pretrained
from scratch.data import MNIST

RESULTS = Path(__file__).parent / "results"


class VAE(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=200, latent_dim=20):
        super().__init__()
        self.enc = nn.Linear(input_dim, hidden_dim)
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.log_var = nn.Linear(hidden_dim, latent_dim)
        self.dec1 = nn.Linear(latent_dim, hidden_dim)
        self.dec2 = nn.Linear(hidden_dim, input_dim)

    def loss(self, x):
        h = F.relu(self.enc(x))
        mu, log_var = self.mu(h), self.log_var(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        x_hat = torch.sigmoid(self.dec2(F.relu(self.dec1(z))))
        sse = F.mse_loss(x_hat, x, reduction="sum")
        kl = -torch.sum(1 + log_var - mu**2 - log_var.exp())
        return (sse + kl) / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    images = torch.from_numpy(MNIST(train=True, flatten=True).data)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    history = {"seed": args.seed, "loss": [], "seconds": []}
    for epoch in range(1, args.epochs + 1):
        start, total = time.perf_counter(), 0.0
        batches = torch.randperm(len(images)).split(32)
        for idx in batches:
            loss = model.loss(images[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["loss"].append(total / len(batches))
        history["seconds"].append(time.perf_counter() - start)
        print(f"epoch {epoch}: loss {history['loss'][-1]:.4f} ({history['seconds'][-1]:.1f} s)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vae_torch_history.json").write_text(json.dumps(history, indent=1) + "\n")
    ours = pretrained.info("vae")["history"]["history"]["loss"]
    if len(ours) == len(history["loss"]):
        print(
            f"final loss: torch {history['loss'][-1]:.4f}, scratch (shipped vae) {ours[-1]:.4f}, "
            f"ratio {ours[-1] / history['loss'][-1]:.4f}; the book records 38.60"
        )


if __name__ == "__main__":
    main()
