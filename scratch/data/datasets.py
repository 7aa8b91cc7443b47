"""Datasets: MNIST and Fashion-MNIST from their IDX files, and a dataset over plain arrays.

A dataset here is indexable by an integer array and returns whole batches at once, so the
DataLoader slices arrays instead of looping over samples in Python.
"""

import numpy as np

from .idx import read_images, read_labels
from .store import fetch


class ArrayDataset:
    """Rows of one or more equally long arrays: ``ds[idx]`` is a tuple of ``array[idx]``."""

    def __init__(self, *arrays: np.ndarray):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"arrays must have the same length, got {[len(a) for a in arrays]}")
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, idx):
        return tuple(a[idx] for a in self.arrays)


class MNIST(ArrayDataset):
    """MNIST digits: float32 images in [0, 1], (N, 1, 28, 28) or (N, 784) when ``flatten``; int64
    labels. ``train`` picks the 60,000 training or the 10,000 test images."""

    folder = "mnist"

    def __init__(self, train: bool = True, flatten: bool = False):
        split = "train" if train else "t10k"
        images = read_images(fetch(f"{self.folder}/{split}-images-idx3-ubyte.gz"))
        labels = read_labels(fetch(f"{self.folder}/{split}-labels-idx1-ubyte.gz"))
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels in {self.folder}")
        x = images.astype(np.float32) / np.float32(255.0)
        x = x.reshape(len(x), -1) if flatten else x[:, None, :, :]  # (N, 784) or (N, 1, 28, 28)
        super().__init__(x, labels.astype(np.int64))
        self.data, self.targets = self.arrays


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): the same format and shapes as MNIST."""

    folder = "fashion-mnist"
