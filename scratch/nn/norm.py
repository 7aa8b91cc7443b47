"""BatchNorm2d: normalise each channel over (batch, height, width), then scale and shift.

Training:  mu_c = mean x[:, c],  var_c = mean (x[:, c] - mu_c)^2,
           x_hat = (x - mu) / sqrt(var + eps),  y = gamma x_hat + beta,
           running_mean <- (1 - m) running_mean + m mu,
           running_var  <- (1 - m) running_var + m var N / (N - 1)   (unbiased, as PyTorch),
with m = 1 / num_batches_tracked when momentum is None: the plain mean over the batches seen.
Evaluation uses the running statistics in place of mu and var.
"""

import math

import numpy as np

from scratch.autograd import Function
from scratch.kernels.norm import channel_affine, channel_moments, channel_sums

from .module import Module, Parameter


class BatchNorm2dFunction(Function):
    """y = gamma x_hat + beta, written per channel as y = a x + d with a = gamma / sigma and
    d = beta - mu a (one pass of the :mod:`scratch.kernels.norm` kernels). With batch statistics
    (training) the backward is

    gx = (gamma / sigma) (gy - mean(gy) - x_hat mean(gy x_hat)),  means over (B, H, W),
    g_beta = sum gy,  g_gamma = sum gy x_hat = (sum gy x - mu sum gy) / sigma,

    again one affine pass, gx = a gy + b x + d'; with fixed statistics (evaluation) gx = a gy.
    x_hat is never stored: the graph keeps x alive anyway as this op's input."""

    def __init__(self, eps: float, mean=None, var=None):
        self.eps, self.mean, self.var = eps, mean, var
        self.batch_stats = mean is None  # running statistics given: evaluation mode

    def forward(self, x, gamma, beta):
        x = np.ascontiguousarray(x)
        if self.batch_stats:
            self.mean, self.var = channel_moments(x)  # (C,) float64, the variance biased
        self.inv_std = 1.0 / np.sqrt(self.var.astype(np.float64) + self.eps)  # (C,)
        self.scale = gamma.astype(np.float64) * self.inv_std  # a = gamma / sigma
        self.x = x
        return channel_affine(x, self.scale, beta - self.mean * self.scale)

    def backward(self, gy):
        gy = np.ascontiguousarray(gy)
        g_beta, gy_x = channel_sums(gy, self.x)  # sum gy, sum gy x: (C,) float64
        g_gamma = (gy_x - self.mean * g_beta) * self.inv_std
        if not self.batch_stats:
            gx = channel_affine(gy, self.scale, np.zeros_like(self.scale))
        else:
            n = gy.size // gy.shape[1]
            b = -self.scale * self.inv_std * g_gamma / n
            d = self.scale * (self.mean * self.inv_std * g_gamma - g_beta) / n
            gx = channel_affine(gy, self.scale, d, self.x, b)
        dtype = self.x.dtype
        return gx, g_gamma.astype(dtype), g_beta.astype(dtype)


def batch_norm2d(x, gamma, beta, eps=1e-5, running_mean=None, running_var=None):
    """Batch-normalise x (B, C, H, W); with running statistics given, use them (evaluation)."""
    if x.ndim != 4 or x.shape[1] != gamma.shape[0]:
        raise ValueError(
            f"batch_norm2d expects input (B, {gamma.shape[0]}, H, W), got shape {tuple(x.shape)}"
        )
    f = BatchNorm2dFunction(eps, running_mean, running_var)
    return f(x, gamma, beta), f


class BatchNorm2d(Module):
    """BatchNorm2d(num_features, eps=1e-5, momentum=0.1), with PyTorch's buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``; momentum None
    keeps the cumulative average instead (as PyTorch)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1):
        super().__init__()
        if not isinstance(num_features, int | np.integer) or num_features < 1:
            raise ValueError(
                f"BatchNorm2d: num_features must be a positive int, got {num_features!r}"
            )
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, np.float32))
        self.bias = Parameter(np.zeros(num_features, np.float32))
        self.register_buffer("running_mean", np.zeros(num_features, np.float32))
        self.register_buffer("running_var", np.ones(num_features, np.float32))
        self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def forward(self, x):
        if not self.training:
            y, _ = batch_norm2d(
                x, self.weight, self.bias, self.eps, self.running_mean, self.running_var
            )
            return y
        n = math.prod(x.shape) // x.shape[1] if x.ndim == 4 else 0
        if n == 1:
            raise ValueError(
                f"BatchNorm2d in training needs more than one value per channel, got input {tuple(x.shape)}"
            )
        y, f = batch_norm2d(x, self.weight, self.bias, self.eps)
        self.num_batches_tracked += 1
        m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean *= 1 - m  # in place: the state_dict holds these arrays
        self.running_mean += m * f.mean
        self.running_var *= 1 - m
        self.running_var += m * f.var * (n / (n - 1))
        return y

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
