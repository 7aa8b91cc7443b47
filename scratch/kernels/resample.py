"""Resampling an image by 2: 2x2 max-pooling down, bilinear interpolation up (PyTorch semantics).

Max-pool (kernel 2, stride 2, odd rows/columns dropped as PyTorch's floor mode does):

    y[b, c, i, j] = max over (p, q) in {0, 1}^2 of x[b, c, 2i + p, 2j + q]

and the backward sends gy to the arg-max (the first one in row-major order on ties), recorded in
forward as ``arg = 2 p + q``.

Bilinear x2 upsampling with ``align_corners=False``: the output pixel centre d maps to the source
coordinate s = max((d + 1/2) / 2 - 1/2, 0); with i0 = floor(s), i1 = min(i0 + 1, n - 1) and
l = s - i0, the value is (1 - l) x[i0] + l x[i1], first along H, then along W. Along one axis this is
a matrix A (2n, n), so y = A_h x A_w^T and the backward is gx = A_h^T gy A_w: that is the NumPy
twin; the Numba kernels compute the same sums directly, a share of the (b, c) planes per core
(``spread``).
"""

import numpy as np

from ._jit import fast, njit
from .spread import spread_range

# ---- max-pool 2x2 ---------------------------------------------------------------------------------


def maxpool2_numpy(x):
    """(y, arg) for x (B, C, H, W): y (B, C, H//2, W//2), arg int8 in {0..3} = 2 p + q."""
    B, C, H, W = x.shape
    Ho, Wo = H // 2, W // 2
    windows = x[:, :, : 2 * Ho, : 2 * Wo].reshape(B, C, Ho, 2, Wo, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(B, C, Ho, Wo, 4)  # (p, q) flattened row-major
    arg = windows.argmax(axis=-1).astype(np.int8)
    return np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0], arg


