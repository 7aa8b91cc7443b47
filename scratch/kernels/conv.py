"""2-D convolution (PyTorch's cross-correlation) with the time in BLAS sgemm, not in copying.

Stride 1 (every convolution of the U-Net), the "shifted slices" form. Zero-pad each image and lay
all images side by side, channel by channel, in one flat matrix Xp (C, B Hp Wp). An output pixel
anchored at flat column m reads the input at columns m + off(i, j), off = i Wp + j, so

    Y = sum over taps (i, j) of W[:, :, i, j] @ Xp[:, off : off + n]     # (O, n), n = B Hp Wp

Neighbours share one band of padding: Hp = H + pad and Wp = W + pad, with the data after the
first pad rows and columns. A read past a row's right end lands in the next row's left padding,
one past an image's last row in the next image's top padding (or in the zero margin after the
last image), so these zeros serve both sides. Columns whose anchor falls in the padding are
computed and dropped: 7% of them at 28x28, 13% at 14x14, 23% at 7x7 (13%, 23% and 40% if each
image had its own border). The backward is the same kind of sum, with G = gy laid out on the same grid
(zeros on the dropped anchors):

    dW[:, :, i, j] = G @ Xp[:, off : off + n]^T,   db = sum of gy,
    dXp[:, q]      = sum over taps of W[:, :, i, j]^T G[:, q - off]     (then unpadded to dx).

Nine separate products would each have a small inner dimension (C, or O for dx) or, for dW, a
tiny result over a huge inner dimension, and OpenBLAS runs both shapes slowly. So every sum over
taps is computed one block of columns at a time. Where the inner dimension is small, the 9 shifted
views of the block are stacked (an im2col of the block, at most 4 MB, so that it stays in cache) and
multiplied in one sgemm of inner dimension 9 C: for dx this is faster than nine products
at the up path's shapes (192 -> 64 and 384 -> 128; figures in benchmarks/README.md). Where it is 128 or more, the nine products on
views are as fast or faster, without the copy. For dW either side may be the one shifted,
since dW[o, c, i, j] = sum_q G[o, q] Xp[c, q + off] = sum_q G[o, q - off] Xp[c, q]: the smaller
one is stacked (G when O < C, as in the up path).

3x3 convolutions with padding 1 (all but the U-Net's first and last) take a third road for the
forward and for dx: Winograd's F(2x2, 3x3) (``winograd``), 16 sgemms over 2x2 output tiles where
the sums above do 36 multiply-adds per tile, with the input and output transforms done a
cache-sized block of tiles at a time. dx is the same convolution of gy with the weights flipped
and transposed, read from G's padding (whose zeros serve gy as Xp's serve x). The weight
gradient keeps the shifted sums: in the Winograd domain it measured no faster.

Only x itself is kept for the backward (as PyTorch does; it is usually the ReLU output that the
ReLU keeps anyway); the backward pads it again, which costs a few percent. Other strides, and
inputs with few channels (the U-Net's first layer: 9 rank-1 products would each stream the whole
output through memory), use im2col: cols[(c, i, j), (b, oy, ox)] = x_pad[b, c, oy s + i, ox s + j],
Y = W2 @ cols (one sgemm), dW2 = (cols @ G^T)^T, dx = col2im(W2^T @ G).

The blocks of every sum are spread over the cores (``spread``): each core takes its share of
the blocks with single-threaded sgemms, so the work between the sgemms (stacking, Winograd's
transforms) runs on all cores and no sgemm waits for another core to finish its part.

The padded layout's moves (``pad_flat``, ``unpad_flat``) are NumPy strided copies, faster here than
a compiled loop. ``im2col`` and ``col2im`` are Numba kernels, each beside a NumPy twin with the same
signature. They run on one thread: they are memory-bound, and a parallel region started right
after an sgemm fights OpenBLAS's still-spinning threads for the cores. The route is chosen in ``choose_method``.
"""

import numpy as np

from . import winograd
from ._jit import fast, njit
from .spread import block_length, spread


