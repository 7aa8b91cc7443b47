"""``torch.utils.data``'s names: the DataLoader and Dataset of ``scratch.data.loader``."""

from scratch.data.loader import DataLoader, Dataset

__all__ = ["DataLoader", "Dataset"]
