"""The primitive ops: arithmetic, exp/log, reductions and shape ops, one Function each.

Each backward returns the gradient in the broadcast shape of its forward; the base class sums it
back to each input's shape. Each lowercase function is what ``Tensor``'s operators call (tensor.py).
"""

import numpy as np

from .function import Function
from .tensor import Tensor


def _data(x):
    """The ndarray of a Tensor; anything else as given."""
    return x.data if isinstance(x, Tensor) else x


# ---- arithmetic: y = x0 (op) x1, broadcasting like NumPy -----------------------------------------


def _promote(x0, x1):
    """PyTorch's promotion of integers meeting floats: the integer operand takes the float's dtype
    (NumPy would make int64 (op) float32 float64)."""
    k0, k1 = x0.dtype.kind, x1.dtype.kind
    if k0 != k1:
        if k0 == "f" and k1 in "biu":
            return x0, x1.astype(x0.dtype)
        if k1 == "f" and k0 in "biu":
            return x0.astype(x1.dtype), x1
    return x0, x1


class Add(Function):
    def forward(self, x0, x1):
        x0, x1 = _promote(x0, x1)
        return x0 + x1

    def backward(self, gy):
        return gy, gy


def add(x0, x1):
    return Add()(x0, x1)


class Sub(Function):
    def forward(self, x0, x1):
        x0, x1 = _promote(x0, x1)
        return x0 - x1

    def backward(self, gy):
        return gy, -gy


def sub(x0, x1):
    return Sub()(x0, x1)


class Mul(Function):
    def forward(self, x0, x1):
        x0, x1 = _promote(x0, x1)
        self.x0, self.x1 = x0, x1
        return x0 * x1

    def backward(self, gy):
        return gy * self.x1, gy * self.x0


def mul(x0, x1):
    return Mul()(x0, x1)


class Div(Function):
    """y = x0 / x1;  dy/dx0 = 1 / x1,  dy/dx1 = -y / x1."""

    def forward(self, x0, x1):
        x0, x1 = _promote(x0, x1)
        self.x1 = x1
        self.y = x0 / x1
        if x0.dtype.kind in "biu" and x1.dtype.kind in "biu":  # int / int is float32, as PyTorch
            self.y = self.y.astype(np.float32)
        return self.y

    def backward(self, gy):
        gx0 = gy / self.x1
        return gx0, -gx0 * self.y


def div(x0, x1):
    return Div()(x0, x1)


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return (-gy,)


def neg(x):
    return Neg()(x)


class Pow(Function):
    """y = x ** c;  dy/dx = c x^(c-1),  dy/dc = y log x (computed only when c requires grad)."""

    def forward(self, x, c):
        self.x, self.c = x, c
        self.y = x**c
        return self.y

    def backward(self, gy):
        gx = gy * self.c * self.x ** (self.c - 1)
        gc = gy * self.y * np.log(self.x) if self.inputs[1].requires_grad else None
        return gx, gc


def pow(x, c):  # noqa: A001 - the op's name
    return Pow()(x, c)


class MatMul(Function):
    """y = a @ b (batched, broadcasting);  ga = gy @ b^T,  gb = a^T @ gy."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        ga = gy @ self.b.swapaxes(-1, -2) if self.inputs[0].requires_grad else None
        gb = self.a.swapaxes(-1, -2) @ gy if self.inputs[1].requires_grad else None
        return ga, gb


def matmul(a, b):
    """a @ b; a 1-D operand is treated as a row (a) or a column (b), as in NumPy."""
    a_vec, b_vec = np.ndim(_data(a)) == 1, np.ndim(_data(b)) == 1
    if a_vec:
        a = reshape(a, (1, -1))
    if b_vec:
        b = reshape(b, (-1, 1))
    y = MatMul()(a, b)
    if a_vec or b_vec:
        y = reshape(y, y.shape[: y.ndim - 2] + y.shape[y.ndim - 2 + a_vec : y.ndim - b_vec])
    return y


# ---- elementwise functions -----------------------------------------------------------------------


class Exp(Function):
    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, gy):
        return (gy * self.y,)


def exp(x):
    return Exp()(x)


class Log(Function):
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, gy):
        return (gy / self.x,)


def log(x):
    return Log()(x)


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 y)."""

    def forward(self, x):
        self.y = np.sqrt(x)
        return self.y

    def backward(self, gy):
        return (gy / (2 * self.y),)


def sqrt(x):
    return Sqrt()(x)


class Sin(Function):
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, gy):
        return (gy * np.cos(self.x),)


def sin(x):
    return Sin()(x)


class Cos(Function):
    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, gy):
        return (-gy * np.sin(self.x),)


def cos(x):
    return Cos()(x)


