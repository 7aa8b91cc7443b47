"""Resampling an image by 2: 2x2 max-pooling down, bilinear interpolation up (PyTorch semantics).

Max-pool (kernel 2, stride 2, odd rows/columns dropped as PyTorch's floor mode does):

    y[b, c, i, j] = max over (p, q) in {0, 1}^2 of x[b, c, 2i + p, 2j + q]

and the backward sends gy to the arg-max (the first one in row-major order on ties), recorded in
forward as ``arg = 2 p + q``.

Bilinear x2 upsampling with ``align_corners=False``: the output pixel centre d maps to the source
coordinate s = max((d + 1/2) / 2 - 1/2, 0); with i0 = floor(s), i1 = min(i0 + 1, n - 1) and
l = s - i0, the value is (1 - l) x[i0] + l x[i1], first along H, then along W. Along one axis this is
a matrix A (2n, n), so y = A_h x A_w^T and the backward is gx = A_h^T gy A_w: that is the NumPy
twin; the Numba kernels compute the same sums directly.
"""

import numpy as np

from ._jit import njit

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


@njit(cache=True)
def maxpool2(x):
    """Numba twin of :func:`maxpool2_numpy`."""
    B, C, H, W = x.shape
    Ho, Wo = H // 2, W // 2
    y = np.empty((B, C, Ho, Wo), dtype=x.dtype)
    arg = np.empty((B, C, Ho, Wo), dtype=np.int8)
    for bc in range(B * C):
        b, c = bc // C, bc % C
        for i in range(Ho):
            for j in range(Wo):
                best, k = x[b, c, 2 * i, 2 * j], 0
                for t in range(1, 4):
                    v = x[b, c, 2 * i + t // 2, 2 * j + t % 2]
                    if v > best or (v != v and best == best):  # NaN wins, as in argmax
                        best, k = v, t
                y[b, c, i, j] = best
                arg[b, c, i, j] = k
    return y, arg


@njit(cache=True)
def maxpool2_backward(gy, arg, x_shape):
    """Numba twin of :func:`maxpool2_backward_numpy`."""
    B, C, H, W = x_shape
    Ho, Wo = gy.shape[2], gy.shape[3]
    gx = np.zeros((B, C, H, W), dtype=gy.dtype)
    for bc in range(B * C):
        b, c = bc // C, bc % C
        for i in range(Ho):
            for j in range(Wo):
                k = arg[b, c, i, j]
                gx[b, c, 2 * i + k // 2, 2 * j + k % 2] = gy[b, c, i, j]
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


@njit(cache=True)
def upsample2(x):
    """Numba twin of :func:`upsample2_numpy`: each output row blends two input rows along H,
    then spreads the blend along W."""
    B, C, H, W = x.shape
    y0, y1, ly = _axis_taps(H, x.dtype)
    x0, x1, lx = _axis_taps(W, x.dtype)
    y = np.empty((B, C, 2 * H, 2 * W), dtype=x.dtype)
    row = np.empty(W, dtype=x.dtype)
    for b in range(B):
        for c in range(C):
            for oy in range(2 * H):
                top, bottom, l = x[b, c, y0[oy]], x[b, c, y1[oy]], ly[oy]
                for i in range(W):
                    row[i] = (1 - l) * top[i] + l * bottom[i]
                for ox in range(2 * W):
                    y[b, c, oy, ox] = (1 - lx[ox]) * row[x0[ox]] + lx[ox] * row[x1[ox]]
    return y


@njit(cache=True)
def upsample2_backward(gy):
    """Numba twin of :func:`upsample2_backward_numpy`: each output row's gradient is gathered
    along W with the same weights, then spread on its two input rows."""
    B, C, H2, W2 = gy.shape
    H, W = H2 // 2, W2 // 2
    y0, y1, ly = _axis_taps(H, gy.dtype)
    x0, x1, lx = _axis_taps(W, gy.dtype)
    gx = np.zeros((B, C, H, W), dtype=gy.dtype)
    row = np.empty(W, dtype=gy.dtype)
    for b in range(B):
        for c in range(C):
            for oy in range(H2):
                row[:] = 0
                for ox in range(W2):
                    g = gy[b, c, oy, ox]
                    row[x0[ox]] += (1 - lx[ox]) * g
                    row[x1[ox]] += lx[ox] * g
                l = ly[oy]
                for i in range(W):
                    gx[b, c, y0[oy], i] += (1 - l) * row[i]
                    gx[b, c, y1[oy], i] += l * row[i]
    return gx
