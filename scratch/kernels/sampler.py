"""The reverse diffusion step, fused: ``x_prev = c_x * x + c_eps * eps + sigma * z``, row by row.

DDPM (the book's mean and variance) and DDIM (Song et al. 2021, eq. 12) share this form; only the
per-row coefficients differ, and ``scratch.models.diffusion`` computes them. The fused kernel reads
``x``, ``eps`` and ``z`` once and writes ``x_prev`` once, where NumPy makes four temporaries of the
batch's size. The coefficients are float64; the result has ``x``'s dtype.
"""

import numpy as np

from ._jit import njit


def reverse_step_numpy(x, eps, noise, c_x, c_eps, sigma):
    """x_prev = c_x x + c_eps eps + sigma z.

    x, eps, noise: (B, D) (``noise`` None adds no noise); c_x, c_eps, sigma: (B,) float64.
    Returns x_prev (B, D) in x's dtype.
    """
    x_prev = c_x[:, None] * x + c_eps[:, None] * eps  # (B, D) float64
    if noise is not None:
        x_prev += sigma[:, None] * noise
    return x_prev.astype(x.dtype, copy=False)


@njit(cache=True)
def reverse_step(x, eps, noise, c_x, c_eps, sigma):
    """The fused Numba twin of :func:`reverse_step_numpy` (same signature, same result).

    Single-threaded on purpose: one step is a few microseconds of memory traffic, and a thread
    pool here would fight the BLAS threads of the model call that precedes every step."""
    B, D = x.shape
    x_prev = np.empty_like(x)
    for b in range(B):
        if noise is None:
            for i in range(D):
                x_prev[b, i] = c_x[b] * x[b, i] + c_eps[b] * eps[b, i]
        else:
            for i in range(D):
                x_prev[b, i] = c_x[b] * x[b, i] + c_eps[b] * eps[b, i] + sigma[b] * noise[b, i]
    return x_prev
