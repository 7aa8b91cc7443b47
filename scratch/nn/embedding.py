"""Embedding: a lookup table, row ``i`` of ``weight`` for the integer ``i``."""

import numpy as np

from scratch.autograd import getitem

from . import init
from .module import Module, Parameter


class Embedding(Module):
    """Embedding(num_embeddings, embedding_dim): y = weight[ids], weight ~ N(0, 1) as in PyTorch.

    The gradient of a row is the sum of the gradients of every position that looked it up."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        if min(num_embeddings, embedding_dim) < 1:
            raise ValueError(
                f"Embedding needs positive sizes, got num_embeddings={num_embeddings}, "
                f"embedding_dim={embedding_dim}"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        rng = init.generator()
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim), np.float32))

    def forward(self, ids):
        ids = np.asarray(getattr(ids, "data", ids))
        if ids.dtype.kind not in "iu" or (
            ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings)
        ):
            raise ValueError(
                f"Embedding expects integer ids in [0, {self.num_embeddings}), got "
                f"{ids.dtype} ids" + (f" in [{ids.min()}, {ids.max()}]" if ids.size else "")
            )
        return getitem(self.weight, ids)  # (..., embedding_dim)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
