"""Conv2d: the 2-D convolution (PyTorch's cross-correlation) as a Function and a layer.

The arithmetic lives in ``scratch.kernels.conv`` (im2col fused with padding, one sgemm, col2im);
the Function keeps the columns from forward for the weight gradient.
"""

import math

import numpy as np

from scratch.autograd import Function
from scratch.kernels import conv as kernels

from . import init
from .module import Module, Parameter


def _check_input(x, C: int, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != C:
        raise ValueError(f"{name} expects input (B, {C}, H, W), got shape {tuple(x.shape)}")


class Conv2dFunction(Function):
    """y[b, o] = sum_{c, i, j} W[o, c, i, j] x_pad[b, c, s y + i, s x + j] + b[o]."""

    def __init__(self, stride: int = 1, padding: int = 0, method=None):
        self.stride, self.padding, self.method = stride, padding, method

    def forward(self, x, W, b=None):
        y, self.cols = kernels.conv2d_forward(x, W, b, self.stride, self.padding, self.method)
        self.x_shape, self.W = x.shape, W
        return y

    def backward(self, gy):
        need_dx = self.inputs[0].requires_grad
        gx, gW, gb = kernels.conv2d_backward(
            gy, self.cols, self.x_shape, self.W, self.stride, self.padding, need_dx, self.method
        )
        return (gx, gW, gb) if len(self.inputs) == 3 else (gx, gW)


def conv2d(x, W, b=None, stride: int = 1, padding: int = 0, method=None):
    """The convolution of x (B, C, H, W) with W (O, C, kh, kw), plus b (O,): (B, O, Ho, Wo).
    ``method``: 'im2col', 'shifted' or 'winograd' (None: ``kernels.conv.choose_method``'s default)."""
    _check_input(x, W.shape[1], "conv2d")
    if min(x.shape[2] + 2 * padding - W.shape[2], x.shape[3] + 2 * padding - W.shape[3]) < 0:
        raise ValueError(
            f"conv2d: kernel {tuple(W.shape[2:])} is larger than the padded input "
            f"{tuple(x.shape[2:])} + 2 * {padding}"
        )
    f = Conv2dFunction(stride, padding, method)
    return f(x, W) if b is None else f(x, W, b)


class Conv2d(Module):
    """Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True).

    ``weight`` (out, in, kh, kw) and ``bias`` (out,) are initialised as PyTorch does:
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in kh kw."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        for name, v, low in (("in_channels", in_channels, 1), ("out_channels", out_channels, 1),
                             ("kernel_size", min(kh, kw), 1), ("stride", stride, 1),
                             ("padding", padding, 0)):  # fmt: skip
            if not isinstance(v, int | np.integer) or v < low:
                raise ValueError(f"Conv2d: {name} must be an integer >= {low}, got {v!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        self.weight = Parameter(init.kaiming_uniform((out_channels, in_channels, kh, kw)))
        bound = 1 / math.sqrt(in_channels * kh * kw)
        self.bias = Parameter(init.uniform((out_channels,), -bound, bound)) if bias else None

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
