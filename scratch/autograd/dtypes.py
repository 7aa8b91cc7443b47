"""PyTorch's dtype and device names on NumPy: ``float32`` is ``np.float32`` and so on; the only
device is the CPU."""

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)


def is_dtype(value) -> bool:
    return isinstance(value, np.dtype) or (
        isinstance(value, type) and issubclass(value, np.generic)
    )


def to_numpy(dtype) -> np.dtype:
    if not is_dtype(dtype):
        raise TypeError(f"expected a dtype such as scratch.float32, got {dtype!r}")
    return np.dtype(dtype)


def check_device(device) -> None:
    """Accept the CPU (``"cpu"``, ``None``); refuse anything else with the reason."""
    name = str(device) if device is not None else "cpu"
    if name != "cpu":
        raise ValueError(
            f"scratch runs on the CPU (NumPy): device={device!r} is not available; use 'cpu'"
        )
