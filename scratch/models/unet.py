"""The book's U-Net (steps 9-10): predicts the noise eps in x_t, given the timestep t (and a label).

    x (B, C, 28, 28) -down1-> x1 (B, c1, 28, 28) -pool-> -down2-> x2 (B, c2, 14, 14) -pool->
    -bot1-> (B, c3, 7, 7) -up-> [., x2] -up2-> (B, c2, 14, 14) -up-> [., x1] -up1-> (B, c1, 28, 28)
    -out (1x1 conv)-> (B, C, 28, 28)

Every ConvBlock adds an MLP of the time embedding v (B, D) to its input, channel by channel, then
applies conv-BN-ReLU twice. Module and parameter names are the book's (``down1.convs.0.weight``,
``down1.convs.1.running_mean``, ``down1.mlp.0.weight``, ``out.weight``, ``label_emb.weight``), so
a state_dict saved from the book's PyTorch model (as .npz, see benchmarks/torch2npz.py) loads as is.
"""

import numpy as np

from scratch.autograd import concat
from scratch.nn import (
    BatchNorm2d,
    Conv2d,
    Embedding,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Upsample,
)

NULL_LABEL = -1  # a row without a label: no label embedding (the book's labels=None)


def pos_encoding(timesteps, output_dim: int) -> np.ndarray:
    """The book's sinusoidal embedding of timesteps (N,) -> (N, D) float32, with
    v[:, i] = sin(t / 10000^(i/D)) for even i and cos(t / 10000^(i/D)) for odd i."""
    t, rows = np.unique(np.asarray(timesteps).ravel(), return_inverse=True)  # each t once
    angle = t[:, None] / 10000.0 ** (np.arange(output_dim) / output_dim)  # (U, D)
    v = np.empty(angle.shape, dtype=np.float32)
    v[:, 0::2] = np.sin(angle[:, 0::2])
    v[:, 1::2] = np.cos(angle[:, 1::2])
    return v[rows]  # (N, D)


class ConvBlock(Module):
    """y = convs(x + mlp(v)), convs = (conv 3x3, BN, ReLU) x 2."""

    def __init__(self, in_ch: int, out_ch: int, time_embed_dim: int):
        super().__init__()
        self.convs = Sequential(
            Conv2d(in_ch, out_ch, 3, padding=1),
            BatchNorm2d(out_ch),
            ReLU(),
            Conv2d(out_ch, out_ch, 3, padding=1),
            BatchNorm2d(out_ch),
            ReLU(),
        )
        self.mlp = Sequential(Linear(time_embed_dim, in_ch), ReLU(), Linear(in_ch, in_ch))

    def forward(self, x, v):
        t = self.mlp(v).reshape(len(v), -1, 1, 1)  # (B, in_ch, 1, 1)
        return self.convs(x + t)


class UNet(Module):
    """UNet(in_ch=1, time_embed_dim=100, channels=(64, 128, 256)); ``model(x, timesteps)``.

    ``timesteps`` (B,) are the integer steps t = 1..T; the embedding is the book's sinusoid of t."""

    def __init__(self, in_ch: int = 1, time_embed_dim: int = 100, channels=(64, 128, 256)):
        super().__init__()
        c1, c2, c3 = channels
        self.time_embed_dim = time_embed_dim
        self.down1 = ConvBlock(in_ch, c1, time_embed_dim)
        self.down2 = ConvBlock(c1, c2, time_embed_dim)
        self.bot1 = ConvBlock(c2, c3, time_embed_dim)
        self.up2 = ConvBlock(c2 + c3, c2, time_embed_dim)
        self.up1 = ConvBlock(c2 + c1, c1, time_embed_dim)
        self.out = Conv2d(c1, in_ch, 1)
        self.maxpool = MaxPool2d(2)
        self.upsample = Upsample(scale_factor=2, mode="bilinear")

    def embed(self, timesteps, labels=None) -> np.ndarray:
        """v (B, D): the sinusoidal encoding of the timesteps, vectorised over the batch."""
        t = np.asarray(timesteps)
        if t.dtype.kind not in "iu" or t.ndim != 1:
            raise ValueError(f"timesteps must be a 1-D integer array, got {t.dtype} {t.shape}")
        return pos_encoding(t, self.time_embed_dim)  # (B, D)

    def forward(self, x, timesteps, labels=None):
        if x.ndim != 4 or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"UNet expects x (B, C, H, W) with H, W divisible by 4, got {x.shape}")
        if len(timesteps) != len(x):
            raise ValueError(f"got {len(timesteps)} timesteps for a batch of {len(x)}")
        v = self.embed(timesteps, labels)
        x1 = self.down1(x, v)  # (B, c1, H, W)
        x2 = self.down2(self.maxpool(x1), v)  # (B, c2, H/2, W/2)
        x = self.bot1(self.maxpool(x2), v)  # (B, c3, H/4, W/4)
        x = self.up2(concat([self.upsample(x), x2], axis=1), v)  # (B, c2, H/2, W/2)
        x = self.up1(concat([self.upsample(x), x1], axis=1), v)  # (B, c1, H, W)
        return self.out(x)  # (B, in_ch, H, W)


class UNetCond(UNet):
    """The conditional U-Net of step 10: v = pos_encoding(t) + label_emb(label).

    A row labelled ``NULL_LABEL`` (-1), or ``labels=None``, gets no label embedding (the book's
    unconditional call), so guidance can mix both kinds of rows in one batch."""

    def __init__(self, in_ch=1, time_embed_dim=100, num_labels=None, channels=(64, 128, 256)):
        super().__init__(in_ch, time_embed_dim, channels)
        self.num_labels = num_labels
        if num_labels is not None:
            self.label_emb = Embedding(num_labels, time_embed_dim)

    def embed(self, timesteps, labels=None):
        v = super().embed(timesteps)
        if labels is None or self.num_labels is None:
            return v
        labels = np.asarray(getattr(labels, "data", labels))
        if labels.shape != (len(v),) or labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be {len(v)} integers, got {labels.dtype} {labels.shape}")
        keep = labels != NULL_LABEL  # (B,)
        emb = self.label_emb(np.where(keep, labels, 0))  # (B, D)
        return emb * keep[:, None].astype(v.dtype) + v
