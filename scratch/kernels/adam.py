"""Adam's update (PyTorch's rule) for one parameter, as one compiled pass over its memory.

    g <- g + wd p,   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

Its NumPy twin is the readable rule in ``scratch.optim.Adam.step`` (``fused=False``), held equal
to it by ``scratch_tests/test_optim.py``. ``p``, ``m`` and ``v`` are updated in place; ``g`` is
left untouched. The scalars are cast to the arrays' dtype first, so float32 buffers are updated
in float32 arithmetic (as PyTorch does).
"""

import math

import numpy as np

from ._jit import JIT, njit


def _constants(dtype, lr, beta1, beta2, eps, weight_decay, step):
    """(b1, 1 - b1, b2, 1 - b2, eps, wd, lr / (1 - b1^t), 1 / sqrt(1 - b2^t)) in ``dtype``."""
    c = (beta1, 1 - beta1, beta2, 1 - beta2, eps, weight_decay)
    c += (lr / (1 - beta1**step), 1 / math.sqrt(1 - beta2**step))
    return tuple(dtype.type(x) for x in c)


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


def adam_step(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One Adam step on 1-D arrays: one fused pass over memory instead of NumPy's ten."""
    _adam_loop(p, g, m, v, *_constants(p.dtype, lr, beta1, beta2, eps, weight_decay, step))


# the package's one switch: without Numba (or with NUMBA_DISABLE_JIT) the loop would run element
# by element in Python, far slower than the readable NumPy rule, so Adam then runs that rule
COMPILED = JIT
