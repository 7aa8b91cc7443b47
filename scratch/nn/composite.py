"""The fused functions of ``F`` written again from primitives (+ - * / exp log sum max ...).

They are the reader's explanation of each formula and the tests' oracle: every fused op must give
the same values and gradients as its twin here. They are slower (one graph node per primitive).
"""

import numpy as np

from scratch.autograd import Tensor, exp, log, mean, sum

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