def out_size(n: int, k: int, stride: int, pad: int) -> int:
    """Output length of a convolution along one axis: floor((n + 2 pad - k) / stride) + 1."""
    return (n + 2 * pad - k) // stride + 1


# ---- the flat padded layout ----------------------------------------------------------------------
# Plain NumPy, not Numba: these are strided copies of rows of W floats, which NumPy's copy loops
# move faster than a compiled loop over the same rows, so there is no kernel to twin. pad_flat,
# on every convolution's path, copies a share of the channels per core.


def pad_flat(x, Hp, Wp, top, left, front, back):
    """Z (C, front + B Hp Wp + back), zeros but Z[c, front + b Hp Wp + (y + top) Wp + x + left]
    = x[b, c, y, x], for x (B, C, H, W)."""
    B, C, H, W = x.shape
    Z = np.empty((C, front + B * Hp * Wp + back), dtype=x.dtype)
    grid = Z[:, front : front + B * Hp * Wp].reshape(C, B, Hp, Wp)  # a view into Z

    def run(channels):  # a share of the channels per core
        c0, c1 = channels[0], channels[-1] + 1
        Z[c0:c1] = 0
        grid[c0:c1, :, top : top + H, left : left + W] = x[:, c0:c1].transpose(1, 0, 2, 3)

    spread(run, range(C))
    return Z


def unpad_flat(Z, B, Hp, Wp, top, left, H, W, front):
    """The inverse of :func:`pad_flat`: x (B, C, H, W) read back from Z."""
    grid = Z[:, front : front + B * Hp * Wp].reshape(-1, B, Hp, Wp)
    return np.ascontiguousarray(grid[:, :, top : top + H, left : left + W].transpose(1, 0, 2, 3))


BLOCK_BYTES = 4 * 2**20  # a stacked block this size stays in cache (the best of 2-32 MB)


def stack_shifts(S, offsets, c0, m, out=None):
    """The block [S[:, c0 + off_t : c0 + off_t + m] for t] stacked tap by tap: (T K, m), for
    S (K, >= c0 + max off + m); written into ``out`` (>= T K rows, >= m columns) when given."""
    K = S.shape[0]
    out = np.empty((len(offsets) * K, m), dtype=S.dtype) if out is None else out[:, :m]
    for t, off in enumerate(offsets):
        out[t * K : (t + 1) * K] = S[:, c0 + off : c0 + off + m]
    return out


