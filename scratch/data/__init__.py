"""Data: the checksummed store, the IDX parser, the book's tables, datasets and the DataLoader."""

from .datasets import MNIST, ArrayDataset, FashionMNIST
from .loader import DataLoader
from .store import ChecksumError, DataNotFoundError, available, fetch
from .tables import load_height, load_height_weight, load_old_faithful

__all__ = [
    "MNIST",
    "ArrayDataset",
    "FashionMNIST",
    "DataLoader",
    "ChecksumError",
    "DataNotFoundError",
    "available",
    "fetch",
    "load_height",
    "load_height_weight",
    "load_old_faithful",
]
