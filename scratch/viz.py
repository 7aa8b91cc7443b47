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


def quick_note(steps: int) -> str:
    """What a --quick figure's title says about its model."""
    return f"quick mode: {steps} steps, undertrained"


def image_grid(
    images: np.ndarray,
    path: str | Path,
    ncols: int = 8,
    titles=None,
    title: str | None = None,
    row_labels=None,
) -> Path:
    """Save (N, H, W) or (N, 1, H, W) images in [0, 1] as a grid of ``ncols`` columns, under
    ``title``, each tile titled ``titles[i]`` and each row labelled ``row_labels[r]`` if given."""
    images = np.asarray(images).reshape(len(images), *np.shape(images)[-2:])
    nrows = -(-len(images) // ncols)
    width = ncols + (0.8 if row_labels is not None else 0)
    height = nrows + (0.3 * nrows if titles is not None else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set(xticks=[], yticks=[])  # the frame off, but a row's label still shows
        ax.spines[:].set_visible(False)
        if i < len(images):
            ax.imshow(np.clip(images[i], 0, 1), cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    for r, label in enumerate(row_labels if row_labels is not None else []):
        axes[r, 0].set_ylabel(str(label), rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.subplots_adjust(top=0.95)
        fig.suptitle(title, fontsize=9, y=1.0, va="bottom")  # above the grid: the saved
        # figure's tight box grows to hold it, whatever the title's number of lines
    return save(fig, path)
