"""The book's own PyTorch scripts (steps 6-10) run on scratch with only their import lines changed.

The scripts are read from ``../shared/book-code`` at test time (never copied into the project).
Each is ported by the mechanical import rule, checked to differ only in import lines, and run in
a temporary folder, shortened from here: a module-level constant (epochs, iterations, timesteps)
is overridden the first time the script assigns it, and the DataLoader yields a few batches.
``plt.show`` saves each figure instead. The test then checks the printed loss falls and the figures
were made.
"""

import contextlib
import importlib.util
import io
import math
import re
import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import scratch  # noqa: E402
from scratch.data import available  # noqa: E402
from scratch.data.loader import DataLoader  # noqa: E402

BOOK = Path(__file__).resolve().parents[1].parent / "shared" / "book-code"

if not BOOK.is_dir():
    pytest.skip(f"the book's code is not at {BOOK}", allow_module_level=True)


def _benchmark_module(name):
    """A module of benchmarks/ (not a package): here the import rule."""
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


port_line = _benchmark_module("book_port").port_line
port = _benchmark_module("book_port").port


class _FirstAssignment(dict):
    """Module globals where the first assignment of each overridden name takes our value."""

    def __init__(self, overrides: dict, **initial):
        super().__init__(**initial)
        self.overrides = dict(overrides)

    def __setitem__(self, name, value):
        if name in self.overrides:
            value = self.overrides.pop(name)
        super().__setitem__(name, value)


def _floats(pattern: str, text: str) -> list[float]:
    return [float(m) for m in re.findall(pattern, text, re.MULTILINE)]


NUMBER = r"[-+]?\d+\.\d+(?:e[-+]?\d+)?"
ALONE = rf"^({NUMBER})$"  # a line that is just a loss
EPOCH = rf"Loss: ({NUMBER})$"


def rosenbrock_values(text: str) -> list[float]:
    pairs = re.findall(rf"^({NUMBER}) ({NUMBER})$", text, re.MULTILINE)
    return [100 * (float(b) - float(a) ** 2) ** 2 + (float(a) - 1) ** 2 for a, b in pairs]


# script: (overrides of its constants, batches per epoch, how to read its losses, figures)
SCRIPTS = {
    "step06/tensor.py": ({}, None, None, 0),
    "step06/gradient.py": ({"iters": 3000}, None, rosenbrock_values, 0),
    "step06/regression.py": ({}, None, lambda s: _floats(ALONE, s), 1),
    "step06/neuralnet.py": ({"iters": 3000}, None, lambda s: _floats(ALONE, s), 1),
    "step06/vision.py": ({}, None, None, 1),
    "step07/vae.py": ({"epochs": 3}, 40, lambda s: _floats(ALONE, s), 2),
    "step08/hvae.py": ({"epochs": 3}, 40, lambda s: _floats(ALONE, s), 1),
    "step09/gaussian_noise.py": ({}, None, None, 2),
    "step09/simple_unet.py": ({}, None, None, 0),
    "step09/diffusion_model.py": ({"epochs": 2, "num_timesteps": 10, "batch_size": 16}, 4, None, 2),
    "step10/conditional.py": ({"epochs": 2, "num_timesteps": 10, "batch_size": 16}, 4, None, 2),
    "step10/classifier_free_guidance.py": (
        {"epochs": 2, "num_timesteps": 10, "batch_size": 16},
        4,
        None,
        2,
    ),
}
MNIST_SCRIPTS = {"step06/vision.py", "step07/vae.py", "step08/hvae.py"}
DIFFUSION = {"step09/diffusion_model.py", "step10/conditional.py"}
DIFFUSION |= {"step10/classifier_free_guidance.py"}
SLOW = DIFFUSION | {"step07/vae.py", "step08/hvae.py"}


