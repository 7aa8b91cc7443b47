"""2-D convolution as one matrix multiply: im2col (fused with the zero padding), BLAS, col2im.

For x (B, C, H, W) and W (O, C, kh, kw), the columns of one image are

    cols[(c, i, j), (b, oy, ox)] = x_pad[b, c, oy s + i, ox s + j]      # (C kh kw, B Ho Wo)

with all the images side by side in one matrix, so that the convolution (cross-correlation, as
in PyTorch) is ONE large sgemm (B separate small products run at less than half the speed):

    Y  = W2 @ cols + b,    W2 = W.reshape(O, C kh kw)      # (O, B Ho Wo), then y (B, O, Ho, Wo)
    dW2 = (cols @ GY^T)^T,  db = sum over (b, oy, ox) of gy   # GY = gy as (O, B Ho Wo)
    dcols = W2^T @ GY,      dx = col2im(dcols)  (adds the overlapping taps back)

The two transposes between (B, O, ...) and (O, B, ...) copy only output-sized arrays, 1/(C kh kw)
of the columns.

``im2col``/``col2im`` are Numba kernels (parallel over the B C planes, padding handled inline, so
no padded copy of x is made); ``im2col_numpy``/``col2im_numpy`` are their readable twins (pad,
then one strided slice per tap). Everything else is ``np.matmul`` on float32, i.e. OpenBLAS sgemm.
"""

import numpy as np

from ._jit import njit, prange


def out_size(n: int, k: int, stride: int, pad: int) -> int:
    """Output length of a convolution along one axis: floor((n + 2 pad - k) / stride) + 1."""
    return (n + 2 * pad - k) // stride + 1


# ---- im2col / col2im, NumPy twins ---------------------------------------------------------------


def im2col_numpy(x, kh, kw, stride, pad):
    """cols[(c, i, j), (b, oy, ox)] = x_pad[b, c, oy stride + i, ox stride + j]."""
    B, C, H, W = x.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C, kh, kw, B, Ho, Wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            tap = xp[
                :, :, i : i + stride * Ho : stride, j : j + stride * Wo : stride
            ]  # (B, C, Ho, Wo)
            cols[:, i, j] = tap.transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, B * Ho * Wo)


def col2im_numpy(cols, x_shape, kh, kw, stride, pad):
    """The adjoint of im2col: dx[b, c, y, x] = sum of the columns that read x_pad[b, c, y, x]."""
    B, C, H, W = x_shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(W, kw, stride, pad)
    cols = cols.reshape(C, kh, kw, B, Ho, Wo)
    dxp = np.zeros((B, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            tap = cols[:, i, j].transpose(1, 0, 2, 3)  # (B, C, Ho, Wo)
            dxp[:, :, i : i + stride * Ho : stride, j : j + stride * Wo : stride] += tap
    return dxp[:, :, pad : pad + H, pad : pad + W]


# ---- im2col / col2im, Numba ---------------------------------------------------------------------


@njit(parallel=True, cache=True)
def im2col(x, kh, kw, stride, pad):
    """Numba twin of :func:`im2col_numpy`: one (b, c) plane per task, zeros written inline."""
    B, C, H, W = x.shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    L = Ho * Wo
    cols = np.empty((C * kh * kw, B * L), dtype=x.dtype)
    for bc in prange(B * C):
        b, c = bc // C, bc % C
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for oy in range(Ho):
                    iy = oy * stride - pad + i
                    base = b * L + oy * Wo
                    if iy < 0 or iy >= H:
                        cols[row, base : base + Wo] = 0
                        continue
                    for ox in range(Wo):
                        ix = ox * stride - pad + j
                        cols[row, base + ox] = x[b, c, iy, ix] if 0 <= ix < W else 0
    return cols


@njit(parallel=True, cache=True)
def col2im(cols, x_shape, kh, kw, stride, pad):
    """Numba twin of :func:`col2im_numpy`: each task owns one (b, c) plane of dx (no races)."""
    B, C, H, W = x_shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    L = Ho * Wo
    dx = np.zeros((B, C, H, W), dtype=cols.dtype)
    for bc in prange(B * C):
        b, c = bc // C, bc % C
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for oy in range(Ho):
                    iy = oy * stride - pad + i
                    if iy < 0 or iy >= H:
                        continue
                    base = b * L + oy * Wo
                    for ox in range(Wo):
                        ix = ox * stride - pad + j
                        if 0 <= ix < W:
                            dx[b, c, iy, ix] += cols[row, base + ox]
    return dx


# ---- the convolution ----------------------------------------------------------------------------


def _is_pointwise(kh, kw, stride, pad):
    return kh == kw == 1 and stride == 1 and pad == 0


def conv2d_forward(x, W, b, stride, pad, to_cols=im2col):
    """y = W * x + b (cross-correlation). x (B, C, H, W), W (O, C, kh, kw), b (O,) or None.

    Returns y (B, O, Ho, Wo) and the columns (C kh kw, B Ho Wo) that the backward needs."""
    B, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(Wd, kw, stride, pad)
    if _is_pointwise(kh, kw, stride, pad):  # a 1x1 convolution: the columns are x itself
        cols = x.transpose(1, 0, 2, 3).reshape(C, B * H * Wd)
    else:
        cols = to_cols(x, kh, kw, stride, pad)  # (C kh kw, B Ho Wo)
    Y = W.reshape(O, -1) @ cols  # (O, B Ho Wo): one sgemm
    if b is not None:
        Y += b[:, None]
    y = Y.reshape(O, B, Ho, Wo).transpose(1, 0, 2, 3)  # (B, O, Ho, Wo)
    return np.ascontiguousarray(y), cols


def conv2d_backward(gy, cols, x_shape, W, stride, pad, need_dx=True, from_cols=col2im):
    """Gradients of y = W * x + b: returns (dx, dW, db); dx is None unless ``need_dx``."""
    B, O, Ho, Wo = gy.shape
    _, C, kh, kw = W.shape
    GY = np.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(O, B * Ho * Wo)  # (O, B L)
    dW = (cols @ GY.T).T.reshape(W.shape)  # (O, C, kh, kw); this operand order is the fast sgemm
    db = GY.sum(axis=1)  # (O,)
    dx = None
    if need_dx:
        dcols = W.reshape(O, -1).T @ GY  # (C kh kw, B L)
        if _is_pointwise(kh, kw, stride, pad):
            dx = np.ascontiguousarray(dcols.reshape(C, B, Ho, Wo).transpose(1, 0, 2, 3))
        else:
            dx = from_cols(dcols, x_shape, kh, kw, stride, pad)
    return dx, np.ascontiguousarray(dW), db


def conv2d_forward_numpy(x, W, b, stride, pad):
    """:func:`conv2d_forward` with the NumPy im2col (the twin used by tests and benchmarks)."""
    return conv2d_forward(x, W, b, stride, pad, to_cols=im2col_numpy)


def conv2d_backward_numpy(gy, cols, x_shape, W, stride, pad, need_dx=True):
    """:func:`conv2d_backward` with the NumPy col2im."""
    return conv2d_backward(gy, cols, x_shape, W, stride, pad, need_dx, from_cols=col2im_numpy)
