"""The data store, the IDX parser, the book tables, datasets and the DataLoader."""

import gzip

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.data import MNIST, ArrayDataset, DataLoader, load_height, load_old_faithful, store
from scratch.data.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_images, read_labels
from scratch_tests.conftest import need


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty $SCRATCH_DATA and cache, and a registry entry for a small fake file."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("SCRATCH_DATA", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    content = b"1.0\n2.0\n"
    entry = store.Entry(store.hashlib.sha256(content).hexdigest(), ("http://127.0.0.1:9/none",))
    monkeypatch.setitem(store.REGISTRY, "book/fake.txt", entry)
    return data, cache / "scratch", content


def test_found_in_data_dir_and_verified(isolated):
    data, _, content = isolated
    (data / "book").mkdir(parents=True)
    (data / "book/fake.txt").write_bytes(content)
    assert store.fetch("book/fake.txt") == data / "book/fake.txt"


def test_cache_is_second(isolated):
    _, cache, content = isolated
    (cache / "book").mkdir(parents=True)
    (cache / "book/fake.txt").write_bytes(content)
    assert store.fetch("book/fake.txt") == cache / "book/fake.txt"


def test_corrupt_file_is_refused(isolated):
    data, _, content = isolated
    (data / "book").mkdir(parents=True)
    (data / "book/fake.txt").write_bytes(content[:-1])  # truncated
    with pytest.raises(store.ChecksumError, match="corrupt"):
        store.fetch("book/fake.txt")
    assert not store.available("book/fake.txt")


def test_missing_offline_names_file_and_flag(isolated):
    with pytest.raises(store.DataNotFoundError) as error:
        store.fetch("book/fake.txt")  # the registry's address refuses at once
    message = str(error.value)
    assert "book/fake.txt" in message and "--data-dir" in message
    assert not list(isolated[1].parent.rglob("*.part"))  # no partial download left behind


def test_unknown_name():
    with pytest.raises(KeyError, match="unknown data file"):
        store.fetch("book/nothing.txt")


def idx_bytes(magic, shape, values):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    return header + bytes(values)


@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.randoms())
def test_idx_roundtrip(n, rows, cols, rnd):
    values = [rnd.randrange(256) for _ in range(n * rows * cols)]
    x = parse_idx(idx_bytes(IMAGES_MAGIC, (n, rows, cols), values), IMAGES_MAGIC)
    assert x.shape == (n, rows, cols) and x.dtype == np.uint8
    assert x.ravel().tolist() == values


def test_idx_rejects_bad_magic_and_size(tmp_path):
    good = idx_bytes(LABELS_MAGIC, (3,), [1, 2, 3])
    with pytest.raises(ValueError, match="magic number"):
        parse_idx(good, IMAGES_MAGIC)
    with pytest.raises(ValueError, match="header says shape"):
        parse_idx(good[:-1], LABELS_MAGIC)
    with pytest.raises(ValueError, match="too short"):
        parse_idx(good[:5], LABELS_MAGIC)
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(good))
    assert read_labels(path).tolist() == [1, 2, 3]
    path.write_bytes(gzip.compress(good)[:-8])  # a truncated gzip stream
    with pytest.raises(ValueError, match="not a readable gzip"):
        read_images(path)


@need("book/height.txt", "book/old_faithful.txt")
def test_book_tables():
    height = load_height()
    assert height.shape == (25000,)
    assert height.mean() == pytest.approx(172.7025, abs=1e-4)
    faithful = load_old_faithful()
    assert faithful.shape == (272, 2)
    assert faithful.mean(axis=0) == pytest.approx([3.4878, 70.8971], abs=1e-4)


@need("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
def test_mnist_test_split():
    ds = MNIST(train=False)
    assert ds.data.shape == (10000, 1, 28, 28) and ds.data.dtype == np.float32
    assert ds.targets.dtype == np.int64 and set(ds.targets.tolist()) == set(range(10))
    assert 0.0 == ds.data.min() and ds.data.max() == 1.0
    flat = MNIST(train=False, flatten=True)
    assert flat.data.shape == (10000, 784)
    np.testing.assert_array_equal(flat.data[7], ds.data[7].ravel())


@need("mnist/train-labels-idx1-ubyte.gz", "mnist/train-images-idx3-ubyte.gz")
def test_mnist_train_label_counts():
    counts = np.bincount(MNIST(train=True).targets)
    assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@given(
    n=st.integers(1, 50),
    batch=st.integers(1, 12),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 3),
)
def test_loader_covers_each_sample_once(n, batch, shuffle, drop_last, seed):
    ds = ArrayDataset(np.arange(n), np.arange(n) * 2)
    loader = DataLoader(ds, batch_size=batch, shuffle=shuffle, drop_last=drop_last, seed=seed)
    batches = list(loader)
    assert len(batches) == len(loader)
    seen = np.concatenate([b[0] for b in batches]) if batches else np.array([], int)
    for x, y in batches:
        np.testing.assert_array_equal(y, 2 * x)
        assert len(x) == batch or (not drop_last and x is batches[-1][0])
    if drop_last:
        assert len(seen) == n - n % batch and len(set(seen.tolist())) == len(seen)
    else:
        assert sorted(seen.tolist()) == list(range(n))


def test_loader_order_depends_on_seed_and_epoch_only():
    ds = ArrayDataset(np.arange(100))
    a = DataLoader(ds, batch_size=10, shuffle=True, seed=1)
    first, second = [np.concatenate([b[0] for b in a]) for _ in range(2)]
    assert not np.array_equal(first, second)  # a new order each epoch
    resumed = DataLoader(ds, batch_size=10, shuffle=True, seed=1)
    resumed.epoch = 1
    np.testing.assert_array_equal(np.concatenate([b[0] for b in resumed]), second)


def test_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        ArrayDataset(np.arange(3), np.arange(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ArrayDataset(np.arange(3)), batch_size=0)
