"""Parameter initialisation, with one seedable generator (``manual_seed``) as in PyTorch."""

import math

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator used by layer initialisation and dropout."""
    global _rng
    _rng = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _rng


def uniform(shape: tuple, low: float, high: float, dtype=np.float32) -> np.ndarray:
    """U(low, high) samples of ``shape``."""
    return _rng.uniform(low, high, size=shape).astype(dtype)


def kaiming_uniform(shape: tuple, a: float = math.sqrt(5), dtype=np.float32) -> np.ndarray:
    """He-uniform for leaky ReLU slope ``a``: U(-bound, bound), bound = gain sqrt(3 / fan_in),
    gain = sqrt(2 / (1 + a^2)). With PyTorch's a = sqrt(5) this is U(-1/sqrt(fan_in), ...)."""
    fan_in = math.prod(shape[1:])
    bound = math.sqrt(2 / (1 + a * a)) * math.sqrt(3 / fan_in)
    return uniform(shape, -bound, bound, dtype)
