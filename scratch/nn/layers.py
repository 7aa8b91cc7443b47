"""The basic layers: Linear, Sequential and the activations as modules."""

import math

from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b with W (out_features, in_features), initialised as PyTorch does:
    W and b ~ U(-1/sqrt(in_features), 1/sqrt(in_features))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear needs positive sizes, got in_features={in_features}, "
                f"out_features={out_features}"
            )
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.kaiming_uniform((out_features, in_features)))
        bound = 1 / math.sqrt(in_features)
        self.bias = Parameter(init.uniform((out_features,), -bound, bound)) if bias else None

    def forward(self, x):
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) == 0 or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear expects input (..., {self.in_features}) (in_features), got shape "
                f"{None if shape is None else tuple(shape)}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        sizes = f"in_features={self.in_features}, out_features={self.out_features}"
        return f"{sizes}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied in order; children are named '0', '1', ... as in PyTorch."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)
