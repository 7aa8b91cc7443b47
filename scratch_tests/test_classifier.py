"""The shipped MNIST classifier: loads, has the documented shapes, refuses bad input, reaches
99% on the test set, and gives a small real-vs-real FID next to a broken-image FID."""

import numpy as np
import pytest

from scratch.data import MNIST
from scratch.eval import classifier_fid, fid_floor, fid_to_test, load_classifier, reference_stats
from scratch.eval.classifier import WEIGHTS
from scratch_tests.conftest import need

TEST_FILES = ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
TRAIN_IMAGES = "mnist/train-images-idx3-ubyte.gz"


@pytest.fixture(scope="module")
def clf():
    return load_classifier()


def test_weights_are_small_and_load(clf):
    assert WEIGHTS.stat().st_size < 1_000_000
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    f = clf.features(x)
    assert f.shape == (3, 128) and f.dtype == np.float32 and (f >= 0).all()  # after ReLU
    p = clf.predict(x.reshape(3, 1, 28, 28))
    assert p.shape == (3,) and ((0 <= p) & (p < 10)).all()


@pytest.mark.parametrize("shape", [(4, 27, 27), (4,), (0, 784), (4, 1, 28, 29)])
def test_bad_images(clf, shape):
    with pytest.raises(ValueError, match="expected MNIST images"):
        clf.features(np.zeros(shape))


def test_nan_images(clf):
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((2, 784), np.nan))


def test_missing_weights(tmp_path):
    with pytest.raises(ValueError, match="no classifier weights"):
        load_classifier(tmp_path / "none.npz")


@need(*TEST_FILES)
def test_accuracy_on_full_test_set(clf):
    test = MNIST(train=False)
    assert (clf.predict(test.data) == test.targets).mean() >= 0.99


@need(TEST_FILES[0], TRAIN_IMAGES)
def test_floor_is_small_against_shuffled_pixels(clf):
    """2,000 train vs 2,000 test images are far closer than test vs their pixel-shuffled copies."""
    rng = np.random.default_rng(0)
    train = MNIST(train=True).data[rng.choice(60_000, 2000, replace=False)]
    test = MNIST(train=False).data[:2000]
    shuffled = rng.permuted(test.reshape(2000, -1), axis=1)
    floor = classifier_fid(train, test, clf)
    broken = classifier_fid(test, shuffled, clf)
    assert 0 < floor < 0.05 * broken


@need(TEST_FILES[0], TRAIN_IMAGES)
def test_floor_compares_n_training_images_with_the_whole_test_set(clf):
    """The floor at n is the FID of n training images against all 10,000 test images. Against the
    first n test images alone it would be far larger: the test set is ordered by writer."""
    reference = reference_stats(clf)
    floor = fid_floor(clf, n=1000, reference=reference)["fid"]
    train = MNIST(train=True).data[np.random.default_rng(0).choice(60_000, 1000, replace=False)]
    assert floor == pytest.approx(fid_to_test(train, clf, reference), rel=1e-12)
    assert floor == pytest.approx(fid_floor(clf, n=1000)["fid"], rel=1e-9)
    assert 0 < floor < 0.5 * classifier_fid(train, MNIST(train=False).data[:1000], clf)


def test_quick_command_writes_history_and_weights(tmp_path):
    from scratch.steps.step10_classifier import main

    result = main(["--quick", "--out", str(tmp_path)])
    assert result["epochs"] == 1 and np.isfinite(result["final_loss"])
    assert result["test_accuracy"] == pytest.approx(result["test_accuracy_float16"], abs=0.01)
    assert (tmp_path / "history.json").is_file()
    load_classifier(tmp_path / "mnist_classifier.npz")
