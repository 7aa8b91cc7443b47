"""Spread a kernel's blocks over the cores, each core with its own single-threaded sgemms.

The convolutions cut their work into cache-sized blocks of columns: a small sgemm per block, and
between the sgemms serial work (Winograd's transforms, stacking shifted views). Left to itself,
OpenBLAS splits each small sgemm over both cores and makes them wait for each other at its end,
and the work between runs on one core. Given half of the blocks each, two threads that each call
a single-threaded sgemm keep both cores busy all the time (figures in benchmarks/README.md).

A thread's own sgemm thread count is set with OpenBLAS's ``openblas_set_num_threads_local``
(0.3.27 on), in the OpenBLAS that NumPy's wheels ship. Where it is missing (another BLAS, an older
OpenBLAS) the blocks run one after the other, as before. NumPy releases the GIL in its copies and
sgemms, and the Numba kernels run this way (Winograd's transforms, the BatchNorm and resampling
passes, which take a share of the channels or planes each) are compiled ``nogil``.
"""

import ctypes
import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._jit import get_num_threads


def _find_set_num_threads_local():
    """NumPy's OpenBLAS ``openblas_set_num_threads_local(n) -> previous n``, or None."""
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    for path in sorted(glob.glob(os.path.join(numpy_dir, "numpy.libs", "*openblas*"))):
        try:
            set_local = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        set_local.argtypes, set_local.restype = [ctypes.c_int], ctypes.c_int
        return set_local
    return None


SET_NUM_THREADS_LOCAL = _find_set_num_threads_local()
POOL_NAME = "scratch-spread"
_pool, _pool_size, _pool_pid = None, 0, None


def threads() -> int:
    """How many threads ``spread`` uses: Numba's thread count, or 1 without a thread-local BLAS."""
    return get_num_threads() if SET_NUM_THREADS_LOCAL is not None else 1


def block_length(n: int, fits: int, least: int) -> int:
    """Columns (or tiles) per block out of n: as many as fit in cache (``fits``, at least
    ``least``), in a number of blocks that the threads share evenly."""
    t = threads()
    k = t * max(1, -(-n // (t * max(least, fits))))  # blocks: a multiple of the threads
    return max(1, -(-n // k))


def _single_threaded(work):
    def run(chunk):
        previous = SET_NUM_THREADS_LOCAL(1)
        try:
            return work(chunk)
        finally:
            SET_NUM_THREADS_LOCAL(previous)

    return run


def spread(work, items) -> list:
    """[work(chunk) for chunk in ``items`` cut into one contiguous chunk per thread], the chunks
    run at once, each thread's sgemms single-threaded; with one thread, [work(items)]."""
    global _pool, _pool_size, _pool_pid
    items = items if isinstance(items, range) else list(items)
    n = min(threads(), len(items))
    if n <= 1 or threading.current_thread().name.startswith(POOL_NAME):  # nested: no deadlock
        return [work(items)]
    if _pool_size < n or _pool_pid != os.getpid():  # a forked child inherits no threads
        _pool, _pool_size = ThreadPoolExecutor(n, thread_name_prefix=POOL_NAME), n
        _pool_pid = os.getpid()
    bounds = np.linspace(0, len(items), n + 1).round().astype(int)
    chunks = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return list(_pool.map(_single_threaded(work), chunks))


def spread_range(kernel, n: int) -> None:
    """kernel(i0, i1) for a share [i0, i1) of range(n) per core, at once (nothing for n = 0)."""
    if n > 0:
        spread(lambda part: kernel(part[0], part[-1] + 1), range(n))
