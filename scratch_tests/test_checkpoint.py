"""Checkpoints: round trip with metadata, atomic write, and clear errors for bad files."""

import os

import numpy as np
import pytest

from scratch import nn
from scratch.checkpoint import load_checkpoint, save_checkpoint


def model():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_round_trip_into_a_model(tmp_path):
    a, b = model(), model()
    path = save_checkpoint(
        tmp_path / "run" / "ckpt.npz", a.state_dict(), epoch=3, losses=[1.5, 0.5]
    )
    state, meta = load_checkpoint(path)
    assert meta == {"epoch": 3, "losses": [1.5, 0.5]}
    assert list(state) == list(a.state_dict())
    b.load_state_dict(state)
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        assert q.dtype == np.float32


def test_write_is_atomic_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"w": np.ones(2)}, step=1)
    save_checkpoint(path, {"w": np.zeros(2)}, step=2)  # replaces the old file
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    state, meta = load_checkpoint(path)
    assert meta["step"] == 2 and state["w"].sum() == 0


def test_failed_write_keeps_the_old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"w": np.ones(2)})
    with pytest.raises(ValueError, match="JSON-serialisable"):
        save_checkpoint(path, {"w": np.zeros(2)}, bad=object())
    assert load_checkpoint(path)[0]["w"].sum() == 2
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_truncated_foreign_and_missing_files_name_the_file(tmp_path):
    good = save_checkpoint(tmp_path / "good.npz", {"w": np.arange(1000.0)})
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, w=np.ones(3))
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    for path in (truncated, foreign, text, tmp_path / "absent.npz"):
        with pytest.raises(ValueError, match=path.name):
            load_checkpoint(path)


def test_reserved_key_is_refused(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(tmp_path / "x.npz", {"__scratch__": np.ones(1)})
