"""Step 6: reverse-mode automatic differentiation on NumPy arrays."""

from . import ops
from .function import Function, sum_to
from .gradcheck import GradcheckError, gradcheck
from .ops import (
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
from .tensor import Config, Tensor, as_array, no_grad

__all__ = [
    "Config",
    "Function",
    "GradcheckError",
    "Tensor",
    "as_array",
    "broadcast_to",
    "concat",
    "exp",
    "getitem",
    "gradcheck",
    "log",
    "matmul",
    "max",
    "mean",
    "no_grad",
    "ops",
    "reshape",
    "stack",
    "sum",
    "sum_to",
    "transpose",
]
