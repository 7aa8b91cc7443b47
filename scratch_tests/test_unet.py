"""The book's U-Net: structure and names, bad input, NULL labels, and (with torch) the book's
PyTorch U-Net built here, saved, converted to .npz, loaded, and compared in eval and train mode."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from scratch.autograd import Tensor, no_grad
from scratch.models.unet import NULL_LABEL, UNet, UNetCond

try:
    import torch
    from torch import nn
except ImportError:  # the torch comparison is skipped
    torch = None

SMALL = (8, 16, 32)


def test_names_and_shapes_are_the_books():
    m = UNetCond(num_labels=10, channels=SMALL)
    state = m.state_dict()
    assert state["down1.convs.0.weight"].shape == (8, 1, 3, 3)
    assert state["down1.convs.1.running_mean"].shape == (8,)
    assert state["down1.convs.4.num_batches_tracked"].shape == ()
    assert state["down1.mlp.0.weight"].shape == (1, 100)
    assert state["up2.convs.0.weight"].shape == (16, 48, 3, 3)
    assert state["out.weight"].shape == (1, 8, 1, 1)
    assert state["label_emb.weight"].shape == (10, 100)
    assert "label_emb.weight" not in UNet(channels=SMALL).state_dict()
    # 5 blocks x (2 convs + 2 BN + 2 mlp linears) x 2 tensors + out (2) + label_emb (1)
    assert len(list(m.parameters())) == 5 * 12 + 3


def test_forward_shape_and_bad_input():
    m = UNet(channels=SMALL)
    x = np.random.default_rng(0).standard_normal((2, 1, 12, 8)).astype(np.float32)
    assert m(x, np.array([1, 1000])).shape == (2, 1, 12, 8)
    with pytest.raises(ValueError, match="divisible by 4"):
        m(x[:, :, :10], np.array([1, 2]))
    with pytest.raises(ValueError, match="timesteps"):
        m(x, np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="3 timesteps"):
        m(x, np.array([1, 2, 3]))


def test_null_label_rows_equal_the_unconditional_call():
    m = UNetCond(num_labels=10, channels=SMALL).eval()
    x = np.random.default_rng(1).standard_normal((3, 1, 8, 8)).astype(np.float32)
    t = np.array([3, 50, 700])
    with no_grad():
        uncond = m(x, t).data
        mixed = m(x, t, np.array([NULL_LABEL, 4, NULL_LABEL])).data
        cond = m(x, t, np.array([2, 4, 6])).data
    np.testing.assert_array_equal(mixed[[0, 2]], uncond[[0, 2]])
    np.testing.assert_array_equal(mixed[1], cond[1])
    assert not np.allclose(cond[0], uncond[0])
    with pytest.raises(ValueError, match="labels"):
        m(x, t, np.array([1, 2]))


def _benchmark_module(name):
    """A module of benchmarks/ (not a package): the torch reference and the converter."""
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_book_state_dict_loads_and_matches_torch(tmp_path):
    torch.manual_seed(0)
    book = _benchmark_module("book_unet_torch").UNetCond(num_labels=10, channels=SMALL)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 16, 12)).astype(np.float32)
    ts, labels = np.array([1, 10, 500, 1000]), np.array([0, 3, 9, 1])
    xt, tst, lt = torch.from_numpy(x), torch.from_numpy(ts), torch.from_numpy(labels)
    for _ in range(2):  # move the running statistics away from (0, 1)
        book(xt, tst, lt)
    torch.save(book.state_dict(), tmp_path / "book.pt")
    npz = _benchmark_module("torch2npz").convert(tmp_path / "book.pt")
    model = UNetCond(num_labels=10, channels=SMALL)
    model.load_state_dict(dict(np.load(npz)))  # strict: no renaming needed
    book.eval(), model.eval()
    with torch.no_grad():
        want = book(xt, tst, lt).numpy()
    with no_grad():
        got = model(x, ts, labels).data
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()

    # training mode (batch statistics) in float64, where the BN backward's cancellations are
    # exact enough to compare every gradient, the first conv's included
    book.train().double(), model.train()
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    x64, noise = x.astype(np.float64), rng.standard_normal(x.shape)
    loss_t = nn.functional.mse_loss(book(torch.from_numpy(x64), tst, lt), torch.from_numpy(noise))
    loss_t.backward()
    y = model(Tensor(x64), ts, labels)
    loss = ((y - noise) ** 2).sum() / noise.size
    loss.backward()
    assert loss.item() == pytest.approx(loss_t.item(), rel=1e-6)
    grads = dict(model.named_parameters())
    for name, p in book.named_parameters():  # (a conv bias before BN has a zero gradient)
        want = p.grad.numpy()
        atol = max(1e-4 * np.abs(want).max(), 1e-9)
        np.testing.assert_allclose(grads[name].grad, want, rtol=1e-4, atol=atol, err_msg=name)
    np.testing.assert_allclose(
        model.state_dict()["up1.convs.4.running_var"],
        book.state_dict()["up1.convs.4.running_var"].numpy(),
        rtol=1e-4,
    )