def maxpool2_backward_numpy(gy, arg, x_shape):
    """gx (x_shape): gy[b, c, i, j] placed at the arg-max of its window, zeros elsewhere."""
    B, C, H, W = x_shape
    Ho, Wo = gy.shape[2:]
    onehot = arg[..., None] == np.arange(4)  # (B, C, Ho, Wo, 4)
    g = (onehot * gy[..., None]).reshape(B, C, Ho, Wo, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    gx = np.zeros(x_shape, dtype=gy.dtype)
    gx[:, :, : 2 * Ho, : 2 * Wo] = g.reshape(B, C, 2 * Ho, 2 * Wo)
    return gx


def planes(a):
    """a (B, C, H, W) as its B C planes (B C, H, W), a view (a copy if a is not contiguous)."""
    return np.ascontiguousarray(a).reshape(-1, *a.shape[2:])


@njit(cache=True, nogil=True)
def _maxpool2(x, p0, p1, y, arg):
    """y, arg of the planes p0..p1 - 1 of x (planes, H, W), in place."""
    for p in range(p0, p1):
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                best, k = x[p, 2 * i, 2 * j], 0
                for t in range(1, 4):
                    v = x[p, 2 * i + t // 2, 2 * j + t % 2]
                    if v > best or (v != v and best == best):  # NaN wins, as in argmax
                        best, k = v, t
                y[p, i, j] = best
                arg[p, i, j] = k


@njit(cache=True, nogil=True)
def _maxpool2_backward(gy, arg, p0, p1, gx):
    """The planes p0..p1 - 1 of gx (planes, H, W), zeros but at the arg-maxes, in place."""
    for p in range(p0, p1):
        gx[p] = 0
        for i in range(gy.shape[1]):
            for j in range(gy.shape[2]):
                k = arg[p, i, j]
                gx[p, 2 * i + k // 2, 2 * j + k % 2] = gy[p, i, j]


@fast(maxpool2_numpy)
def maxpool2(x):
    """y[b, c, i, j] = max_{p, q} x[b, c, 2i + p, 2j + q] and arg = 2p + q, as
    :func:`maxpool2_numpy`. Fast: one read of x, planes shared over the cores, no window copy."""
    B, C, H, W = x.shape
    y = np.empty((B, C, H // 2, W // 2), dtype=x.dtype)
    arg = np.empty((B, C, H // 2, W // 2), dtype=np.int8)
    xs, ys, args = planes(x), planes(y), planes(arg)
    spread_range(lambda p0, p1: _maxpool2(xs, p0, p1, ys, args), B * C)
    return y, arg


@fast(maxpool2_backward_numpy)
def maxpool2_backward(gy, arg, x_shape):
    """gx = gy at each window's arg-max, zeros elsewhere, as :func:`maxpool2_backward_numpy`.
    Fast: one write per pixel of gx, with no one-hot temporary."""
    gx = np.empty(x_shape, dtype=gy.dtype)
    gys, args, gxs = planes(gy), planes(arg), planes(gx)
    spread_range(lambda p0, p1: _maxpool2_backward(gys, args, p0, p1, gxs), len(gxs))
    return gx


# ---- bilinear upsampling x2, align_corners=False -------------------------------------------------


def upsample_matrix(n: int, dtype=np.float32) -> np.ndarray:
    """A (2n, n): row d holds the weights (1 - l, l) of source pixels (i0, i1) of output pixel d."""
    s = np.maximum((np.arange(2 * n) + 0.5) / 2 - 0.5, 0.0)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = s - i0
    A = np.zeros((2 * n, n))
    np.add.at(A, (np.arange(2 * n), i0), 1 - lam)
    np.add.at(A, (np.arange(2 * n), i1), lam)
    return A.astype(dtype)


def upsample2_numpy(x):
    """y (B, C, 2H, 2W) = A_H x A_W^T for x (B, C, H, W)."""
    H, W = x.shape[2:]
    return upsample_matrix(H, x.dtype) @ x @ upsample_matrix(W, x.dtype).T


def upsample2_backward_numpy(gy):
    """gx (B, C, H, W) = A_H^T gy A_W, the adjoint of :func:`upsample2_numpy`."""
    H, W = gy.shape[2] // 2, gy.shape[3] // 2
    return upsample_matrix(H, gy.dtype).T @ gy @ upsample_matrix(W, gy.dtype)


@njit(cache=True)
def _axis_taps(n, dtype):
    """(i0, i1, l) over the 2n output pixels of an axis of length n: output pixel d is
    (1 - l[d]) x[i0[d]] + l[d] x[i1[d]], with s = max((d + 1/2) / 2 - 1/2, 0), i0 = floor(s)."""
    i0 = np.empty(2 * n, np.int64)
    i1 = np.empty(2 * n, np.int64)
    lam = np.empty(2 * n, dtype)
    for d in range(2 * n):
        s = max((d + 0.5) * 0.5 - 0.5, 0.0)
        i0[d] = int(s)
        i1[d] = min(i0[d] + 1, n - 1)
        lam[d] = s - i0[d]
    return i0, i1, lam


@njit(cache=True, nogil=True)
def _upsample2(x, p0, p1, y):
    """The planes p0..p1 - 1 of y (planes, 2H, 2W): each output row blends two input rows along
    H, then spreads the blend along W."""
    H, W = x.shape[1], x.shape[2]
    y0, y1, ly = _axis_taps(H, x.dtype)
    x0, x1, lx = _axis_taps(W, x.dtype)
    row = np.empty(W, dtype=x.dtype)
    for p in range(p0, p1):
        for oy in range(2 * H):
            top, bottom, l = x[p, y0[oy]], x[p, y1[oy]], ly[oy]
            for i in range(W):
                row[i] = (1 - l) * top[i] + l * bottom[i]
            for ox in range(2 * W):
                y[p, oy, ox] = (1 - lx[ox]) * row[x0[ox]] + lx[ox] * row[x1[ox]]


@njit(cache=True, nogil=True)
def _upsample2_backward(gy, p0, p1, gx):
    """The planes p0..p1 - 1 of gx (planes, H, W): each output row's gradient is gathered along W
    with the same weights, then spread on its two input rows."""
    H, W = gx.shape[1], gx.shape[2]
    y0, y1, ly = _axis_taps(H, gy.dtype)
    x0, x1, lx = _axis_taps(W, gy.dtype)
    row = np.empty(W, dtype=gy.dtype)
    for p in range(p0, p1):
        gx[p] = 0
        for oy in range(2 * H):
            row[:] = 0
            for ox in range(2 * W):
                g = gy[p, oy, ox]
                row[x0[ox]] += (1 - lx[ox]) * g
                row[x1[ox]] += lx[ox] * g
            l = ly[oy]
            for i in range(W):
                gx[p, y0[oy], i] += (1 - l) * row[i]
                gx[p, y1[oy], i] += l * row[i]


@fast(upsample2_numpy)
def upsample2(x):
    """y = A_H x A_W^T, bilinear x2, as :func:`upsample2_numpy`. Fast: two taps per output pixel
    and axis, where the dense matrix products do n, planes shared over the cores."""
    B, C, H, W = x.shape
    y = np.empty((B, C, 2 * H, 2 * W), dtype=x.dtype)
    xs, ys = planes(x), planes(y)
    spread_range(lambda p0, p1: _upsample2(xs, p0, p1, ys), B * C)
    return y


@fast(upsample2_backward_numpy)
def upsample2_backward(gy):
    """gx = A_H^T gy A_W, as :func:`upsample2_backward_numpy`. Fast: two taps per output pixel and
    axis, where the dense matrix products do n, planes shared over the cores."""
    B, C, H2, W2 = gy.shape
    gx = np.empty((B, C, H2 // 2, W2 // 2), dtype=gy.dtype)
    gys, gxs = planes(gy), planes(gx)
    spread_range(lambda p0, p1: _upsample2_backward(gys, p0, p1, gxs), B * C)
    return gx
