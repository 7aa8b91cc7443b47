"""Module, Parameter, Linear and Sequential: registration, dotted names, buffers, state_dict,
strict loading, initialisation and gradients."""

import numpy as np
import pytest

from scratch import Tensor, nn
from scratch.autograd import gradcheck
from scratch.nn import functional as F


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.linear_mu = nn.Linear(3, 2)
        self.register_buffer("running_mean", np.zeros(3, np.float32))

    def forward(self, x):
        return self.linear_mu(F.relu(self.linear(x)))


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Sigmoid())
        self.scale = nn.Parameter(np.ones(1, np.float32))

    def forward(self, x):
        return self.decoder(self.encoder(x)) * self.scale


NAMES = [
    "scale",
    "encoder.linear.weight",
    "encoder.linear.bias",
    "encoder.linear_mu.weight",
    "encoder.linear_mu.bias",
    "decoder.0.weight",
    "decoder.0.bias",
    "decoder.2.weight",
    "decoder.2.bias",
]


def test_dotted_names_as_pytorch():
    model = VAE()
    assert [n for n, _ in model.named_parameters()] == NAMES
    assert list(model.state_dict()) == [*NAMES, "encoder.running_mean"]
    assert [n for n, _ in model.named_modules()][:3] == ["", "encoder", "encoder.linear"]
    assert len(list(model.parameters())) == len(NAMES)


def test_reassignment_updates_the_registry():
    m = Encoder()
    m.linear = None
    assert "linear.weight" not in dict(m.named_parameters())
    m.running_mean = np.ones(3, np.float32)  # a buffer given a new array stays a buffer
    np.testing.assert_array_equal(m.state_dict()["running_mean"], 1)
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2  # a shared layer is listed once


def test_linear_shapes_init_and_dtype():
    nn.init.manual_seed(0)
    layer = nn.Linear(400, 30)
    assert layer.weight.shape == (30, 400) and layer.bias.shape == (30,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    bound = 1 / np.sqrt(400)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.95 * bound  # uniform over the whole range
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.02 * bound
    assert nn.Linear(3, 2, bias=False).bias is None
    with pytest.raises(ValueError, match="positive sizes"):
        nn.Linear(0, 3)


def test_linear_gradients_through_the_module():
    layer = nn.Linear(3, 2)
    rng = np.random.default_rng(0)
    gradcheck(
        lambda x, W, b: F.linear(x, W, b),
        rng.standard_normal((5, 3)),
        layer.weight.data,
        layer.bias.data,
    )
    x = Tensor(rng.standard_normal((5, 3)).astype(np.float32))
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, np.ones((2, 5)) @ x.data, rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad, [5.0, 5.0])


def test_zero_grad_train_eval():
    model = VAE()
    model(Tensor(np.ones((2, 4), np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_round_trip():
    a, b = VAE(), VAE()
    a.encoder.running_mean[...] = 7
    x = Tensor(np.random.default_rng(0).random((3, 4)).astype(np.float32))
    assert not np.allclose(a(x).data, b(x).data)
    missing, unexpected = b.load_state_dict(a.state_dict())
    assert missing == [] and unexpected == []
    np.testing.assert_array_equal(a(x).data, b(x).data)
    np.testing.assert_array_equal(b.encoder.running_mean, 7)
    # copied, not shared: changing a afterwards leaves b alone
    a.scale.data[...] = 3
    assert b.scale.data[0] == 1


def test_strict_load_lists_every_problem():
    model = VAE()
    state = dict(model.state_dict())
    del state["decoder.0.bias"]
    state["decoder.9.weight"] = np.zeros(1)
    state["scale"] = np.zeros((2, 2))
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing keys: decoder.0.bias" in message
    assert "unexpected keys: decoder.9.weight" in message
    assert "scale: checkpoint (2, 2), model (1,)" in message


def test_non_strict_load_reports_but_still_refuses_shape_mismatches():
    model = VAE()
    state = {"scale": np.full(1, 5.0), "extra": np.zeros(1)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert unexpected == ["extra"] and "decoder.0.bias" in missing
    assert model.scale.data[0] == 5.0
    with pytest.raises(ValueError, match="shape mismatches"):
        model.load_state_dict({"scale": np.zeros(3)}, strict=False)


def test_module_errors():
    class Forgot(nn.Module):
        def __init__(self):
            self.x = 1

    with pytest.raises(AttributeError, match="super"):
        Forgot()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_sequential_indexing_and_repr():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    assert isinstance(seq[0], nn.Linear) and len(seq) == 2
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in repr(seq)


def test_api_boundary_errors_name_what_was_expected():
    from scratch.probability import GaussianMixture

    with pytest.raises(ValueError, match=r"Linear expects input \(\.\.\., 784\).*\(32, 100\)"):
        nn.Linear(784, 200)(np.zeros((32, 100), np.float32))
    with pytest.raises(ValueError, match=r"conv2d expects input \(B, 3, H, W\)"):
        nn.Conv2d(3, 4, 3)(np.zeros((2, 5, 8, 8), np.float32))
    with pytest.raises(ValueError, match="expected numbers"):
        GaussianMixture(2).fit([["a", "b"], ["c", "d"]])
    with pytest.raises(TypeError, match="expects a mapping.*got list"):
        nn.Linear(2, 3).load_state_dict([1, 2, 3])