class Clamp(Function):
    """y = min(max(x, low), high); the gradient passes where low <= x <= high (PyTorch's rule)."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def forward(self, x):
        self.x = x
        return np.clip(x, self.low, self.high)

    def backward(self, gy):
        inside = np.ones(self.x.shape, bool)
        if self.low is not None:
            inside &= self.x >= self.low
        if self.high is not None:
            inside &= self.x <= self.high
        return (gy * inside,)


def clamp(x, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    return Clamp(min, max)(x)


class Cast(Function):
    """y = x as another floating dtype; the gradient is cast back by the base class."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return (gy,)


def cast(x, dtype):
    return Cast(np.dtype(dtype))(x)


class Cumprod(Function):
    """y_i = prod_{j<=i} x_j along ``axis``;  dL/dx_j = sum_{i>=j} gy_i y_i / x_j, computed as
    a reversed cumulative sum (x has no zeros here; a zero would need the division-free form)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.x = x
        self.y = np.cumprod(x, axis=self.axis)
        return self.y

    def backward(self, gy):
        if not self.x.all():
            raise ValueError("the gradient of cumprod at a zero element is not implemented")
        a = self.axis
        tail = np.flip(np.cumsum(np.flip(gy * self.y, a), axis=a), a)  # sum over i >= j
        return (tail / self.x,)


def cumprod(x, axis):
    return Cumprod(axis)(x)


# ---- reductions ----------------------------------------------------------------------------------


def _expand(gy: np.ndarray, shape: tuple, axis, keepdims: bool) -> np.ndarray:
    """Put back the reduced axes of ``gy`` (size 1) so that it broadcasts against ``shape``."""
    if axis is None or keepdims:
        return gy if keepdims else gy.reshape((1,) * len(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return np.expand_dims(gy, tuple(a % len(shape) for a in axes))


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        return (np.broadcast_to(_expand(gy, self.shape, self.axis, self.keepdims), self.shape),)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return Sum(axis, keepdims)(x)


class Mean(Sum):
    """y = sum(x) / n, n the number of elements averaged."""

    def forward(self, x):
        y = super().forward(x)
        self.n = x.size // y.size if y.size else 1  # (max and sum are the ops here)
        return y / y.dtype.type(self.n)

    def backward(self, gy):
        return super().backward(gy / gy.dtype.type(self.n))


def mean(x, axis=None, keepdims=False):
    return Mean(axis, keepdims)(x)


class Max(Function):
    """y = max(x); the gradient goes to the maximal elements (split evenly between ties)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        self.y = x.max(axis=self.axis, keepdims=True)
        return self.y if self.keepdims else self.y.reshape(_reduced_shape(x.shape, self.axis))

    def backward(self, gy):
        mask = self.x == self.y
        gy = _expand(gy, self.x.shape, self.axis, self.keepdims)
        return (gy * mask / mask.sum(axis=self.axis, keepdims=True),)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return Max(axis, keepdims)(x)


def _reduced_shape(shape: tuple, axis) -> tuple:
    if axis is None:
        return ()
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(n for i, n in enumerate(shape) if i not in axes)


# ---- shape ops -----------------------------------------------------------------------------------


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return (gy.reshape(self.x_shape),)


def reshape(x, shape):
    if np.shape(_data(x)) == tuple(shape):
        return x if isinstance(x, Tensor) else Tensor(x)
    return Reshape(tuple(shape))(x)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return (gy.transpose(),)
        return (gy.transpose(np.argsort([a % gy.ndim for a in self.axes])),)


def transpose(x, axes=None):
    return Transpose(None if axes is None else tuple(axes))(x)


class BroadcastTo(Function):
    """y = x broadcast to ``shape``; the base class sums the gradient back to x's shape."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, gy):
        return (gy,)


def broadcast_to(x, shape):
    return BroadcastTo(tuple(shape))(x)


def _is_basic(index) -> bool:
    """True for an index of ints, slices, None and Ellipsis (a view: no repeated elements)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, int | slice | type(None)) or i is Ellipsis for i in items)


class GetItem(Function):
    """y = x[index] (basic or integer-array indexing); repeated indices accumulate."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        gx = np.zeros(self.shape, self.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        else:
            np.add.at(gx, self.index, gy)
        return (gx,)


def getitem(x, index):
    if isinstance(index, Tensor):  # an integer or boolean Tensor indexes like its ndarray
        if index.data.dtype.kind not in "biu":
            raise ValueError(f"index with an integer or bool Tensor, got dtype {index.data.dtype}")
        index = index.data
    return GetItem(index)(x)


class Concat(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.splits = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(np.split(gy, self.splits, axis=self.axis))


def concat(xs, axis=0):
    return Concat(axis)(*xs)


class Stack(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(np.moveaxis(gy, self.axis, 0))


def stack(xs, axis=0):
    return Stack(axis)(*xs)