def shifted_matmul(W2, X, offsets, n, block_bytes=BLOCK_BYTES):
    """sum_t W2[:, t K : (t + 1) K] @ X[:, off_t : off_t + n] for W2 (R, T K), X (K, >= max off
    + n), one block of columns at a time (its temporary under ``block_bytes``).

    With a small inner dimension K (below 128, or below R: the dx of the U-Net's up path), the
    shifts of each block are stacked and multiplied in one sgemm of inner dimension T K; otherwise
    the T products run on views of X and are summed, which avoids the stacking copy."""
    T, K = len(offsets), X.shape[0]
    R = W2.shape[0]
    out = np.empty((R, n), dtype=X.dtype)
    if K < 128 or K < R:
        m = block_length(n, block_bytes // (T * K * X.itemsize), 256)  # columns per block

        def run(starts):
            block = np.empty((T * K, m), dtype=X.dtype)
            for c0 in starts:
                mm = min(m, n - c0)
                np.matmul(W2, stack_shifts(X, offsets, c0, mm, block), out=out[:, c0 : c0 + mm])

    else:
        Ws = np.ascontiguousarray(W2.reshape(R, T, K).transpose(1, 0, 2))  # (T, R, K)
        m = block_length(n, block_bytes // (R * X.itemsize), 256)

        def run(starts):
            tmp = np.empty((R, m), dtype=X.dtype)
            for c0 in starts:
                mm = min(m, n - c0)
                acc, t = out[:, c0 : c0 + mm], tmp[:, :mm]
                np.matmul(Ws[0], X[:, c0 + offsets[0] : c0 + offsets[0] + mm], out=acc)
                for k in range(1, T):
                    np.matmul(Ws[k], X[:, c0 + offsets[k] : c0 + offsets[k] + mm], out=t)
                    acc += t

    spread(run, range(0, n, m))
    return out


def stacked_weight_grad(A, S, offsets, n, block_bytes=BLOCK_BYTES):
    """(R, T K) for A (R, >= n), S (K, >= max off + n): sum over column blocks of
    A[:, blk] @ [S[:, off_t + blk] for t]^T, i.e. the gradient of every tap at once."""
    T, K = len(offsets), S.shape[0]
    m = block_length(n, block_bytes // (T * K * S.itemsize), 256)  # columns per block

    def run(starts):  # the sum over these blocks
        block = np.empty((T * K, m), dtype=S.dtype)
        out_t = np.zeros((T * K, A.shape[0]), dtype=A.dtype)
        for c0 in starts:
            mm = min(m, n - c0)
            out_t += stack_shifts(S, offsets, c0, mm, block) @ A[:, c0 : c0 + mm].T  # fast order
        return out_t

    return sum(spread(run, range(0, n, m))).T


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


@fast(im2col_numpy)
@njit(cache=True)
def im2col(x, kh, kw, stride, pad):
    """cols[(c, i, j), (b, oy, ox)] = x_pad[b, c, oy s + i, ox s + j], as :func:`im2col_numpy`.
    Fast: one pass plane by plane, the padding's zeros written inline (no padded copy of x)."""
    B, C, H, W = x.shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    L = Ho * Wo
    cols = np.empty((C * kh * kw, B * L), dtype=x.dtype)
    for bc in range(B * C):
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


@fast(col2im_numpy)
@njit(cache=True)
def col2im(cols, x_shape, kh, kw, stride, pad):
    """dx[b, c, y, x] = sum of the columns that read x_pad[b, c, y, x], as :func:`col2im_numpy`.
    Fast: one pass adding straight into dx, plane by plane (no padded temporary)."""
    B, C, H, W = x_shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    L = Ho * Wo
    dx = np.zeros((B, C, H, W), dtype=cols.dtype)
    for bc in range(B * C):
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

MIN_SHIFTED_CHANNELS = 8  # below this, the taps' products are rank-C updates: im2col is faster
METHODS = ("im2col", "shifted", "winograd")


def choose_method(x_shape, W_shape, stride: int, pad: int, method=None) -> str:
    """The route of a convolution, chosen here and only here: ``method`` if given (checked to
    apply), else winograd for 3x3 with padding 1, shifted slices for other stride-1 convolutions
    with at least MIN_SHIFTED_CHANNELS input channels, im2col for the rest. The shifted layout's
    shared padding band needs pad < the smaller kernel side."""
    C, (kh, kw) = x_shape[1], W_shape[2:]
    can_shift = stride == 1 and pad < min(kh, kw)
    can_winograd = can_shift and (kh, kw, pad) == (3, 3, 1)
    if method is None:
        if not can_shift or C < MIN_SHIFTED_CHANNELS:
            return "im2col"
        return "winograd" if can_winograd else "shifted"
    if method not in METHODS:
        raise ValueError(f"conv2d: method must be one of {METHODS}, got {method!r}")
    if (method == "shifted" and not can_shift) or (method == "winograd" and not can_winograd):
        need = "stride 1, 3x3, padding 1" if method == "winograd" else "stride 1, padding < kernel"
        raise ValueError(f"conv2d: method {method!r} needs {need}; got stride {stride}, "
                         f"kernel {kh}x{kw}, padding {pad}")  # fmt: skip
    return method


def conv2d_forward(x, W, b, stride, pad, method=None):
    """y = W * x + b. x (B, C, H, W), W (O, C, kh, kw), b (O,) or None; ``method`` one of
    METHODS, or None for :func:`choose_method`'s default.

    Returns y (B, O, Ho, Wo) and what the backward needs (x itself, or the columns)."""
    method = choose_method(x.shape, W.shape, stride, pad, method)
    B, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    Ho, Wo = out_size(H, kh, stride, pad), out_size(Wd, kw, stride, pad)
    if method != "im2col":
        Hp, Wp = H + pad, Wd + pad  # one padding band shared by neighbours
        offsets = [i * Wp + j for i in range(kh) for j in range(kw)]
        Xp = pad_flat(x, Hp, Wp, pad, pad, 0, offsets[-1])  # (C, B Hp Wp + max off)
        if method == "winograd":
            return winograd.conv3x3(Xp, Wp, (B, O, Ho, Wo), W, b), x
        W2 = W.transpose(0, 2, 3, 1).reshape(O, kh * kw * C)  # (O, (taps, C))
        Y = shifted_matmul(W2, Xp, offsets, B * Hp * Wp)  # (O, B Hp Wp)
        if b is not None:
            Y += b[:, None]
        return unpad_flat(Y, B, Hp, Wp, 0, 0, Ho, Wo, 0), x
    cols = im2col(x, kh, kw, stride, pad)  # (C kh kw, B Ho Wo)
    Y = W.reshape(O, -1) @ cols  # (O, B Ho Wo): one sgemm
    if b is not None:
        Y += b[:, None]
    y = Y.reshape(O, B, Ho, Wo).transpose(1, 0, 2, 3)  # (B, O, Ho, Wo)
    return np.ascontiguousarray(y), cols


def conv2d_backward(gy, saved, x_shape, W, stride, pad, need_dx=True, method=None):
    """Gradients of y = W * x + b: returns (dx, dW, db); dx is None unless ``need_dx``.
    ``saved`` is the second result of :func:`conv2d_forward`, called with the same ``method``."""
    method = choose_method(x_shape, W.shape, stride, pad, method)
    B, O, Ho, Wo = gy.shape
    _, C, kh, kw = W.shape
    db = gy.sum(axis=(0, 2, 3))  # (O,)
    dx = None
    if method != "im2col":
        H, Wd = x_shape[2], x_shape[3]
        Hp, Wp = H + pad, Wd + pad
        n, offsets = B * Hp * Wp, [i * Wp + j for i in range(kh) for j in range(kw)]
        front = offsets[-1]
        Xp = pad_flat(saved, Hp, Wp, pad, pad, 0, front)  # x padded again, as in forward
        G = pad_flat(gy, Hp, Wp, 0, 0, front, front)  # (O, front + n + front): gy on x's grid
        if O < C:  # shift G: dW^T (C, taps O)
            dWt = stacked_weight_grad(Xp, G, [front - off for off in offsets], n)
            dW = np.ascontiguousarray(dWt.reshape(C, kh, kw, O).transpose(3, 0, 1, 2))
        else:  # shift Xp: dW (O, taps C)
            dW = stacked_weight_grad(G[:, front:], Xp, offsets, n)
            dW = np.ascontiguousarray(dW.reshape(O, kh, kw, C).transpose(0, 3, 1, 2))
        if need_dx and method == "winograd":  # dx = W^T flipped * gy, padding 1
            Gp = G[:, front - Wp - 1 :]  # the same zeros make gy's padding at (1, 1)
            W_flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, O, 3, 3)
            dx = winograd.conv3x3(Gp, Wp, x_shape, W_flipped, None)
        elif need_dx:
            W2 = W.transpose(1, 2, 3, 0).reshape(C, kh * kw * O)  # (C, (taps, O))
            dXp = shifted_matmul(W2, G, [front - off for off in offsets], n)  # (C, n)
            dx = unpad_flat(dXp, B, Hp, Wp, pad, pad, H, Wd, 0)
        return dx, dW, db
    cols = saved
    G = np.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(O, B * Ho * Wo)  # (O, B L)
    dW = np.ascontiguousarray((cols @ G.T).T).reshape(W.shape)  # the fast sgemm operand order
    if need_dx:
        dx = col2im(W.reshape(O, -1).T @ G, x_shape, kh, kw, stride, pad)
    return dx, dW, db
