"""Neural networks: Module, Parameter, layers, functional (F) and init.

Each family of layers lives in its own module file; add a new file's layers to the imports below.
"""

from . import functional, init
from .layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter

__all__ = [
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
    "init",
]
