"""torchvision.datasets.MNIST on scratch's checksummed data store: one sample at a time, as a PIL
image (or what ``transform`` makes of it) and an int label."""

import numpy as np
from PIL import Image

from scratch.data.idx import read_images, read_labels
from scratch.data.loader import Dataset
from scratch.data.store import fetch


class MNIST(Dataset):
    """torchvision.datasets.MNIST(root, train, transform, target_transform, download).

    ``root`` is a data folder holding ``mnist/<split>-images-idx3-ubyte.gz`` (the store's layout);
    the store also looks in ``$SCRATCH_DATA`` and its cache, and ``download=True`` lets it fetch
    the verified files into ``root``.
    """

    folder = "mnist"

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        split = "train" if train else "t10k"
        name = f"{self.folder}/{split}"
        self.data = read_images(fetch(f"{name}-images-idx3-ubyte.gz", download, root))
        self.targets = read_labels(fetch(f"{name}-labels-idx1-ubyte.gz", download, root))
        if len(self.data) != len(self.targets):
            raise ValueError(f"{len(self.data)} images but {len(self.targets)} labels in {root}")
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        image = Image.fromarray(np.asarray(self.data[index], np.uint8), mode="L")
        label = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label
