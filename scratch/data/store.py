"""Where data lives: ``$SCRATCH_DATA``, then the user cache, then a checksummed download.

Every file is known by its relative name (``mnist/train-images-idx3-ubyte.gz``, ``book/height.txt``),
the layout of the shared data folder. Before a file is used its sha256 is checked, so a corrupt or
truncated copy is refused with a clear error instead of failing deep inside a parser. Downloads go
to a temporary file that is renamed into place only once its checksum is right.
"""

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from scratch.errors import UserError

_BOOK = "https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch-5/8d1d521ea7f578eeb36094d6dcb436fbe125798e/"
_MNIST = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FASHION = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


@dataclass(frozen=True)
class Entry:
    """A known file: its sha256, its download addresses, and whether the sum is over the gunzipped
    bytes (Fashion-MNIST, whose ``.gz`` files are recompressed by some distributions)."""

    sha256: str
    urls: tuple[str, ...]
    gunzipped: bool = False


def _mnist(name: str, sha256: str) -> Entry:
    return Entry(sha256, tuple(base + name for base in _MNIST))


def _fashion(name: str, sha256: str) -> Entry:
    return Entry(sha256, tuple(base + name for base in _FASHION), gunzipped=True)


REGISTRY: dict[str, Entry] = {
    "mnist/train-images-idx3-ubyte.gz": _mnist(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "mnist/train-labels-idx1-ubyte.gz": _mnist(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "mnist/t10k-images-idx3-ubyte.gz": _mnist(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "mnist/t10k-labels-idx1-ubyte.gz": _mnist(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
    "fashion-mnist/train-images-idx3-ubyte.gz": _fashion(
        "train-images-idx3-ubyte.gz",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    "fashion-mnist/train-labels-idx1-ubyte.gz": _fashion(
        "train-labels-idx1-ubyte.gz",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    "fashion-mnist/t10k-images-idx3-ubyte.gz": _fashion(
        "t10k-images-idx3-ubyte.gz",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": _fashion(
        "t10k-labels-idx1-ubyte.gz",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    "book/height.txt": Entry(
        "ffd6d443e89b397f7d1282e81e699382de831ca9e1c1d65513afbb8123e9fed7",
        (_BOOK + "step02/height.txt",),
    ),
    "book/height_weight.txt": Entry(
        "a149dacbc33240e398020604e2d1f19b11fa9a5bfaccdde3f1c5df98458fe3a0",
        (_BOOK + "step03/height_weight.txt",),
    ),
    "book/old_faithful.txt": Entry(
        "524af5093c5b20e1e044591fd9a4d4202bd86cf5fb7228b66fbb837af98cf144",
        (_BOOK + "step04/old_faithful.txt",),
    ),
    "book/flower.png": Entry(
        "69530c4e2bae50a0fcebba9ca668845eab99002c363f955ef0d843cc2947eba8",
        (_BOOK + "step09/flower.png",),
    ),
}


class DataNotFoundError(UserError, FileNotFoundError):
    """A data file is in none of the places looked at and could not be downloaded."""


class ChecksumError(UserError, ValueError):
    """A data file exists but its sha256 is not the published one (corrupt or truncated)."""


def data_dir() -> Path | None:
    """The folder named by ``$SCRATCH_DATA`` (set by ``--data-dir``), or None."""
    value = os.environ.get("SCRATCH_DATA")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The user cache: ``$XDG_CACHE_HOME/scratch`` or ``~/.cache/scratch``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scratch"


def sha256_of(path: Path, gunzipped: bool = False) -> str:
    """The hex sha256 of a file (of its decompressed bytes when ``gunzipped``)."""
    digest = hashlib.sha256()
    opener = gzip.open if gunzipped else open
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except (OSError, EOFError) as error:  # a truncated or foreign .gz
        raise ChecksumError(f"{path}: cannot be read as expected ({error})") from error
    return digest.hexdigest()


def verify(path: Path, entry: Entry) -> Path:
    """Return ``path`` if its checksum is the published one; raise ChecksumError otherwise."""
    got = sha256_of(path, entry.gunzipped)
    if got != entry.sha256:
        raise ChecksumError(
            f"{path} is corrupt or not the expected file: sha256 {got}, expected {entry.sha256}. "
            "Delete it (or fix $SCRATCH_DATA) and try again."
        )
    return path


def _download(entry: Entry, target: Path) -> Path:
    """Fetch into a temporary file beside ``target``, verify, then rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in entry.urls:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            verify(Path(tmp), entry)
            os.replace(tmp, target)
            return target
        except (urllib.error.URLError, OSError, ChecksumError) as error:
            errors.append(f"{url}: {error}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise DataNotFoundError("; ".join(errors))


def fetch(name: str, download: bool = True, root=None) -> Path:
    """The path of the verified data file ``name`` (e.g. ``'book/height.txt'``).

    Looks in ``root/name`` (a data folder given by the caller, as torchvision's ``root``), then
    ``$SCRATCH_DATA/name``, then ``~/.cache/scratch/name``; then downloads into ``root`` if given,
    else into the cache.
    """
    if name not in REGISTRY:
        raise KeyError(f"unknown data file {name!r}; known: {', '.join(sorted(REGISTRY))}")
    entry = REGISTRY[name]
    root = None if root is None else Path(root).expanduser()
    places = [d / name for d in (root, data_dir(), cache_dir()) if d is not None]
    for path in places:
        if path.is_file():
            return verify(path, entry)
    problem = "downloads are disabled"
    if download:
        try:
            return _download(entry, (root or cache_dir()) / name)
        except DataNotFoundError as error:
            problem = f"the download failed ({error})"
    raise DataNotFoundError(
        f"data file {name!r} not found in {' or '.join(map(str, places))}, and {problem}. "
        f"Put the file at <folder>/{name} and pass --data-dir <folder> (or set $SCRATCH_DATA)."
    )


def available(name: str) -> bool:
    """True when ``name`` is already present locally (no download is attempted) and verifies."""
    try:
        fetch(name, download=False)
    except (DataNotFoundError, ChecksumError):
        return False
    return True
