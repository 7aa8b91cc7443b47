"""PyTorch's tensor functions on scratch's Tensor: creation, element-wise math, joining, seeding.

Each function mirrors the ``torch`` function of the same name (named in its docstring), with
PyTorch's defaults: floating point is float32, integers are int64. Randomness comes from one
generator, ``scratch.nn.init.generator()``, which ``manual_seed`` reseeds for layers and tensors
alike. The only device is the CPU.
"""

import math

import numpy as np

from .autograd import ops
from .autograd.dtypes import check_device, to_numpy
from .autograd.tensor import Tensor
from .nn import init

pi = math.pi


def manual_seed(seed: int) -> None:
    """torch.manual_seed: reseed the generator of random tensors and of layer initialisation."""
    init.manual_seed(seed)


def _new(array: np.ndarray, dtype, device, requires_grad: bool) -> Tensor:
    check_device(device)
    if dtype is not None:
        array = array.astype(to_numpy(dtype), copy=False)
    if requires_grad:
        if array.dtype.kind != "f":
            raise ValueError(f"only floating tensors can require grad, got dtype {array.dtype}")
        return Tensor(array, requires_grad=True)
    return Tensor._of(array)


def _shape(size) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple | list) else size


def _default_dtype(array: np.ndarray) -> np.ndarray:
    """Python data as PyTorch types it: floats float32, ints int64 (NumPy gives float64/int64)."""
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    return array


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.tensor: a new tensor holding a copy of ``data``. Python numbers and lists take
    float32 / int64; an ndarray or a Tensor keeps its dtype."""
    if isinstance(data, Tensor):
        array = data.data.copy()
    elif isinstance(data, np.ndarray | np.generic):
        array = np.array(data)
    else:
        array = _default_dtype(np.array(data))
    if array.dtype.kind not in "biuf":
        raise ValueError(f"tensor() takes numbers, got data of dtype {array.dtype}")
    return _new(array, dtype, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.zeros: a float32 (or ``dtype``) tensor of zeros."""
    return _new(np.zeros(_shape(size), np.float32), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.ones: a float32 (or ``dtype``) tensor of ones."""
    return _new(np.ones(_shape(size), np.float32), dtype, device, requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.zeros_like: zeros of x's shape and dtype."""
    return _new(np.zeros_like(np.asarray(x)), dtype, device, requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.ones_like: ones of x's shape and dtype."""
    return _new(np.ones_like(np.asarray(x)), dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.randn: standard normal samples, float32."""
    array = init.generator().standard_normal(_shape(size), np.float32)
    return _new(array, dtype, device, requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.randn_like: standard normal samples of x's shape and (floating) dtype."""
    x = np.asarray(x)
    return randn(x.shape, dtype=dtype or x.dtype, device=device, requires_grad=requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """torch.rand: uniform samples in [0, 1), float32."""
    array = init.generator().random(_shape(size), np.float32)
    return _new(array, dtype, device, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None) -> Tensor:
    """torch.randint: integers uniform in [low, high) (``randint(high, size)`` starts at 0),
    int64."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() needs a size, e.g. randint(0, 10, (4,))")
    array = init.generator().integers(low, high, size=tuple(size), dtype=np.int64)
    return _new(array, dtype, device, False)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """torch.arange: start, start + step, ... below end; int64 when all three are integers,
    else float32."""
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, int) for v in (start, end, step))
    array = np.arange(start, end, step, dtype=np.int64 if integral else np.float32)
    return _new(array, dtype, device, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    """torch.linspace: ``steps`` evenly spaced values from start to end inclusive, float32."""
    array = np.linspace(start, end, steps, dtype=np.float64).astype(np.float32)
    return _new(array, dtype, device, requires_grad)


# ---- element-wise math and reductions (differentiable) -------------------------------------------


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else tensor(x)


def sqrt(x) -> Tensor:
    """torch.sqrt: element-wise square root."""
    return ops.sqrt(_t(x))


def exp(x) -> Tensor:
    """torch.exp."""
    return ops.exp(_t(x))


def log(x) -> Tensor:
    """torch.log: the natural logarithm."""
    return ops.log(_t(x))


def sin(x) -> Tensor:
    """torch.sin."""
    return ops.sin(_t(x))


def cos(x) -> Tensor:
    """torch.cos."""
    return ops.cos(_t(x))


def sum(x, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - torch.sum
    """torch.sum: over all elements, or over ``dim``."""
    return ops.sum(_t(x), dim, keepdim)


def cumprod(x, dim: int) -> Tensor:
    """torch.cumprod: running products along ``dim``."""
    return ops.cumprod(_t(x), dim)


def cat(tensors, dim: int = 0) -> Tensor:
    """torch.cat: tensors joined along an existing dimension ``dim``."""
    return ops.concat(list(tensors), axis=dim)


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """torch.flatten: dims start_dim..end_dim merged into one."""
    return _t(x).flatten(start_dim, end_dim)


def clamp(x, min=None, max=None) -> Tensor:  # noqa: A002 - torch's argument names
    """torch.clamp: values limited to [min, max]; the gradient passes inside the range."""
    return ops.clamp(_t(x), min, max)


class cuda:  # noqa: N801 - the torch.cuda namespace
    """torch.cuda: scratch has no GPU."""

    @staticmethod
    def is_available() -> bool:
        return False
