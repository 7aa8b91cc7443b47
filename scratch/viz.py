"""Figures go to PNG files (Agg backend), never to a window."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders are created) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def image_grid(images: np.ndarray, path: str | Path, ncols: int = 8, titles=None) -> Path:
    """Save (N, H, W) or (N, 1, H, W) images in [0, 1] as a grid of ``ncols`` columns."""
    images = np.asarray(images).reshape(len(images), *np.shape(images)[-2:])
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols, nrows + (0.3 * nrows if titles else 0)))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(np.clip(images[i], 0, 1), cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    return save(fig, path)
