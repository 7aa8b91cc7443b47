"""The book's data tables, each loaded through the checksummed store."""

import numpy as np

from .store import fetch


def _table(name: str, shape: tuple[int, ...]) -> np.ndarray:
    x = np.loadtxt(fetch(name), dtype=np.float64)
    if x.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {x.shape}")
    return x


def load_height() -> np.ndarray:
    """Step 2: 25000 heights in cm, shape (25000,)."""
    return _table("book/height.txt", (25000,))


def load_height_weight() -> np.ndarray:
    """Step 3: 25000 (height cm, weight kg) pairs, shape (25000, 2)."""
    return _table("book/height_weight.txt", (25000, 2))


def load_old_faithful() -> np.ndarray:
    """Steps 4-5: 272 (eruption minutes, waiting minutes) pairs, shape (272, 2)."""
    return _table("book/old_faithful.txt", (272, 2))
