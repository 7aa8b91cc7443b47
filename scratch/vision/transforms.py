"""torchvision.transforms: ToTensor, ToPILImage, Compose and Lambda.

ToTensor maps an (H, W, C) image to a (C, H, W) float32 tensor, x / 255 for uint8 pixels (a
floating array is kept as it is, as torchvision does); ToPILImage is the way back.
"""

import numpy as np
from PIL import Image

from scratch.autograd.tensor import Tensor


class ToTensor:
    """torchvision.transforms.ToTensor: PIL image or (H, W[, C]) ndarray -> (C, H, W) tensor."""

    def __call__(self, pic) -> Tensor:
        array = np.asarray(pic)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(f"ToTensor expects an (H, W) or (H, W, C) image, got {array.shape}")
        array = np.ascontiguousarray(array.transpose(2, 0, 1))
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / np.float32(255)
        return Tensor(array)


class ToPILImage:
    """torchvision.transforms.ToPILImage: a (C, H, W) tensor (uint8, or floats in [0, 1] scaled
    by 255) -> a PIL image: mode L for one channel, RGB for three."""

    def __call__(self, pic) -> Image.Image:
        array = np.asarray(pic)
        if array.ndim == 3:
            array = array.transpose(1, 2, 0)
        if array.dtype.kind == "f":
            array = (array * 255).astype(np.uint8)
        if array.dtype != np.uint8:
            raise ValueError(f"ToPILImage expects uint8 or floating pixels, got {array.dtype}")
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        return Image.fromarray(array)


class Compose:
    """torchvision.transforms.Compose: apply the transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class Lambda:
    """torchvision.transforms.Lambda: a function as a transform."""

    def __init__(self, function):
        if not callable(function):
            raise TypeError(f"Lambda needs a callable, got {type(function).__name__}")
        self.function = function

    def __call__(self, x):
        return self.function(x)
