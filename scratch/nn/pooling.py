"""Resampling layers of the U-Net: MaxPool2d(2) down, Upsample(scale_factor=2, 'bilinear') up.

The kernels (Numba, with NumPy twins) are in ``scratch.kernels.resample``.
"""

from scratch.autograd import Function
from scratch.kernels import resample

from .module import Module


def _check_image(x, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects an image batch (B, C, H, W), got shape {tuple(x.shape)}")


class MaxPool2Function(Function):
    """y = max of each 2x2 window; the gradient goes to the window's arg-max."""

    def forward(self, x):
        y, self.arg = resample.maxpool2(x)
        self.x_shape = x.shape
        return y

    def backward(self, gy):
        return (resample.maxpool2_backward(gy, self.arg, self.x_shape),)


class Upsample2Function(Function):
    """Bilinear x2 (align_corners=False): y = A_H x A_W^T; gx = A_H^T gy A_W."""

    def forward(self, x):
        return resample.upsample2(x)

    def backward(self, gy):
        return (resample.upsample2_backward(gy),)


def max_pool2d(x):
    """2x2 max-pooling with stride 2: (B, C, H, W) -> (B, C, H // 2, W // 2)."""
    _check_image(x, "max_pool2d")
    if x.shape[2] < 2 or x.shape[3] < 2:
        raise ValueError(f"max_pool2d needs H, W >= 2, got shape {tuple(x.shape)}")
    return MaxPool2Function()(x)


def upsample_bilinear2x(x):
    """Bilinear upsampling by 2 (align_corners=False): (B, C, H, W) -> (B, C, 2H, 2W)."""
    _check_image(x, "upsample")
    return Upsample2Function()(x)


class MaxPool2d(Module):
    """MaxPool2d(2): the only size the book uses (kernel 2, stride 2)."""

    def __init__(self, kernel_size: int = 2):
        super().__init__()
        if kernel_size != 2:
            raise ValueError(f"MaxPool2d supports kernel_size=2 only, got {kernel_size!r}")
        self.kernel_size = 2

    def forward(self, x):
        return max_pool2d(x)

    def extra_repr(self) -> str:
        return "kernel_size=2, stride=2"


class Upsample(Module):
    """Upsample(scale_factor=2, mode='bilinear'), PyTorch's align_corners=False arithmetic."""

    def __init__(self, scale_factor: int = 2, mode: str = "bilinear"):
        super().__init__()
        if scale_factor != 2 or mode != "bilinear":
            raise ValueError(
                "Upsample supports scale_factor=2, mode='bilinear' only, got "
                f"scale_factor={scale_factor!r}, mode={mode!r}"
            )
        self.scale_factor, self.mode = 2, "bilinear"

    def forward(self, x):
        return upsample_bilinear2x(x)

    def extra_repr(self) -> str:
        return "scale_factor=2, mode='bilinear'"
