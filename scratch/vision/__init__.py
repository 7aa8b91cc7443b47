"""torchvision's names on scratch: ``datasets.MNIST``, ``transforms`` and ``utils.make_grid``."""

from . import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
