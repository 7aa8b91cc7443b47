"""scratch's PyTorch names: each function's values, dtypes and gradients.

Gradients are gradchecked in float64 on hypothesis-drawn shapes, broadcast against a second input;
where torch is installed the same computation is compared with it (values and gradients).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratch
from scratch.autograd import Tensor, gradcheck

seeds = st.integers(0, 2**32 - 1)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3)

# name: (scratch function, torch function name, input transform keeping it in the domain)
UNARY = {
    "sqrt": (scratch.sqrt, "sqrt", lambda x: np.abs(x) + 0.5),
    "exp": (scratch.exp, "exp", lambda x: x),
    "log": (scratch.log, "log", lambda x: np.abs(x) + 0.5),
    "sin": (scratch.sin, "sin", lambda x: x),
    "cos": (scratch.cos, "cos", lambda x: x),
    "clamp": (lambda x: scratch.clamp(x, -0.5, 0.7), "clamp", lambda x: x),
    "cumprod": (lambda x: scratch.cumprod(x, dim=-1), "cumprod", lambda x: np.abs(x) + 0.5),
    "flatten": (scratch.flatten, "flatten", lambda x: x),
    "sum": (lambda x: scratch.sum(x, dim=0), "sum", lambda x: x),
}


def _torch_call(torch, name, x):
    args = {"clamp": (-0.5, 0.7), "cumprod": (-1,), "sum": (0,)}.get(name, ())
    return getattr(torch, name)(x, *args)


def _inputs(seed, shapes, name):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    a = UNARY[name][2](a)
    if name == "clamp":  # keep off the kinks, where the derivative is not defined
        a = np.where(np.abs(a + 0.5) < 1e-3, a + 0.01, a)
        a = np.where(np.abs(a - 0.7) < 1e-3, a + 0.01, a)
    return a, b


@pytest.mark.parametrize("name", UNARY)
@given(shapes=pairs, seed=seeds)
def test_functions_gradcheck_broadcast(name, shapes, seed):
    f = UNARY[name][0]
    a, b = _inputs(seed, shapes, name)
    if name in ("sum", "flatten", "cumprod"):  # shape-changing: broadcast before, not after
        gradcheck(lambda x, y: f(x * y), a, b)
    else:
        gradcheck(lambda x, y: f(x) * y, a, b)


@pytest.mark.parametrize("name", UNARY)
@given(shapes=pairs, seed=seeds)
def test_functions_match_torch(name, shapes, seed):
    torch = pytest.importorskip("torch")
    f = UNARY[name][0]
    a, b = _inputs(seed, shapes, name)
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.tensor(b, requires_grad=True)
    if name in ("sum", "flatten", "cumprod"):
        out, out_t = f(x * y), _torch_call(torch, name, xt * yt)
    else:
        out, out_t = f(x) * y, _torch_call(torch, name, xt) * yt
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(y.grad.data, yt.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert out.dtype == np.float64 and x.grad.dtype == np.float64


@given(
    sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    rest=hnp.array_shapes(min_dims=1, max_dims=2, max_side=3),
    dim=st.integers(0, 2),
    seed=seeds,
)
def test_cat_along_dim(sizes, rest, dim, seed):
    dim = dim % (len(rest) + 1)
    rng = np.random.default_rng(seed)
    shapes = [rest[:dim] + (n,) + rest[dim:] for n in sizes]
    xs = [rng.standard_normal(s) for s in shapes]
    y = scratch.cat([Tensor(x) for x in xs], dim=dim)
    np.testing.assert_array_equal(y.data, np.concatenate(xs, axis=dim))
    gradcheck(lambda *ts: scratch.cat(list(ts), dim=dim), *xs)


@given(seed=seeds, n=st.integers(1, 5))
def test_cumprod_gradient_matches_the_product_rule_in_float32(seed, n):
    """(float32 as the diffusion schedule uses it): d/dx_j of sum_i y_i is sum_{i>=j} y_i / x_j."""
    x = (np.random.default_rng(seed).random(n) + 0.5).astype(np.float32)
    t = Tensor(x, requires_grad=True)
    scratch.cumprod(t, dim=0).sum().backward()
    y = np.cumprod(x.astype(np.float64))
    want = [y[j:].sum() / x[j] for j in range(n)]
    assert t.grad.dtype == np.float32
    np.testing.assert_allclose(t.grad.data, want, rtol=1e-5)


def test_creation_dtypes_are_torch_defaults():
    assert scratch.tensor(1.0).dtype == np.float32
    assert scratch.tensor([1, 2]).dtype == np.int64
    assert scratch.tensor([[0.0], [1.0]]).shape == (2, 1)
    assert scratch.tensor([3] * 4, dtype=scratch.long).dtype == np.int64
    assert scratch.tensor(np.zeros(2)).dtype == np.float64  # an ndarray keeps its dtype
    for make in (scratch.zeros, scratch.ones, scratch.randn, scratch.rand):
        assert make(2, 3).dtype == np.float32 and make((2, 3)).shape == (2, 3)
    assert scratch.zeros(4, dtype=scratch.float64).dtype == np.float64
    assert scratch.arange(5).dtype == np.int64 and scratch.arange(0.0, 1.0, 0.25).shape == (4,)
    assert scratch.arange(0, 1, 0.25).dtype == np.float32
    assert scratch.linspace(0.0001, 0.02, 7).dtype == np.float32
    r = scratch.randint(1, 11, (1000,))
    assert r.dtype == np.int64 and r.data.min() >= 1 and r.data.max() <= 10
    x = scratch.zeros(2, 2, dtype=scratch.float64)
    assert scratch.zeros_like(x).dtype == np.float64 and scratch.ones_like(x).data.sum() == 4
    assert scratch.randn_like(scratch.zeros(3)).dtype == np.float32
    assert scratch.uint8 == np.uint8 and scratch.int64 == scratch.long


def test_creation_values_match_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(scratch.linspace(0.0001, 0.02, 1000).data, torch.linspace(0.0001, 0.02, 1000).numpy(), rtol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(scratch.arange(2, 11, 3).data, torch.arange(2, 11, 3).numpy())
    for ours, theirs in [
        (scratch.tensor([1, 2]), torch.tensor([1, 2])),
        (scratch.tensor(2.5), torch.tensor(2.5)),
        (scratch.arange(3), torch.arange(3)),
        (scratch.arange(0, 1, 0.5), torch.arange(0, 1, 0.5)),
    ]:
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    t = torch.arange(0, 10)
    assert (scratch.arange(0, 10) / 10).dtype == (t / 10).numpy().dtype  # int / int: float32
    for ours, theirs in [  # integers meeting floats take the float's dtype, as in torch
        (scratch.arange(0, 10) * 0.5, t * 0.5),
        (scratch.arange(0, 10) + scratch.ones(10), t + torch.ones(10)),
        (
            scratch.arange(0, 10) - scratch.ones(10, dtype=scratch.float64),
            t - torch.ones(10).double(),
        ),
        (scratch.arange(1, 11) / scratch.ones(10), t.add(1) / torch.ones(10)),
    ]:
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_allclose(ours.data, theirs.numpy())


def test_manual_seed_drives_tensors_and_layers():
    scratch.manual_seed(3)
    a, w = scratch.randn(4), scratch.nn.Linear(2, 2).weight.data.copy()
    scratch.manual_seed(3)
    assert np.array_equal(scratch.randn(4).data, a.data)
    assert np.array_equal(scratch.nn.Linear(2, 2).weight.data, w)


def test_devices_cpu_only():
    assert scratch.cuda.is_available() is False
    x = scratch.zeros(2, device="cpu")
    assert x.device == "cpu" and x.to("cpu") is x and x.cpu() is x
    with pytest.raises(ValueError, match="runs on the CPU"):
        scratch.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="runs on the CPU"):
        x.to("cuda:0")
    model = scratch.nn.Linear(2, 2)
    assert model.to("cpu") is model
    with pytest.raises(ValueError, match="runs on the CPU"):
        model.to("cuda")


def test_tensor_methods():
    x = scratch.arange(24).to(scratch.float32).view(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4 and x.numel() == 24
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.flatten().shape == (24,)
    assert x.flatten(1).shape == (2, 12) and x.view(-1, 4).shape == (6, 4)
    assert x.clamp(2, 5).data.min() == 2 and x.clamp(2, 5).data.max() == 5
    c = x.clone()
    c.data[0, 0, 0] = 99
    assert x.data[0, 0, 0] == 0
    u = (x * 20).clamp(0, 255).to(scratch.uint8)
    assert u.dtype == np.uint8 and x.to(scratch.float64).dtype == np.float64
    eq = x == 1
    assert isinstance(eq, Tensor) and eq.dtype == bool and eq.data.sum() == 1
    assert ((x >= 0).all()) and not (x > 100).any()
    noise = scratch.randn(3, 2)
    noise[scratch.tensor([1, 2, 1]) == 1] = 0
    assert np.all(noise.data[[0, 2]] == 0) and np.all(noise.data[1] != 0)


def test_grad_is_a_tensor_and_zero_works():
    w = scratch.tensor(2.0, requires_grad=True)
    (3 * w**2).backward()
    assert isinstance(w.grad, Tensor) and w.grad.item() == 12.0
    data = w.data
    w.data -= 0.1 * w.grad.data
    w.grad.zero_()
    assert w.data is data and w.data.item() == pytest.approx(0.8) and w.grad.item() == 0.0


def test_ndarray_in_place_with_a_tensor():
    a = np.ones(3, np.float32)
    view = a
    a -= scratch.tensor([1.0, 2.0, 3.0])
    assert a is view and type(a) is np.ndarray
    np.testing.assert_array_equal(a, [0, -1, -2])
    assert isinstance(np.ones(3) + scratch.ones(3), Tensor)  # not in place: the Tensor op
    with pytest.raises(TypeError, match="drop the graph"):
        np.exp(scratch.ones(2, requires_grad=True))


def test_setitem_refuses_tensors_in_a_graph():
    w = scratch.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 1.0


def test_old_unet_checkpoints_load_under_mlp_names(tmp_path):
    from scratch.checkpoint import load_checkpoint, save_checkpoint
    from scratch.models.unet import UNet

    scratch.manual_seed(0)
    model = UNet(channels=(4, 8, 8), time_embed_dim=8)
    state = model.state_dict()
    assert "down1.mlp.0.weight" in state
    old = {k.replace(".mlp.", ".linears."): v.copy() + 1 for k, v in state.items()}
    save_checkpoint(tmp_path / "old.npz", old)
    loaded, _ = load_checkpoint(tmp_path / "old.npz")
    model.load_state_dict(loaded)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, old[k.replace(".mlp.", ".linears.")])


def test_vision_transforms_and_grid():
    from PIL import Image

    from scratch.vision import transforms, utils

    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    x = transforms.ToTensor()(Image.fromarray(pixels))
    assert x.shape == (1, 3, 4) and x.dtype == np.float32
    np.testing.assert_allclose(x.data[0], pixels / 255, rtol=1e-6)
    back = transforms.ToPILImage()((x * 255).clamp(0, 255).to(scratch.uint8))
    assert np.array_equal(np.asarray(back), pixels)
    image = np.random.default_rng(0).random((5, 6, 3)).astype(np.float32)
    assert transforms.ToTensor()(image).shape == (3, 5, 6)  # a float image is not rescaled
    flat = transforms.Compose([transforms.ToTensor(), transforms.Lambda(scratch.flatten)])
    assert flat(Image.fromarray(pixels)).shape == (12,)
    grid = utils.make_grid(scratch.rand(10, 1, 4, 4), nrow=4, padding=2, normalize=True)
    assert grid.shape == (3, 2 + 3 * 6, 2 + 4 * 6)
    assert grid.data.max() == 1 and grid.data.min() == 0
