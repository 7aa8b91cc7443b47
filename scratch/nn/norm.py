"""BatchNorm2d: normalise each channel over (batch, height, width), then scale and shift.

Training:  mu_c = mean x[:, c],  var_c = mean (x[:, c] - mu_c)^2,
           x_hat = (x - mu) / sqrt(var + eps),  y = gamma x_hat + beta,
           running_mean <- (1 - m) running_mean + m mu,
           running_var  <- (1 - m) running_var + m var N / (N - 1)   (unbiased, as PyTorch).
Evaluation uses the running statistics in place of mu and var.
"""

import numpy as np

from scratch.autograd import Function

from .module import Module, Parameter

AXES = (0, 2, 3)  # every axis but the channels'


def _channel(v):
    return v.reshape(1, -1, 1, 1)  # (C,) -> (1, C, 1, 1)


class BatchNorm2dFunction(Function):
    """y = gamma x_hat + beta. With batch statistics (training) the backward is

    gx = (1 / sigma) (g - mean(g) - x_hat mean(g x_hat)),  g = gamma gy,  means over (B, H, W);
    with fixed statistics (evaluation) it is gx = gamma gy / sigma.

    x_hat is recomputed in backward from x (which the graph keeps alive anyway as this op's
    input) rather than saved: one elementwise pass instead of a second activation-sized array."""

    def __init__(self, eps: float, mean=None, var=None):
        self.eps, self.mean, self.var = eps, mean, var
        self.batch_stats = mean is None  # running statistics given: evaluation mode

    def forward(self, x, gamma, beta):
        if self.batch_stats:
            self.mean = x.mean(axis=AXES)  # (C,)
            self.var = np.mean(np.square(x - _channel(self.mean)), axis=AXES)  # (C,) biased
        self.inv_std = _channel((1 / np.sqrt(self.var + self.eps)).astype(x.dtype))  # (1, C, 1, 1)
        self.x, self.gamma = x, gamma
        return self.normalized() * _channel(gamma) + _channel(beta)

    def normalized(self):
        """x_hat = (x - mu) / sigma, (B, C, H, W)."""
        return (self.x - _channel(self.mean.astype(self.x.dtype))) * self.inv_std

    def backward(self, gy):
        x_hat = self.normalized()
        g_gamma, g_beta = (gy * x_hat).sum(axis=AXES), gy.sum(axis=AXES)
        scale = _channel(self.gamma) * self.inv_std  # (1, C, 1, 1)
        if not self.batch_stats:
            return gy * scale, g_gamma, g_beta
        n = gy.size // gy.shape[1]
        gx = scale * (gy - _channel(g_beta / n) - x_hat * _channel(g_gamma / n))
        return gx, g_gamma, g_beta


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
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
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
        n = x.size // x.shape[1] if x.ndim == 4 else 0
        if n == 1:
            raise ValueError(
                f"BatchNorm2d in training needs more than one value per channel, got input {tuple(x.shape)}"
            )
        y, f = batch_norm2d(x, self.weight, self.bias, self.eps)
        m = self.momentum
        self.running_mean *= 1 - m  # in place: the state_dict holds these arrays
        self.running_mean += m * f.mean
        self.running_var *= 1 - m
        self.running_var += m * f.var * (n / (n - 1))
        self.num_batches_tracked += 1
        return y

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
