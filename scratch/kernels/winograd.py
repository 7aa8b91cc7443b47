"""Winograd's minimal filtering F(2x2, 3x3): a 3x3 convolution with 2.25x fewer multiplications.

Lavin and Gray, "Fast algorithms for convolutional neural networks" (2016). Cut the output into
2x2 tiles. The tile whose top-left output pixel is (r, s) reads the 4x4 patch d of the input
padded by 1 that starts at (r, s). For one input channel and one output channel, with the 3x3
filter g,

    Y_tile = A^T [ (G g G^T) * (B^T d B) ] A         (* elementwise: 16 products instead of 36)

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

Summed over the input channels, the 16 elementwise products become 16 matrix products. With
U[k] = (G g G^T)[k] for every (o, c): (O, C), and V[k] = (B^T d B)[k] for every (c, tile):
(C, tiles), M[k] = U[k] @ V[k] is (O, tiles), and A^T M A gives every tile's output. The sgemms
do 16 C O multiply-adds per tile where the direct convolution does 36 C O. The transforms cost
only O(C + O) per tile, but V and M hold 4x as many numbers as the input and output. Done for
all tiles at once, moving them through memory costs more than the sgemms save. So the tiles
are transformed, multiplied and transformed back one block at a time, and V and M stay in cache;
the blocks are shared out over the cores (``spread``). In float32 the result differs from the
direct sums by under 1e-6 of its largest value on the U-Net's shapes.

The input is the flat padded layout of ``conv`` (Hp = H + 1, Wp = W + 1, one zero band shared by
neighbours): the patch of the tile anchored at flat column a is Xp[c, a + u Wp + v]. The output is
written straight into y (B, O, H, W): when H or W is odd, the last tiles write only their pixels
inside the image.
"""

import numpy as np

from ._jit import fast, njit
from .spread import block_length, spread

G_MATRIX = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])

BLOCK_BYTES = 4 * 2**20  # V and M of one block of tiles (the best of 1-16 MB)
ROW_PAD = 16  # floats between V's (and M's) 16 rows, so that they do not share cache sets


def tile_corners(B: int, H: int, W: int):
    """(b, r, s) of every tile's top-left output pixel, (B ceil(H/2) ceil(W/2), 3), row-major."""
    b, r, s = np.meshgrid(np.arange(B), np.arange(0, H, 2), np.arange(0, W, 2), indexing="ij")
    return np.stack([b.ravel(), r.ravel(), s.ravel()], axis=1)


# ---- the transforms, NumPy twins ----------------------------------------------------------------


def transform_weights_numpy(W):
    """(O, C, 16) for W (O, C, 3, 3): [o, c, 4 u + v] = (G W[o, c] G^T)[u, v]."""
    G = G_MATRIX.astype(W.dtype)
    return np.einsum("ui,ocij,vj->ocuv", G, W, G).reshape(*W.shape[:2], 16)


def transform_input_numpy(Xp, anchors, Wp, V):
    """V[4 u + v, c, t] = (B^T d_t B)[u, v], d_t[i, j] = Xp[c, anchors[t] + i Wp + j]."""
    taps = (np.arange(4)[:, None] * Wp + np.arange(4)).ravel()  # (16,)
    d = Xp[:, anchors[:, None] + taps].reshape(Xp.shape[0], -1, 4, 4)  # (C, tiles, 4, 4)
    BT = B_T.astype(Xp.dtype)
    V[...] = np.einsum("ui,ctij,vj->uvct", BT, d, BT).reshape(V.shape)


def transform_output_numpy(M, corners, bias, y):
    """y[b, o, r + i, s + j] = (A^T M_t A)[i, j] + bias[o], M_t[u, v] = M[4 u + v, o, t], for the
    pixels inside y."""
    AT = A_T.astype(M.dtype)
    Y = np.einsum("iu,uvot,jv->ijot", AT, M.reshape(4, 4, *M.shape[1:]), AT)  # (2, 2, O, tiles)
    b, r, s = corners.T
    H, W = y.shape[2:]
    for i in range(2):
        for j in range(2):
            inside = (r + i < H) & (s + j < W)
            y[b[inside], :, r[inside] + i, s[inside] + j] = Y[i, j][:, inside].T + bias


# ---- the transforms, Numba ----------------------------------------------------------------------


