"""Check a backward pass against central finite differences in float64."""

import numpy as np

from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """The analytic and the numeric gradient disagree."""


def gradcheck(f, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4, seed=0):
    """Check the gradients of ``f(*inputs)`` with respect to every input.

    The output y is projected on a fixed random direction r, so one backward gives the analytic
    gradient of L = sum(y r); each element of each input is then moved by +-eps for the numeric
    one, (L(x + eps) - L(x - eps)) / (2 eps). Inputs are copied to float64. Raises GradcheckError
    naming the worst element (input, index, analytic, numeric) when
    |analytic - numeric| > atol + rtol |numeric|; returns True otherwise.
    """
    xs = [
        Tensor(np.array(getattr(x, "data", x), dtype=np.float64), requires_grad=True)
        for x in inputs
    ]
    y = f(*xs)
    r = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(r)
    worst = None  # (excess, input k, index, analytic, numeric)
    with no_grad():
        for k, x in enumerate(xs):
            analytic = np.zeros_like(x.data) if x.grad is None else x.grad.data
            for idx in np.ndindex(x.shape):
                old = x.data[idx]
                x.data[idx] = old + eps
                up = float(np.sum(f(*xs).data * r))
                x.data[idx] = old - eps
                down = float(np.sum(f(*xs).data * r))
                x.data[idx] = old
                numeric = (up - down) / (2 * eps)
                a = float(analytic[idx])
                excess = abs(a - numeric) - (atol + rtol * abs(numeric))
                if not np.isfinite(a) or (worst is None or excess > worst[0]):
                    worst = (excess if np.isfinite(a) else np.inf, k, idx, a, numeric)
    if worst is not None and worst[0] > 0:
        _, k, idx, a, n = worst
        raise GradcheckError(
            f"gradient of input {k} at index {idx}: analytic {a:.8g}, numeric {n:.8g} "
            f"(|difference| {abs(a - n):.3g} > atol {atol} + rtol {rtol} * |numeric|)"
        )
    return True
