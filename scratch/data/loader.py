"""DataLoader: shuffled mini-batches by array slicing, reproducible per (seed, epoch).

scratch's datasets return a whole batch for an index array. A ``Dataset`` (PyTorch's per-sample
kind: ``ds[i]`` is one sample) is gathered sample by sample and collated: the batch's tensors and
arrays are stacked, its python numbers become an int64 or float32 tensor, as in PyTorch.
"""

import numpy as np

from scratch.autograd.tensor import Tensor


class Dataset:
    """torch.utils.data.Dataset: a subclass defines ``__len__`` and ``__getitem__(i)`` (one
    sample); the DataLoader collates samples into batches."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")


def collate(samples: list):
    """A list of samples as one batch: tuples field by field, tensors and arrays stacked."""
    first = samples[0]
    if isinstance(first, tuple | list):
        return tuple(collate(list(field)) for field in zip(*samples, strict=True))
    array = np.stack([np.asarray(s) for s in samples])
    if array.dtype == np.float64 and not isinstance(first, np.ndarray | Tensor):
        array = array.astype(np.float32)  # python floats: PyTorch's float32
    return Tensor._of(array)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    Each pass draws its order from ``default_rng([seed, epoch])``, so epoch e has the same order
    whether the run went straight through or was resumed at e (set ``loader.epoch = e``).
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self):
        n = len(self.dataset)
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else None
        )
        self.epoch += 1
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            if isinstance(self.dataset, Dataset):
                idx = order[start:stop] if self.shuffle else range(start, stop)
                yield collate([self.dataset[int(i)] for i in idx])
                continue
            # shuffled: gather rows; in order: a contiguous slice, which is a view (no copy)
            yield self.dataset[order[start:stop] if self.shuffle else slice(start, stop)]
