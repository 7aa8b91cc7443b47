"""The one place numba is imported, and the one switch between a kernel and its NumPy twin.

Every kernel ``x`` in this package is written twice: ``x_numpy``, plain vectorised NumPy (the
readable version and the tests' oracle), and ``x``, compiled by Numba. ``@fast(x_numpy)`` on ``x``
binds the name to the compiled kernel where Numba is installed and ``NUMBA_DISABLE_JIT`` is not
set, and to the NumPy twin otherwise: a Numba loop body run by the Python interpreter would be
hundreds of times slower than NumPy's vectorised passes.
"""

try:
    from numba import config, get_num_threads, njit, prange

    JIT = not config.DISABLE_JIT
except ImportError:  # pragma: no cover - exercised only where numba is absent
    JIT = False

    def njit(*args, **kwargs):
        """Identity decorator standing in for ``numba.njit``."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f

    prange = range

    def get_num_threads() -> int:
        return 1


TWINS = {}  # "module.x" -> (x, x_numpy), every pair bound by ``fast``


def bind(kernel, twin, jit: bool):
    """``kernel`` where ``jit``, else ``twin``."""
    return kernel if jit else twin


def fast(twin):
    """Decorator: ``@fast(x_numpy) def x`` keeps ``x`` where Numba compiles, else binds ``x_numpy``."""

    def decorate(kernel):
        if twin.__name__ != kernel.__name__ + "_numpy":
            raise NameError(f"the twin of {kernel.__name__} is {twin.__name__}, not *_numpy")
        TWINS[f"{kernel.__module__}.{kernel.__name__}"] = (kernel, twin)
        return bind(kernel, twin, JIT)

    return decorate


__all__ = ["JIT", "TWINS", "bind", "fast", "get_num_threads", "njit", "prange"]
