"""Adam's update over flat parameter buffers (PyTorch's rule), in NumPy and in Numba.

    g <- g + wd p,   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

``p``, ``m`` and ``v`` are updated in place; ``g`` is left untouched. The scalars are cast to the
arrays' dtype first, so float32 buffers are updated in float32 arithmetic (as PyTorch does).
"""

import math

import numpy as np

from ._jit import njit


def _constants(dtype, lr, beta1, beta2, eps, weight_decay, step):
    """(b1, 1 - b1, b2, 1 - b2, eps, wd, lr / (1 - b1^t), 1 / sqrt(1 - b2^t)) in ``dtype``."""
    c = (beta1, 1 - beta1, beta2, 1 - beta2, eps, weight_decay)
    c += (lr / (1 - beta1**step), 1 / math.sqrt(1 - beta2**step))
    return tuple(dtype.type(x) for x in c)


def adam_step_numpy(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One Adam step on 1-D arrays (the readable twin)."""
    b1, c1, b2, c2, eps, wd, step_size, inv_bc2_sqrt = _constants(
        p.dtype, lr, beta1, beta2, eps, weight_decay, step
    )
    if weight_decay:
        g = g + wd * p
    m *= b1
    m += c1 * g
    v *= b2
    v += c2 * (g * g)
    p -= step_size * m / (np.sqrt(v) * inv_bc2_sqrt + eps)


# error_model="numpy" lets LLVM vectorise the division (no ZeroDivisionError check); one thread,
# because Numba's worker threads and the BLAS threads fight over the cores between matmuls
@njit(cache=True, error_model="numpy")
def _adam_loop(p, g, m, v, b1, c1, b2, c2, eps, wd, step_size, inv_bc2_sqrt):
    for i in range(p.shape[0]):
        gi = g[i] + wd * p[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= step_size * mi / (np.sqrt(vi) * inv_bc2_sqrt + eps)


def adam_step_numba(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One Adam step on 1-D arrays: one fused pass over memory instead of NumPy's ten."""
    _adam_loop(p, g, m, v, *_constants(p.dtype, lr, beta1, beta2, eps, weight_decay, step))


# compiled when Numba is there (a dispatcher has .py_func); the NumPy twin otherwise, because an
# uncompiled element loop in Python would be far slower than NumPy's vectorised passes
adam_step = adam_step_numba if hasattr(_adam_loop, "py_func") else adam_step_numpy
