"""Per-channel passes of BatchNorm2d over x (B, C, H, W): statistics, sums for the backward, and
one affine map, each reading its inputs once (NumPy makes a temporary of x's size per operation).

    channel_moments:  mu_c = mean x[:, c],  var_c = mean (x[:, c] - mu_c)^2  (two passes, float64)
    channel_sums:     s_c = sum gy[:, c],   r_c = sum gy[:, c] x[:, c]       (float64)
    channel_affine:   y[:, c] = a_c u[:, c] + d_c  (+ b_c v[:, c] when v is given)

Each pass takes a share of the channels per core (``spread``: plain threads, not a Numba thread
pool, which fights OpenBLAS's spinning threads between the convolutions). The sums may be reassociated
(``fastmath=REASSOC``), which lets LLVM vectorise them with several partial sums: faster than one
chain of float64 additions (benchmarks/README.md), and no less accurate.
"""

import numpy as np

from ._jit import fast, njit
from .spread import spread_range

AXES = (0, 2, 3)  # every axis but the channels'
REASSOC = {"reassoc", "contract"}  # LLVM may reorder the sums (not assume away NaN or inf)


def _channel(v):
    return v.reshape(1, -1, 1, 1)  # (C,) -> (1, C, 1, 1)


def channel_moments_numpy(x):
    """(mu, var), each (C,) float64: the mean and the biased variance of each channel of x."""
    mu = x.mean(axis=AXES, dtype=np.float64)
    var = np.mean(np.square(x - _channel(mu)), axis=AXES)
    return mu, var


def channel_sums_numpy(gy, x):
    """(s, r), each (C,) float64: s_c = sum gy[:, c], r_c = sum gy[:, c] x[:, c]."""
    return gy.sum(axis=AXES, dtype=np.float64), (gy * x).sum(axis=AXES, dtype=np.float64)


def channel_affine_numpy(u, a, d, v=None, b=None):
    """a_c u + d_c (+ b_c v), in u's dtype; a, d, b are (C,) float64."""
    y = _channel(a) * u + _channel(d)
    if v is not None:
        y += _channel(b) * v
    return y.astype(u.dtype, copy=False)


@njit(cache=True, fastmath=REASSOC, nogil=True)
def _moments(x, c0, c1, mu, var):
    """mu, var of channels c0..c1 - 1 of x, in place."""
    B, C, H, W = x.shape
    flat = x.reshape(B, C, H * W)
    n = B * H * W
    for c in range(c0, c1):
        total = 0.0
        for b in range(B):
            for i in range(H * W):
                total += flat[b, c, i]
        mu[c] = total / n
        total = 0.0
        for b in range(B):
            for i in range(H * W):
                diff = flat[b, c, i] - mu[c]
                total += diff * diff
        var[c] = total / n


@njit(cache=True, fastmath=REASSOC, nogil=True)
def _sums(gy, x, c0, c1, s, r):
    """s, r of channels c0..c1 - 1, in place."""
    B, C, H, W = x.shape
    g, xf = gy.reshape(B, C, H * W), x.reshape(B, C, H * W)
    for c in range(c0, c1):
        s_c, r_c = 0.0, 0.0
        for b in range(B):
            for i in range(H * W):
                s_c += g[b, c, i]
                r_c += g[b, c, i] * xf[b, c, i]
        s[c], r[c] = s_c, r_c


@njit(cache=True, nogil=True)
def _affine(u, a, d, v, b, c0, c1, y):
    """y[:, c] for the channels c0..c1 - 1, in place."""
    B, C, H, W = u.shape
    uf, yf = u.reshape(B, C, H * W), y.reshape(B, C, H * W)
    if v is None:
        for n in range(B):
            for c in range(c0, c1):
                for i in range(H * W):
                    yf[n, c, i] = a[c] * uf[n, c, i] + d[c]
    else:
        vf = v.reshape(B, C, H * W)
        for n in range(B):
            for c in range(c0, c1):
                for i in range(H * W):
                    yf[n, c, i] = a[c] * uf[n, c, i] + b[c] * vf[n, c, i] + d[c]


@fast(channel_moments_numpy)
def channel_moments(x):
    """mu_c = mean x[:, c], var_c = mean (x[:, c] - mu_c)^2, as :func:`channel_moments_numpy`
    (x C-contiguous). Fast: two reads of x with vectorised float64 sums, no temporary of x's size."""
    mu, var = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    spread_range(lambda c0, c1: _moments(x, c0, c1, mu, var), x.shape[1])
    return mu, var


@fast(channel_sums_numpy)
def channel_sums(gy, x):
    """s_c = sum gy[:, c], r_c = sum gy[:, c] x[:, c], as :func:`channel_sums_numpy` (C-contiguous).
    Fast: one read of gy and x together, with no gy x temporary."""
    s, r = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    spread_range(lambda c0, c1: _sums(gy, x, c0, c1, s, r), x.shape[1])
    return s, r


@fast(channel_affine_numpy)
def channel_affine(u, a, d, v=None, b=None):
    """y[:, c] = a_c u[:, c] + d_c (+ b_c v[:, c]), as :func:`channel_affine_numpy` (C-contiguous).
    Fast: one pass writing y, where NumPy makes a temporary of u's size per operation."""
    y = np.empty_like(u)
    spread_range(lambda c0, c1: _affine(u, a, d, v, b, c0, c1, y), u.shape[1])
    return y
