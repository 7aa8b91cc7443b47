"""Adam's update over flat parameter buffers (PyTorch's rule), in NumPy and in Numba.

    g <- g + wd p,   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

``p``, ``m`` and ``v`` are updated in place; ``g`` is left untouched.
"""

import math

import numpy as np

from ._jit import njit, prange


def adam_step_numpy(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One Adam step on 1-D arrays (the readable twin)."""
    if weight_decay:
        g = g + weight_decay * p
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * (g * g)
    step_size = lr / (1 - beta1**step)
    bc2_sqrt = math.sqrt(1 - beta2**step)
    p -= step_size * m / (np.sqrt(v) / bc2_sqrt + eps)


@njit(cache=True, parallel=True, fastmath=False)
def adam_step_numba(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One Adam step on 1-D arrays: one pass over memory instead of NumPy's ten."""
    step_size = lr / (1 - beta1**step)
    bc2_sqrt = math.sqrt(1 - beta2**step)
    for i in prange(p.shape[0]):
        gi = g[i] + weight_decay * p[i]
        mi = beta1 * m[i] + (1 - beta1) * gi
        vi = beta2 * v[i] + (1 - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= step_size * mi / (math.sqrt(vi) / bc2_sqrt + eps)


# compiled when Numba is there (a dispatcher has .py_func); the NumPy twin otherwise, because an
# uncompiled element loop in Python would be far slower than NumPy's vectorised passes
adam_step = adam_step_numba if hasattr(adam_step_numba, "py_func") else adam_step_numpy
