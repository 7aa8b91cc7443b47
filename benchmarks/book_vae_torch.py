"""The book's step-7 VAE trained in PyTorch on this CPU: the reference for the shipped ``vae``.

The same recipe as ``scratch vae train``: 784 -> 200 -> (mu, log_var) of 20 -> 200 -> 784, Adam
3e-4, batch 32, shuffled, 30 epochs on the 60,000 MNIST training images in [0, 1]. The book's loss
(``--likelihood gaussian``): (sum of squared errors - sum(1 + log sigma^2 - mu^2 - sigma^2)) / N
with a sigmoid output. ``--likelihood bernoulli``, as ``scratch vae train --likelihood
bernoulli``: the decoder gives logits, every batch is binarised afresh (x ~ Bernoulli(pixel)), and
the loss is the negative ELBO in nats (binary cross-entropy + KL); ``--k`` then also estimates
the test NLL by IWAE with k draws on the first ``--eval-n`` test images, binarised once exactly
as ``scratch vae eval`` does (NumPy's generator, seed 12345).

    SCRATCH_DATA=/work/shared/data python benchmarks/book_vae_torch.py --epochs 30 --seed 0
    SCRATCH_DATA=/work/shared/data python benchmarks/book_vae_torch.py --likelihood bernoulli --k 5000 --eval-n 2000

Needs torch; the images come from scratch's MNIST loader. Writes ``results/vae_torch_history.json``
(``vae_torch_bernoulli_history.json``, and ``vae_torch_bernoulli_iwae<k>_test<n>.json``) and
prints the final loss beside the shipped model's (``scratch.pretrained.info("vae")``).
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from scratch import pretrained
from scratch.data import MNIST

RESULTS = Path(__file__).parent / "results"


class VAE(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=200, latent_dim=20, likelihood="gaussian"):
        super().__init__()
        self.likelihood = likelihood
        self.enc = nn.Linear(input_dim, hidden_dim)
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.log_var = nn.Linear(hidden_dim, latent_dim)
        self.dec1 = nn.Linear(latent_dim, hidden_dim)
        self.dec2 = nn.Linear(hidden_dim, input_dim)

    def encode(self, x):
        h = F.relu(self.enc(x))
        return self.mu(h), self.log_var(h)

    def decode(self, z):  # x_hat (gaussian) or logits (bernoulli)
        out = self.dec2(F.relu(self.dec1(z)))
        return torch.sigmoid(out) if self.likelihood == "gaussian" else out

    def loss(self, x):
        if self.likelihood == "bernoulli":
            x = torch.bernoulli(x)
        mu, log_var = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        out = self.decode(z)
        kl = -torch.sum(1 + log_var - mu**2 - log_var.exp())  # twice KL(q || p)
        if self.likelihood == "gaussian":
            return (F.mse_loss(out, x, reduction="sum") + kl) / len(x)
        bce = F.binary_cross_entropy_with_logits(out, x, reduction="sum")
        return (bce + 0.5 * kl) / len(x)

    @torch.no_grad()
    def iwae(self, x, k: int, chunk: int = 20):
        """log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x), per image (Bernoulli decoder)."""
        bounds = []
        for xs in x.split(chunk):
            mu, log_var = self.encode(xs)
            std = torch.exp(0.5 * log_var)
            eps = torch.randn(len(xs), k, mu.shape[1], dtype=torch.float32)
            z = mu[:, None] + eps * std[:, None]  # (n, k, Z)
            logits = self.decode(z)  # (n, k, D)
            log_px = -F.binary_cross_entropy_with_logits(
                logits, xs[:, None].expand_as(logits), reduction="none"
            ).sum(-1, dtype=torch.float64)
            log_pz = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum(-1, dtype=torch.float64)
            log_qz = (-0.5 * eps**2 - torch.log(std[:, None]) - 0.5 * math.log(2 * math.pi)).sum(
                -1, dtype=torch.float64
            )
            bounds.append(torch.logsumexp(log_px + log_pz - log_qz, dim=1) - math.log(k))
        return torch.cat(bounds).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--likelihood", choices=["gaussian", "bernoulli"], default="gaussian")
    parser.add_argument("--k", type=int, default=0, help="IWAE draws per test image (bernoulli)")
    parser.add_argument("--eval-n", type=int, default=2000, help="test images for the IWAE")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    images = torch.from_numpy(MNIST(train=True, flatten=True).data)
    model = VAE(likelihood=args.likelihood)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    history = {"seed": args.seed, "likelihood": args.likelihood, "loss": [], "seconds": []}
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
    suffix = "" if args.likelihood == "gaussian" else "_bernoulli"
    (RESULTS / f"vae_torch{suffix}_history.json").write_text(json.dumps(history, indent=1) + "\n")
    if args.likelihood == "gaussian":
        ours = pretrained.info("vae")["history"]["history"]["loss"]
        if len(ours) == len(history["loss"]):
            print(
                f"final loss: torch {history['loss'][-1]:.4f}, scratch (shipped vae) "
                f"{ours[-1]:.4f}, ratio {ours[-1] / history['loss'][-1]:.4f}; the book records 38.60"
            )
    elif args.k:
        test = MNIST(train=False, flatten=True).data[: args.eval_n]
        binary = np.random.default_rng(12345).random(test.shape, dtype=np.float32) < test
        tick = time.perf_counter()
        iwae = model.iwae(torch.from_numpy(binary.astype(np.float32)), args.k)
        result = {
            "framework": f"torch {torch.__version__}",
            "likelihood": "bernoulli",
            "epochs": args.epochs,
            "images": len(test),
            "k": args.k,
            "iwae": round(float(iwae.mean()), 3),
            "iwae_se": round(float(iwae.std() / np.sqrt(len(iwae))), 3),
            "eval_seconds": round(time.perf_counter() - tick, 1),
        }
        name = f"vae_torch_bernoulli_iwae{args.k}_test{len(test)}.json"
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
        print(f"test ({len(test)} images): IWAE(k={args.k}) {result['iwae']:.3f} nats -> {name}")


if __name__ == "__main__":
    main()
