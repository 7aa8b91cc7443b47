"""Generated data: stand-ins for the book's files, and toy sets for diffusion."""

import numpy as np


def flower(size: int = 64) -> np.ndarray:
    """A drawn flower, (size, size, 3) float32 in [0, 1]: the stand-in for ``book/flower.png``
    (five magenta petals r < 0.5 + 0.35 cos(5 theta) around a yellow centre, on green)."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]  # (size, size) each
    r, theta = np.hypot(x, y), np.arctan2(y, x)
    petals = (r < 0.5 + 0.35 * np.cos(5 * theta)).astype(np.float32)
    centre = (r < 0.22).astype(np.float32)
    red = 0.15 + 0.8 * petals * (1 - centre) + 0.85 * centre
    green = 0.45 * (1 - petals) + 0.2 * petals + 0.75 * centre
    blue = 0.2 + 0.55 * petals * (1 - centre)
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 1).astype(np.float32)  # (H, W, 3)