def run_script(name: str, tmp_path: Path, monkeypatch) -> tuple[dict, str, int, float]:
    """Port and run one script shortened; (its globals, its stdout, figures made, seconds)."""
    overrides, batches, _, _ = SCRIPTS[name]
    path = BOOK / name
    source = path.read_text()
    ported = port(source)
    changed = [
        (a, b) for a, b in zip(source.split("\n"), ported.split("\n"), strict=True) if a != b
    ]
    assert changed, f"{name}: no import line to port"
    for old, new in changed:
        assert old.startswith(("import ", "from ")), f"{name}: a non-import line changed: {old!r}"
        assert "torch" not in new.replace("as torch", "").replace("as torchvision", ""), new
    if batches is not None:
        length = DataLoader.__len__
        monkeypatch.setattr(DataLoader, "__len__", lambda self: min(length(self), batches))
    figures = []

    def show(*args, **kwargs):
        for number in plt.get_fignums():
            out = tmp_path / f"figure{len(figures)}.png"
            plt.figure(number).savefig(out)
            figures.append(out)
        plt.close("all")

    monkeypatch.setattr(plt, "show", show)
    monkeypatch.chdir(tmp_path)
    scratch.manual_seed(0)
    namespace = _FirstAssignment(overrides, __name__="__main__", __file__=str(path))
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        exec(compile(ported, str(path), "exec"), namespace)  # noqa: S102 - the point of the test
    seconds = time.perf_counter() - start
    assert all(f.stat().st_size > 0 for f in figures)
    return namespace, out.getvalue(), len(figures), seconds


def _losses(name: str, text: str) -> list[float]:
    reader = SCRIPTS[name][2]
    if reader is None and name in DIFFUSION:
        reader = lambda s: _floats(EPOCH, s)  # noqa: E731
    return [] if reader is None else reader(text)


def _params(name):
    marks = [pytest.mark.slow] if name in SLOW else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_params(n) for n in SCRIPTS])
def test_book_script_runs_on_scratch(name, tmp_path, monkeypatch):
    if (name in MNIST_SCRIPTS or name in DIFFUSION) and not available(
        "mnist/train-images-idx3-ubyte.gz"
    ):
        pytest.skip("MNIST is not in the data store ($SCRATCH_DATA)")
    namespace, text, figures, seconds = run_script(name, tmp_path, monkeypatch)
    expected_figures = SCRIPTS[name][3]
    assert figures == expected_figures, f"{name}: {figures} figures, expected {expected_figures}"
    losses = _losses(name, text)
    if SCRIPTS[name][2] is not None or name in DIFFUSION:
        assert len(losses) >= 2 and all(map(math.isfinite, losses)), text
        assert losses[-1] < losses[0], f"{name}: the loss did not fall: {losses}"
    model = namespace.get("model")
    if isinstance(model, scratch.nn.Module):  # the float32 trap: NumPy's float64 never creeps in
        assert {p.data.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    first, last = (f"{losses[0]:.4g}", f"{losses[-1]:.4g}") if losses else ("-", "-")
    print(f"\n| {name} | runs | {_changed(name)} | {seconds:.1f} | {first} | {last} |")


def _changed(name: str) -> int:
    source = (BOOK / name).read_text().split("\n")
    return sum(a != b for a, b in zip(source, port("\n".join(source)).split("\n"), strict=True))


def test_the_import_rule():
    assert port_line("import torch") == "import scratch as torch"
    assert port_line("import torchvision") == "import scratch.vision as torchvision"
    assert port_line("import torch.nn.functional as F") == "import scratch.nn.functional as F"
    assert port_line("from torch.utils.data import DataLoader") == (
        "from scratch.utils.data import DataLoader"
    )
    assert port_line("from torchvision import datasets, transforms") == (
        "from scratch.vision import datasets, transforms"
    )
    assert port_line("x = torch.randn(3)") == "x = torch.randn(3)"


@pytest.mark.slow
def test_the_book_unet_stays_float32(tmp_path, monkeypatch):
    """Every tensor of a diffusion step of the book's U-Net (time embedding, noising, prediction,
    loss, gradients) is float32, as in PyTorch."""
    if not available("mnist/train-images-idx3-ubyte.gz"):
        pytest.skip("MNIST is not in the data store ($SCRATCH_DATA)")
    ns, _, _, _ = run_script("step09/diffusion_model.py", tmp_path, monkeypatch)
    x = scratch.rand(2, 1, 28, 28)
    t = scratch.randint(1, 11, (2,))
    v = ns["pos_encoding"](t, 100)
    x_noisy, noise = ns["diffuser"].add_noise(x, t)
    y = ns["model"](x_noisy, t)
    loss = ns["F"].mse_loss(noise, y)
    loss.backward()
    for tensor in (v, x_noisy, noise, y, loss):
        assert tensor.dtype == np.float32, tensor.dtype
    assert {p.grad.dtype for p in ns["model"].parameters()} == {np.dtype(np.float32)}
