"""Keep freed memory for reuse instead of handing it back to the operating system.

A training step allocates and frees the same large arrays (activations, padded copies, gradients)
every time. glibc's malloc serves each block above a threshold (at most 32 MB) with a fresh
``mmap`` and returns it with ``munmap`` when freed, so every step pays the kernel to map and zero
those pages again on first touch: about a fifth of the U-Net's training step on this machine.
PyTorch avoids it with its own caching allocator; here two ``mallopt`` settings do the same:
blocks up to 1 GiB come from the heap, and the heap's top is not trimmed below 1 GiB.

A process then keeps what it once used, and temporaries that do not fit a freed block add to the
heap: the U-Net's training step peaks about as before (its blocks recur), but loading MNIST
beside a small model (the VAE) peaks 2x higher. So ``scratch diffusion`` calls it, and the VAE
steps do not. Elsewhere than glibc this does nothing.
"""

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
KEEP = 2**30  # bytes


def reuse_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds to 1 GiB; True if that took effect."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP))
