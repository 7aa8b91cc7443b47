"""The one place numba is imported. Without numba (or with NUMBA_DISABLE_JIT=1) the kernels run
as plain Python over NumPy arrays: slower, but the package still works."""

try:
    from numba import get_num_threads, njit, prange
except ImportError:  # pragma: no cover - exercised only where numba is absent

    def njit(*args, **kwargs):
        """Identity decorator standing in for ``numba.njit``."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f

    prange = range

    def get_num_threads() -> int:
        return 1


__all__ = ["get_num_threads", "njit", "prange"]
