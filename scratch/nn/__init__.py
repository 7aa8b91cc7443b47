"""Neural networks: Module, Parameter, layers, functional (F) and init.

Each family of layers lives in its own module file; add a new file's layers to the imports below.
"""

from . import functional, init
from .conv import Conv2d
from .embedding import Embedding
from .layers import Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter
from .norm import BatchNorm2d
from .pooling import MaxPool2d, Upsample

__all__ = [
    "BatchNorm2d",
    "Conv2d",
    "Embedding",
    "MaxPool2d",
    "Upsample",
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
