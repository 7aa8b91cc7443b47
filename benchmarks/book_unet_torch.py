"""The book's step-10 U-Net in PyTorch (the reference that tests and benchmarks compare with),
written from the book's structure with its module names; ``channels`` makes it small for tests.

Needs torch; scratch itself never imports this file.
"""

import torch
from torch import nn


def pos_encoding(timesteps, D):
    """The book's sinusoidal encoding, looping over the batch as the book does."""
    div = 10000 ** (torch.arange(D) / D)
    v = torch.zeros(len(timesteps), D)
    for k, t in enumerate(timesteps):
        v[k, 0::2], v[k, 1::2] = torch.sin(t / div[0::2]), torch.cos(t / div[1::2])
    return v


class ConvBlock(nn.Module):
    def __init__(self, in_ch, out_ch, time_dim):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU(),
        )  # fmt: skip
        self.mlp = nn.Sequential(nn.Linear(time_dim, in_ch), nn.ReLU(), nn.Linear(in_ch, in_ch))

    def forward(self, x, t):
        return self.convs(x + self.mlp(t).view(len(x), -1, 1, 1))


class UNetCond(nn.Module):
    def __init__(self, in_ch=1, time_dim=100, num_labels=None, channels=(64, 128, 256)):
        super().__init__()
        c1, c2, c3 = channels
        self.time_dim = time_dim
        self.down1, self.down2 = ConvBlock(in_ch, c1, time_dim), ConvBlock(c1, c2, time_dim)
        self.bot1 = ConvBlock(c2, c3, time_dim)
        self.up2 = ConvBlock(c2 + c3, c2, time_dim)
        self.up1 = ConvBlock(c2 + c1, c1, time_dim)
        self.out = nn.Conv2d(c1, in_ch, 1)
        self.maxpool = nn.MaxPool2d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear")
        if num_labels is not None:
            self.label_emb = nn.Embedding(num_labels, time_dim)

    def forward(self, x, timesteps, labels=None):
        t = pos_encoding(timesteps, self.time_dim)
        if labels is not None:
            t = t + self.label_emb(labels)
        x1 = self.down1(x, t)
        x2 = self.down2(self.maxpool(x1), t)
        x = self.bot1(self.maxpool(x2), t)
        x = self.up2(torch.cat([self.upsample(x), x2], dim=1), t)
        x = self.up1(torch.cat([self.upsample(x), x1], dim=1), t)
        return self.out(x)