@njit(cache=True, inline="always")
def _bt(d0, d1, d2, d3):
    """B^T (d0, d1, d2, d3)."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@njit(cache=True, inline="always")
def _g(g0, g1, g2):
    """G (g0, g1, g2)."""
    return g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2


@njit(cache=True, inline="always")
def _at(m0, m1, m2, m3):
    """A^T (m0, m1, m2, m3)."""
    return m0 + m1 + m2, m1 - m2 - m3


@fast(transform_weights_numpy)
@njit(cache=True)
def transform_weights(W):
    """U[o, c] = G W[o, c] G^T, as :func:`transform_weights_numpy`. Fast: G g G^T =
    (G (G g)^T)^T written out as scalar additions, with no einsum temporaries."""
    U = np.empty((W.shape[0], W.shape[1], 16), dtype=W.dtype)
    for o in range(W.shape[0]):
        for c in range(W.shape[1]):
            g, u = W[o, c], U[o, c]
            h00, h10, h20, h30 = _g(g[0, 0], g[1, 0], g[2, 0])  # the columns of G g
            h01, h11, h21, h31 = _g(g[0, 1], g[1, 1], g[2, 1])
            h02, h12, h22, h32 = _g(g[0, 2], g[1, 2], g[2, 2])
            u[0], u[1], u[2], u[3] = _g(h00, h01, h02)  # its rows
            u[4], u[5], u[6], u[7] = _g(h10, h11, h12)
            u[8], u[9], u[10], u[11] = _g(h20, h21, h22)
            u[12], u[13], u[14], u[15] = _g(h30, h31, h32)
    return U


@fast(transform_input_numpy)
@njit(cache=True, nogil=True)
def transform_input(Xp, anchors, Wp, V):
    """V[:, c, t] = B^T d_t B, as :func:`transform_input_numpy`. Fast: each 4x4 patch is read once
    from Xp and transformed by additions in registers (B^T (B^T d)^T)^T, where NumPy first gathers
    a copy of every patch."""
    for c in range(V.shape[1]):
        x = Xp[c]
        for t in range(V.shape[2]):
            a0 = anchors[t]
            a1, a2, a3 = a0 + Wp, a0 + 2 * Wp, a0 + 3 * Wp
            d00, d10, d20, d30 = _bt(x[a0], x[a1], x[a2], x[a3])  # the columns of B^T d
            d01, d11, d21, d31 = _bt(x[a0 + 1], x[a1 + 1], x[a2 + 1], x[a3 + 1])
            d02, d12, d22, d32 = _bt(x[a0 + 2], x[a1 + 2], x[a2 + 2], x[a3 + 2])
            d03, d13, d23, d33 = _bt(x[a0 + 3], x[a1 + 3], x[a2 + 3], x[a3 + 3])
            V[0, c, t], V[1, c, t], V[2, c, t], V[3, c, t] = _bt(d00, d01, d02, d03)  # its rows
            V[4, c, t], V[5, c, t], V[6, c, t], V[7, c, t] = _bt(d10, d11, d12, d13)
            V[8, c, t], V[9, c, t], V[10, c, t], V[11, c, t] = _bt(d20, d21, d22, d23)
            V[12, c, t], V[13, c, t], V[14, c, t], V[15, c, t] = _bt(d30, d31, d32, d33)


@fast(transform_output_numpy)
@njit(cache=True, nogil=True)
def transform_output(M, corners, bias, y):
    """y's tile t = A^T M_t A + bias, as :func:`transform_output_numpy`. Fast: (A^T (A^T M)^T)^T
    by additions in registers, written straight into y (no scatter through index arrays)."""
    H, W = y.shape[2], y.shape[3]
    for o in range(M.shape[1]):
        for t in range(M.shape[2]):
            b, r, s = corners[t, 0], corners[t, 1], corners[t, 2]
            m00, m10 = _at(M[0, o, t], M[4, o, t], M[8, o, t], M[12, o, t])  # columns of A^T M
            m01, m11 = _at(M[1, o, t], M[5, o, t], M[9, o, t], M[13, o, t])
            m02, m12 = _at(M[2, o, t], M[6, o, t], M[10, o, t], M[14, o, t])
            m03, m13 = _at(M[3, o, t], M[7, o, t], M[11, o, t], M[15, o, t])
            y00, y01 = _at(m00, m01, m02, m03)  # its rows
            y10, y11 = _at(m10, m11, m12, m13)
            y[b, o, r, s] = y00 + bias[o]
            if s + 1 < W:
                y[b, o, r, s + 1] = y01 + bias[o]
            if r + 1 < H:
                y[b, o, r + 1, s] = y10 + bias[o]
                if s + 1 < W:
                    y[b, o, r + 1, s + 1] = y11 + bias[o]


def blocks(buffer, rows: int, n: int):
    """A (16, rows, n) view of ``buffer`` whose 16 matrices lie ROW_PAD floats apart."""
    return buffer[: 16 * (rows * n + ROW_PAD)].reshape(16, -1)[:, : rows * n].reshape(16, rows, n)


def conv3x3(Xp, Wp, y_shape, W, b, block_bytes=BLOCK_BYTES):
    """y (B, O, H, W) = W * x + b for a 3x3 kernel, stride 1, padding 1, from x's flat padded
    layout Xp (C, B Hp Wp + >= 2 Wp + 2) with Hp = H + 1, Wp = W + 1 and the data at (1, 1)."""
    B, O, H, Wd = y_shape
    C = Xp.shape[0]
    corners = tile_corners(B, H, Wd)
    anchors = corners[:, 0] * ((H + 1) * Wp) + corners[:, 1] * Wp + corners[:, 2]
    U = np.ascontiguousarray(transform_weights(W).transpose(2, 0, 1))  # (16, O, C)
    bias = np.zeros(O, Xp.dtype) if b is None else b
    y = np.empty(y_shape, dtype=Xp.dtype)
    n = len(anchors)
    m = block_length(n, block_bytes // (16 * (C + O) * Xp.itemsize), 64)  # tiles per block

    def run(starts):  # the blocks starting at these tiles, with their own V and M
        V_buffer = np.empty(16 * (C * m + ROW_PAD), dtype=Xp.dtype)
        M_buffer = np.empty(16 * (O * m + ROW_PAD), dtype=Xp.dtype)
        for t0 in starts:
            mm = min(m, n - t0)
            V, M = blocks(V_buffer, C, mm), blocks(M_buffer, O, mm)
            transform_input(Xp, anchors[t0 : t0 + mm], Wp, V)
            np.matmul(U, V, out=M)
            transform_output(M, corners[t0 : t0 + mm], bias, y)

    spread(run, range(0, n, m))
    return y
