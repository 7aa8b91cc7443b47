"""Checkpoints: a state_dict and JSON metadata in one ``.npz``, written atomically.

The file holds one array per state_dict entry (by its dotted name) plus ``__scratch__``, a JSON
string with the format version and the metadata. It is written to a temporary file in the same
folder and renamed into place, so a crash never leaves a half-written checkpoint under the name.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from scratch.errors import UserError

FORMAT = "scratch-checkpoint"
VERSION = 1
_KEY = "__scratch__"


class CheckpointError(UserError, ValueError):
    """A checkpoint file that is missing, truncated, foreign or of the wrong kind."""


def save_checkpoint(path, state_dict: dict, **metadata) -> Path:
    """Write ``state_dict`` (name -> array) and ``metadata`` (JSON-serialisable) to ``path``."""
    path = Path(path)
    if _KEY in state_dict:
        raise ValueError(f"the state_dict may not contain the reserved key {_KEY!r}")
    try:
        header = json.dumps({"format": FORMAT, "version": VERSION, "metadata": metadata})
    except TypeError as error:
        raise ValueError(f"checkpoint metadata must be JSON-serialisable: {error}") from error
    arrays = {name: np.asarray(value) for name, value in state_dict.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{_KEY: np.array(header)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_checkpoint(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint written by ``save_checkpoint``: (state_dict, metadata).

    A missing, truncated or foreign file raises a CheckpointError (a ValueError) that names it.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint file there")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path}: not a checkpoint (.npz archive): the file is truncated or foreign"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            if _KEY not in npz.files:
                raise CheckpointError(f"{path}: not a scratch checkpoint (no {_KEY} entry)")
            header = json.loads(str(npz[_KEY]))
            # the U-Net's time MLP was ``linears`` before it took the released book's ``mlp``
            state = {n.replace(".linears.", ".mlp."): npz[n] for n in npz.files if n != _KEY}
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError) as error:
        raise CheckpointError(
            f"{path}: damaged checkpoint ({type(error).__name__}: {error})"
        ) from error
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: unknown checkpoint format {header.get('format')!r} v{header.get('version')}"
        )
    return state, header["metadata"]
