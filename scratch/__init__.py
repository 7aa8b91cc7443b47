"""scratch: the generative models of 'Deep Learning from Scratch 5', built from scratch in NumPy.

The top level also carries PyTorch's names (``scratch.randn``, ``scratch.float32``,
``scratch.utils.data.DataLoader`` ...), so the book's scripts run with ``import scratch as torch``.
"""

from . import nn, optim, utils
from .autograd import Tensor, no_grad
from .autograd.dtypes import float32, float64, int64, long, uint8
from .tensors import (
    arange,
    cat,
    clamp,
    cos,
    cuda,
    cumprod,
    exp,
    flatten,
    linspace,
    log,
    manual_seed,
    ones,
    ones_like,
    pi,
    rand,
    randint,
    randn,
    randn_like,
    sin,
    sqrt,
    sum,
    tensor,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "arange",
    "cat",
    "clamp",
    "cos",
    "cuda",
    "cumprod",
    "exp",
    "flatten",
    "float32",
    "float64",
    "int64",
    "linspace",
    "log",
    "long",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "pi",
    "rand",
    "randint",
    "randn",
    "randn_like",
    "sin",
    "sqrt",
    "sum",
    "tensor",
    "uint8",
    "utils",
    "zeros",
    "zeros_like",
]
