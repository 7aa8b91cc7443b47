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


def density_grid(logpdf, X, n: int = 100, pad: float = 0.1):
    """(xx, yy, zz) of shape (n, n) each: the density exp(logpdf) on a grid covering X (N, 2)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    lo, hi = lo - pad * (hi - lo), hi + pad * (hi - lo)
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    zz = np.exp(logpdf(np.stack([xx.ravel(), yy.ravel()], axis=1))).reshape(n, n)
    return xx, yy, zz


def contour_and_surface(logpdf, X, title: str, labels, path_contour, path_surface, rng):
    """Contours of exp(logpdf) over (at most 1000 of) the points X (N, 2), and the 3-D surface."""
    xx, yy, zz = density_grid(logpdf, X)
    shown = X[rng.permutation(len(X))[:1000]]
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(shown[:, 0], shown[:, 1], s=4, alpha=0.4, color="gray")
    ax.contour(xx, yy, zz, levels=10)
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
    contour = save(fig, path_contour)
    fig = plt.figure(figsize=(7, 5))
    ax = fig.add_subplot(projection="3d")
    # stride 3 cuts the 100 x 100 grid into equal patches: with the default stride 2 the last
    # patches are smaller, and matplotlib 3.11 then projects uninitialised padding (a random
    # "overflow encountered in dot" warning, matplotlib issue #32272)
    ax.plot_surface(xx, yy, zz, rstride=3, cstride=3, cmap="viridis")
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
    return contour, save(fig, path_surface)
