"""PyTorch's ``torch.utils`` path: ``scratch.utils.data``."""

from . import data

__all__ = ["data"]
