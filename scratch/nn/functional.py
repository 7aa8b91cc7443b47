"""Neural-network functions (``import scratch.nn.functional as F``).

The activations and losses are fused: one Function computes the whole formula in NumPy and
its backward is the formula's derivative, which costs one node instead of five. Each fused op
has a twin built from primitives in ``scratch.nn.composite``; the tests check that they agree.
A Function whose name a layer (Module) also has is called ``<name>Function`` (``LinearFunction``
beside ``nn.Linear``), as ``Conv2dFunction`` is beside ``nn.Conv2d``.
"""

import numpy as np

from scratch.autograd import Function, Tensor
from scratch.autograd.ops import (  # noqa: F401 - re-exported: F.exp, F.sum, ...
    broadcast_to,
    concat,
    exp,
    getitem,
    log,
    matmul,
    max,
    mean,
    reshape,
    stack,
    sum,
    transpose,
)

from . import init

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(loss.mean(), loss.dtype)
    if reduction == "sum":
        return np.asarray(loss.sum(), loss.dtype)
    return loss


def _scale(reduction: str, n: int, gy: np.ndarray) -> np.ndarray:
    """The upstream gradient of the elementwise loss: gy / n for 'mean', gy otherwise."""
    return gy / gy.dtype.type(n) if reduction == "mean" else gy


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(name: str, x, t) -> None:
    if np.shape(x) != np.shape(t):
        raise ValueError(f"{name}: input shape {np.shape(x)} and target shape {np.shape(t)} differ")


# ---- activations ---------------------------------------------------------------------------------


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) = (tanh(x/2) + 1) / 2 on an array, in its dtype: tanh cannot overflow."""
    y = np.tanh(x * x.dtype.type(0.5))
    y *= 0.5
    y += 0.5
    return y


class SigmoidFunction(Function):
    """y = 1 / (1 + exp(-x)) = (tanh(x/2) + 1) / 2 (no overflow);  dy/dx = y (1 - y)."""

    def forward(self, x):
        self.y = sigmoid_array(x)
        return self.y

    def backward(self, gy):
        return (gy * self.y * (1 - self.y),)


class TanhFunction(Function):
    """y = tanh(x);  dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        return (gy * (1 - self.y * self.y),)


class ReLUFunction(Function):
    """y = max(x, 0);  dy/dx = [x > 0]."""

    def forward(self, x):
        self.y = np.maximum(x, 0)
        return self.y

    def backward(self, gy):
        return (gy * (self.y > 0),)


class Softplus(Function):
    """y = log(1 + exp(x)) = logaddexp(0, x);  dy/dx = sigmoid(x)."""

    def forward(self, x):
        self.x = x
        return np.logaddexp(x.dtype.type(0), x)

    def backward(self, gy):
        return (gy * sigmoid_array(self.x),)


