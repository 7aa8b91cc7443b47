"""DataLoader: shuffled mini-batches by array slicing, reproducible per (seed, epoch)."""

import numpy as np


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
            # shuffled: gather rows; in order: a contiguous slice, which is a view (no copy)
            yield self.dataset[order[start:stop] if self.shuffle else slice(start, stop)]
