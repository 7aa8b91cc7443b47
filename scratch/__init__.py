"""scratch: the generative models of 'Deep Learning from Scratch 5', built from scratch in NumPy."""

from .autograd import Tensor, no_grad

__version__ = "0.1.0"

__all__ = ["Tensor", "no_grad"]
