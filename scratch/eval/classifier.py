"""A small CNN for 28x28 MNIST digits, trained with scratch itself (``scratch classifier``).

    x (N, 1, 28, 28) -> conv1 3x3 -> ReLU -> pool -> conv2 3x3 -> ReLU -> pool   # (N, 64, 5, 5)
      -> fc1 -> ReLU = features (N, 128) -> fc2 = logits (N, 10)

Its frozen weights ship as ``mnist_classifier.npz`` (float16) beside this file.
"""

from pathlib import Path

import numpy as np

from scratch.autograd import Tensor, no_grad
from scratch.nn import Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential

WEIGHTS = Path(__file__).with_name("mnist_classifier.npz")
FEATURE_DIM = 128


class MNISTClassifier(Module):
    def __init__(self):
        super().__init__()
        self.convs = Sequential(
            Conv2d(1, 32, 3), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3), ReLU(), MaxPool2d(2)
        )
        self.fc1 = Linear(64 * 5 * 5, FEATURE_DIM)
        self.fc2 = Linear(FEATURE_DIM, 10)
        self.relu = ReLU()

    def hidden(self, x):
        """The penultimate activations relu(fc1(convs(x))) as a Tensor (N, 128)."""
        h = self.convs(x)  # (N, 64, 5, 5)
        return self.relu(self.fc1(h.reshape(len(h), -1)))  # (N, 128)

    def forward(self, x):
        return self.fc2(self.hidden(x))  # (N, 10) logits

    def _batched(self, fn, x, batch_size: int) -> np.ndarray:
        x = check_images(x)
        self.eval()
        with no_grad():
            parts = [fn(Tensor(x[i : i + batch_size])).data for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)

    def features(self, x, batch_size: int = 500) -> np.ndarray:
        """Penultimate features of images x (N, 1, 28, 28) or (N, 784) in [0, 1]: (N, 128)."""
        return self._batched(self.hidden, x, batch_size)

    def predict(self, x, batch_size: int = 500) -> np.ndarray:
        """The predicted digit argmax_k logits_k for each image: (N,) int64."""
        return self._batched(self.forward, x, batch_size).argmax(axis=1)


def check_images(x) -> np.ndarray:
    """Images as float32 (N, 1, 28, 28); (N, 784) and (N, 28, 28) are reshaped."""
    x = np.asarray(x)
    if x.ndim < 2 or x.size % 784 or x.shape[-1] not in (28, 784) or len(x) == 0:
        raise ValueError(
            f"expected MNIST images of shape (N, 1, 28, 28), (N, 28, 28) or (N, 784), "
            f"got shape {x.shape}"
        )
    x = x.reshape(len(x), 1, 28, 28).astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    return x


def save_classifier(model: MNISTClassifier, path=WEIGHTS) -> Path:
    """Write the weights as float16 to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **{k: v.astype(np.float16) for k, v in model.state_dict().items()})
    tmp.replace(path)
    return path


def load_classifier(path=WEIGHTS) -> MNISTClassifier:
    """The frozen classifier (eval mode) from ``path`` (default: the shipped weights)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no classifier weights there (make them: scratch classifier)")
    model = MNISTClassifier()
    with np.load(path) as npz:
        model.load_state_dict({k: npz[k].astype(np.float32) for k in npz.files})
    return model.eval()
