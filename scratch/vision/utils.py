"""torchvision.utils.make_grid: a batch of images (N, C, H, W) tiled into one (3, H', W') image,
``nrow`` per row, ``padding`` pixels of ``pad_value`` between them."""

import math

import numpy as np

from scratch.autograd.tensor import Tensor


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, pad_value=0.0):
    """torchvision.utils.make_grid. ``normalize`` maps [min, max] (of ``value_range``, else of
    the whole batch) to [0, 1]. One-channel images are repeated to three, as torchvision does."""
    x = np.array(tensor, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"make_grid expects (N, C, H, W) images, got shape {x.shape}")
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    if normalize:
        low, high = value_range if value_range is not None else (x.min(), x.max())
        x = (np.clip(x, low, high) - low) / max(high - low, 1e-5)
    n, c, h, w = x.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    H, W = h + padding, w + padding  # noqa: N806 - a cell's size
    grid = np.full((c, rows * H + padding, cols * W + padding), pad_value, np.float32)
    for k in range(n):
        r, q = divmod(k, cols)
        grid[:, r * H + padding : r * H + padding + h, q * W + padding : q * W + padding + w] = x[k]
    return Tensor(grid)