class LogSumExp(Function):
    """y = m + log sum exp(x - m), m = max x;  dy/dx = exp(x - y) (the softmax)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        m = x.max(axis=self.axis, keepdims=True)
        y = m + np.log(np.exp(x - m).sum(axis=self.axis, keepdims=True))  # keepdims shape
        self.softmax = np.exp(x - y)
        return y if self.keepdims else y.reshape(_reduced(x.shape, self.axis))

    def backward(self, gy):
        if not self.keepdims:
            gy = gy.reshape(_reduced(self.softmax.shape, self.axis, keep=True))
        return (gy * self.softmax,)


def _reduced(shape: tuple, axis, keep: bool = False) -> tuple:
    """``shape`` reduced over ``axis`` (None: all), with the reduced axes kept as 1 if ``keep``."""
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes}
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keep or i not in axes)


class Softmax(Function):
    """y = exp(x) / sum exp(x) along ``axis``;  gx = y (gy - sum(gy y))."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, gy):
        y = self.y
        return (y * (gy - (gy * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``axis``;  gx = gy - exp(y) sum(gy)."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        m = x.max(axis=self.axis, keepdims=True)
        self.y = x - (m + np.log(np.exp(x - m).sum(axis=self.axis, keepdims=True)))
        return self.y

    def backward(self, gy):
        return (gy - np.exp(self.y) * gy.sum(axis=self.axis, keepdims=True),)


# ---- layers as functions -------------------------------------------------------------------------


class LinearFunction(Function):
    """y = x W^T + b, x (..., in), W (out, in), b (out,);  gx = gy W,  gW = gy^T x,  gb = sum gy."""

    def forward(self, x, W, b=None):
        self.x, self.W = x, W
        y = x @ W.T
        if b is None:
            return y
        if b.dtype == y.dtype:
            y += b  # in place: no second (N, out) array
            return y
        return y + b  # NumPy's promotion when b's dtype is wider

    def backward(self, gy):
        x, W = self.x, self.W
        gx = gy @ W if self.inputs[0].requires_grad else None
        gW = gy.reshape(-1, gy.shape[-1]).T @ x.reshape(-1, x.shape[-1])  # (out, in)
        # gy is summed to b's shape (out,) by the base class
        return (gx, gW, gy) if len(self.inputs) == 3 else (gx, gW)


def linear(x, W, b=None):
    """y = x @ W.T + b (one node)."""
    return LinearFunction()(x, W) if b is None else LinearFunction()(x, W, b)


def sigmoid(x):
    return SigmoidFunction()(x)


def tanh(x):
    return TanhFunction()(x)


def relu(x):
    return ReLUFunction()(x)


def softplus(x):
    return Softplus()(x)


def logsumexp(x, axis=None, keepdims=False):
    return LogSumExp(axis, keepdims)(x)


def softmax(x, axis=-1):
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    return LogSoftmax(axis)(x)


def dropout(x, p: float = 0.5, training: bool = True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity in eval)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    keep = init.generator().random(data.shape) >= p
    return x * (keep / (1 - p)).astype(data.dtype)


# ---- losses --------------------------------------------------------------------------------------


class MSELoss(Function):
    """L = reduce((x - t)^2);  gx = 2 (x - t) gy / n,  gt = -gx."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, x, t):
        self.diff = x - t
        return _reduce(self.diff * self.diff, self.reduction)

    def backward(self, gy):
        gx = _scale(self.reduction, self.diff.size, gy) * 2 * self.diff
        return gx, -gx


class BinaryCrossEntropy(Function):
    """L = -reduce(t log p + (1 - t) log(1 - p)), each log clamped at -100 as in PyTorch;
    gp = gy (p - t) / max(p (1 - p), 1e-12),  gt = gy (log(1 - p) - log p)."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, p, t):
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError("binary_cross_entropy: input probabilities must lie in [0, 1]")
        self.p, self.t = p, t
        with np.errstate(divide="ignore"):
            self.log_p = np.maximum(np.log(p), -100)
            self.log_1p = np.maximum(np.log1p(-p), -100)
        return _reduce(-(t * self.log_p + (1 - t) * self.log_1p), self.reduction)

    def backward(self, gy):
        g = _scale(self.reduction, self.p.size, gy)
        p = self.p
        gp = g * (p - self.t) / np.maximum(p * (1 - p), 1e-12)
        return gp, g * (self.log_1p - self.log_p)


class BinaryCrossEntropyWithLogits(Function):
    """L = reduce(max(x, 0) - x t + log(1 + exp(-|x|)));  gx = gy (sigmoid(x) - t),  gt = -gy x."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, x, t):
        self.x, self.t = x, t
        loss = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        return _reduce(loss, self.reduction)

    def backward(self, gy):
        g = _scale(self.reduction, self.x.size, gy)
        return g * (sigmoid_array(self.x) - self.t), -g * self.x


class CrossEntropy(Function):
    """L = reduce(-log_softmax(x)[n, t_n]) for logits x (N, C) and class labels t (N,);
    gx = gy (softmax(x) - onehot(t))."""

    def __init__(self, t: np.ndarray, reduction="mean"):
        self.t, self.reduction = t, reduction

    def forward(self, x):
        m = x.max(axis=1, keepdims=True)
        log_p = x - (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))  # (N, C)
        self.log_p = log_p
        return _reduce(-log_p[np.arange(len(x)), self.t], self.reduction)

    def backward(self, gy):
        g = _scale(self.reduction, len(self.t), gy)
        gx = np.exp(self.log_p)
        gx[np.arange(len(self.t)), self.t] -= 1
        return (gx * (g if g.ndim == 0 else g[:, None]),)


def _elementwise_loss(cls, name: str, x, t, reduction: str):
    """Check the reduction and that x and t have one shape, then apply the loss Function."""
    _check_reduction(reduction)
    _check_same_shape(name, x, t)
    return cls(reduction)(x, t)


def mse_loss(x, t, reduction: str = "mean"):
    """Mean (or sum, or elementwise) squared error."""
    return _elementwise_loss(MSELoss, "mse_loss", x, t, reduction)


def binary_cross_entropy(p, t, reduction: str = "mean"):
    """Cross-entropy of probabilities p in [0, 1] against targets t in [0, 1]."""
    return _elementwise_loss(BinaryCrossEntropy, "binary_cross_entropy", p, t, reduction)


def binary_cross_entropy_with_logits(x, t, reduction: str = "mean"):
    """binary_cross_entropy(sigmoid(x), t), computed stably from the logits x."""
    return _elementwise_loss(
        BinaryCrossEntropyWithLogits, "binary_cross_entropy_with_logits", x, t, reduction
    )


def cross_entropy(x, t, reduction: str = "mean"):
    """Softmax cross-entropy of logits x (N, C) against integer class labels t (N,)."""
    _check_reduction(reduction)
    t, shape = np.asarray(t), np.shape(x)
    if len(shape) != 2 or t.ndim != 1:
        raise ValueError(
            f"cross_entropy expects logits (N, C) and labels (N,), got {shape}, {t.shape}"
        )
    n, c = shape
    if len(t) != n:
        raise ValueError(f"cross_entropy: {n} rows of logits but {len(t)} labels")
    if t.dtype.kind not in "iu" and not np.array_equal(t, t.astype(np.int64)):
        raise ValueError(f"cross_entropy: labels must be integers, got dtype {t.dtype}")
    t = t.astype(np.int64)
    if n and (t.min() < 0 or t.max() >= c):
        raise ValueError(f"cross_entropy: labels must lie in [0, {c}), got [{t.min()}, {t.max()}]")
    return CrossEntropy(t, reduction)(x)
