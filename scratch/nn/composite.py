"""The fused functions of ``F`` written again from primitives (+ - * / exp log sum max ...).

They are the reader's explanation of each formula and the tests' oracle: every fused op must give
the same values and gradients as its twin here. They are slower (one graph node per primitive).
"""

import numpy as np

from scratch.autograd import Tensor, concat, exp, log, mean, stack, sum

_reduce = {"mean": mean, "sum": sum, "none": lambda x: x}


def sigmoid(x):
    return 1 / (1 + exp(-x))


def tanh(x):
    return (exp(x) - exp(-x)) / (exp(x) + exp(-x))


def relu(x):
    return x * (x.data > 0).astype(x.dtype)  # times a constant 0/1 mask


def softplus(x):
    return log(1 + exp(x))


def logsumexp(x, axis=None, keepdims=False):
    m = Tensor(x.data.max(axis=axis, keepdims=True))  # a constant shift: it cancels
    y = m + log(sum(exp(x - m), axis=axis, keepdims=True))
    return y if keepdims else y.reshape(np.squeeze(y.data, axis=axis).shape)


def softmax(x, axis=-1):
    return exp(x - logsumexp(x, axis=axis, keepdims=True))


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis=axis, keepdims=True)


def linear(x, W, b=None):
    y = x @ W.T
    return y if b is None else y + b


def mse_loss(x, t, reduction="mean"):
    return _reduce[reduction]((x - t) ** 2)


def binary_cross_entropy(p, t, reduction="mean"):
    return _reduce[reduction](-(t * log(p) + (1 - t) * log(1 - p)))


def binary_cross_entropy_with_logits(x, t, reduction="mean"):
    return binary_cross_entropy(sigmoid(x), t, reduction)


def cross_entropy(x, t, reduction="mean"):
    t = np.asarray(t)
    return _reduce[reduction](-log_softmax(x, axis=1)[np.arange(len(t)), t])


# ---- convolution and batch norm: the textbook forms of nn.conv and nn.norm ----------------------


def pad2d(x, padding: int):
    """x (B, C, H, W) with ``padding`` zeros around each image: (B, C, H + 2p, W + 2p)."""
    if padding == 0:
        return x
    B, C, H, W = x.shape
    rows = Tensor(np.zeros((B, C, padding, W), x.dtype))
    x = concat([rows, x, rows], axis=2)
    cols = Tensor(np.zeros((B, C, H + 2 * padding, padding), x.dtype))
    return concat([cols, x, cols], axis=3)


def im2col(x, kh: int, kw: int, stride: int = 1, padding: int = 0):
    """cols[b, (c, i, j), (oy, ox)] = x_pad[b, c, oy s + i, ox s + j]: (B, C kh kw, Ho Wo),
    with Ho = (H + 2p - kh) // s + 1 (and Wo alike); returns (cols, (Ho, Wo))."""
    x = pad2d(x, padding)
    B, C, Hp, Wp = x.shape
    Ho, Wo = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    taps = [  # tap (i, j) of every output pixel: x_pad[:, :, oy s + i, ox s + j], (B, C, Ho, Wo)
        x[:, :, i : i + stride * (Ho - 1) + 1 : stride, j : j + stride * (Wo - 1) + 1 : stride]
        for i in range(kh)
        for j in range(kw)
    ]
    cols = stack(taps, axis=2)  # (B, C, kh kw, Ho, Wo)
    return cols.reshape(B, C * kh * kw, Ho * Wo), (Ho, Wo)


def conv2d(x, W, b=None, stride: int = 1, padding: int = 0):
    """y[b, o] = sum_{c, i, j} W[o, c, i, j] x_pad[b, c, s y + i, s x + j] + b[o], as one matrix
    product: y = W.reshape(O, C kh kw) @ im2col(x) + b, (B, O, Ho, Wo)."""
    O, C, kh, kw = W.shape
    cols, (Ho, Wo) = im2col(x, kh, kw, stride, padding)  # (B, C kh kw, Ho Wo)
    y = W.reshape(O, C * kh * kw) @ cols  # (B, O, Ho Wo)
    if b is not None:
        y = y + b.reshape(1, O, 1)
    return y.reshape(x.shape[0], O, Ho, Wo)


def batch_norm2d(x, gamma, beta, eps=1e-5, running_mean=None, running_var=None):
    """mu_c = mean x[:, c], var_c = mean (x[:, c] - mu_c)^2 over (B, H, W) (or the running
    statistics when given), x_hat = (x - mu) / sqrt(var + eps), y = gamma x_hat + beta."""
    C = x.shape[1]
    if running_mean is None:
        mu = mean(x, axis=(0, 2, 3), keepdims=True)  # (1, C, 1, 1)
        var = mean((x - mu) ** 2, axis=(0, 2, 3), keepdims=True)  # biased, as PyTorch's
    else:  # evaluation: constants
        mu = Tensor(np.reshape(running_mean, (1, C, 1, 1)))
        var = Tensor(np.reshape(running_var, (1, C, 1, 1)))
    x_hat = (x - mu) / (var + eps) ** 0.5
    return gamma.reshape(1, C, 1, 1) * x_hat + beta.reshape(1, C, 1, 1)
