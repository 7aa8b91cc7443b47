"""The IDX format of MNIST and Fashion-MNIST: a big-endian header, then raw uint8 values.

Header: two zero bytes, a type code (0x08 = uint8), the number of dimensions d, then d big-endian
uint32 sizes. Images are ``magic 0x00000803`` with sizes (N, 28, 28); labels ``0x00000801`` with (N,).
"""

import gzip
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def parse_idx(raw: bytes, magic: int, name: str = "IDX data") -> np.ndarray:
    """Parse IDX bytes whose magic number must be ``magic``; validate the header against the size."""
    got = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if got != magic:
        found = "too short to hold one" if got is None else f"0x{got:08x}"
        raise ValueError(f"{name}: magic number {found}, expected 0x{magic:08x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{name}: {len(raw)} bytes is too short for an IDX header of {header} bytes"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(
            f"{name}: header says shape {shape} ({expected} bytes), but the data has {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Read a gzipped IDX file (uint8 array) and check its magic number and size."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: not a readable gzip file ({error})") from error
    return parse_idx(raw, magic, str(path))


def read_images(path: str | Path) -> np.ndarray:
    """(N, rows, cols) uint8 images."""
    return read_idx(path, IMAGES_MAGIC)


def read_labels(path: str | Path) -> np.ndarray:
    """(N,) uint8 labels."""
    return read_idx(path, LABELS_MAGIC)
