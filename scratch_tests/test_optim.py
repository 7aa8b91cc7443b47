"""SGD and Adam: the published update rules to 1e-6, Adam's fused path equal to its readable rule,
and (when torch is installed) the same trajectory as torch.optim."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch import nn
from scratch.kernels.adam import COMPILED
from scratch.optim import SGD, Adam

SHAPES = [(3, 4), (4,), (2, 1, 3)]


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def gradient_sequence(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]


def reference_adam(ps, grads, lr, b1, b2, eps, wd):
    """Kingma & Ba's Adam with PyTorch's eps placement and L2 weight decay, in float64."""
    ps = [p.copy() for p in ps]
    m = [np.zeros_like(p) for p in ps]
    v = [np.zeros_like(p) for p in ps]
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            g = g + wd * ps[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            ps[i] = ps[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return ps


def reference_sgd(ps, grads, lr, momentum, dampening, wd):
    ps, bufs = [p.copy() for p in ps], [None] * len(ps)
    for gs in grads:
        for i, g in enumerate(gs):
            g = g + wd * ps[i]
            if momentum:
                bufs[i] = g if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = bufs[i]
            ps[i] = ps[i] - lr * g
    return ps


def run(opt_cls, params, grads, **kw):
    opt = opt_cls(params, **kw)
    for gs in grads:
        for p, g in zip(params, gs, strict=True):
            p.grad = g.astype(p.dtype)
        opt.step()
        opt.zero_grad()
    return [p.data for p in params]


@given(
    lr=st.sampled_from([1e-3, 1e-2, 0.1]),
    betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
    wd=st.sampled_from([0.0, 0.1]),
    fused=st.sampled_from([False, True] if COMPILED else [False]),
)
def test_adam_matches_the_published_formula(lr, betas, wd, fused):
    grads = gradient_sequence(10)
    start = [p.data.copy() for p in make_params()]
    ours = run(Adam, make_params(), grads, lr=lr, betas=betas, weight_decay=wd, fused=fused)
    ref = reference_adam(start, grads, lr, *betas, 1e-8, wd)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    kw = dict(lr=lr, betas=betas, weight_decay=wd, fused=fused)
    ours32 = run(Adam, make_params(np.float32), grads, **kw)
    for a, b in zip(ours32, ref, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_adam_defaults_are_pytorchs():
    opt = Adam(make_params())
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)


@given(
    lr=st.sampled_from([1e-2, 0.1]),
    momentum=st.sampled_from([0.0, 0.9]),
    dampening=st.sampled_from([0.0, 0.5]),
    wd=st.sampled_from([0.0, 0.01]),
)
def test_sgd_matches_the_published_formula(lr, momentum, dampening, wd):
    grads = gradient_sequence(6)
    start = [p.data.copy() for p in make_params()]
    ours = run(
        SGD, make_params(), grads, lr=lr, momentum=momentum, dampening=dampening, weight_decay=wd
    )
    ref = reference_sgd(start, grads, lr, momentum, dampening, wd)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(not COMPILED, reason="the fused path needs Numba")
@given(
    shapes=st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3), min_size=1, max_size=4),
    dtype=st.sampled_from([np.float32, np.float64]),
    wd=st.sampled_from([0.0, 0.05]),
    steps=st.integers(1, 4),
)
def test_adam_fused_path_equals_the_readable_rule(shapes, dtype, wd, steps):
    rng = np.random.default_rng(len(shapes))
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    start[0] = np.asfortranarray(start[0])  # not C-contiguous: the fused path falls back
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    results = []
    for fused in (True, False):
        params = [nn.Parameter(p.copy(order="K")) for p in start]
        opt = Adam(params, lr=1e-2, weight_decay=wd, fused=fused)
        for t, gs in enumerate(grads):
            for j, (p, g) in enumerate(zip(params, gs, strict=True)):
                p.grad = None if (t + j) % 3 == 2 else g.astype(dtype)  # some get no gradient
            opt.step()
        results.append((params, opt.state_dict()))
    (fast, fast_state), (readable, readable_state) = results
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(fast, readable, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a.data, b.data, rtol=rtol, atol=rtol)
    for key, value in fast_state.items():
        np.testing.assert_allclose(value, readable_state[key], rtol=rtol, atol=rtol, err_msg=key)


def test_adam_skips_parameters_without_gradient():
    params = make_params()
    frozen = params[1].data.copy()
    opt = Adam(params, lr=0.1)
    grads = gradient_sequence(3)
    for gs in grads:
        params[0].grad, params[2].grad = gs[0], gs[2]
        opt.step()
    np.testing.assert_array_equal(params[1].data, frozen)
    # the first parameter followed Adam exactly, with its own step count
    ref = reference_adam(
        [make_params()[0].data], [[gs[0]] for gs in grads], 0.1, 0.9, 0.999, 1e-8, 0
    )
    np.testing.assert_allclose(params[0].data, ref[0], rtol=1e-10)


def test_adam_follows_a_replaced_parameter_array():
    params = make_params()
    opt = Adam(params, lr=0.1)
    params[0].data = np.zeros(SHAPES[0])  # e.g. a user resetting a weight
    for p in params:
        p.grad = np.ones(p.shape)
    opt.step()
    np.testing.assert_allclose(params[0].data, -0.1, rtol=1e-6)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="empty list"):
        Adam([])
    with pytest.raises(ValueError, match="learning rate must be positive"):
        SGD(make_params(), lr=0)
    with pytest.raises(ValueError, match="betas"):
        Adam(make_params(), betas=(1.0, 0.9))


def test_same_trajectory_as_torch():
    torch = pytest.importorskip("torch")
    grads = gradient_sequence(20)
    cases = [
        (Adam, torch.optim.Adam, dict(lr=1e-2, weight_decay=0.01)),
        (Adam, torch.optim.Adam, dict(lr=1e-3)),
        (SGD, torch.optim.SGD, dict(lr=1e-2, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ]
    for ours_cls, torch_cls, kw in cases:
        ours = run(ours_cls, make_params(np.float32), grads, **kw)
        tp = [torch.tensor(p.data, requires_grad=True) for p in make_params(np.float32)]
        topt = torch_cls(tp, **kw)
        for gs in grads:
            for p, g in zip(tp, gs, strict=True):
                p.grad = torch.tensor(g, dtype=torch.float32)
            topt.step()
        for a, b in zip(ours, tp, strict=True):
            np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-6, atol=1e-6, err_msg=str(kw))


def test_adam_trains_a_small_regression():
    from scratch import Tensor
    from scratch.nn import functional as F

    nn.init.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 1)).astype(np.float32)
    t = (3 * x - 1).astype(np.float32)
    layer = nn.Linear(1, 1)
    opt = Adam(layer.parameters(), lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        loss = F.mse_loss(layer(Tensor(x)), t)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4
    np.testing.assert_allclose([layer.weight.data[0, 0], layer.bias.data[0]], [3, -1], atol=0.02)


@pytest.mark.parametrize(
    "opt_cls, kw", [(Adam, dict(lr=0.05, weight_decay=0.01)), (SGD, dict(lr=0.05, momentum=0.9))]
)
def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path, opt_cls, kw):
    from scratch.checkpoint import load_checkpoint, save_checkpoint

    grads = gradient_sequence(8)
    straight = run(opt_cls, make_params(np.float32), grads, **kw)

    params = make_params(np.float32)
    first = opt_cls(params, **kw)
    for gs in grads[:4]:
        for p, g in zip(params, gs, strict=True):
            p.grad = g.astype(np.float32)
        first.step()
    model_state = {f"p{i}": p.data for i, p in enumerate(params)}
    save_checkpoint(tmp_path / "c.npz", {**model_state, **first.state_dict()}, step=4)
    state, meta = load_checkpoint(tmp_path / "c.npz")

    params = make_params(np.float32, seed=5)  # a fresh start, then the checkpoint
    for i, p in enumerate(params):
        p.data[...] = state.pop(f"p{i}")
    resumed = opt_cls(params, **kw)
    resumed.load_state_dict(state)
    for gs in grads[meta["step"] :]:
        for p, g in zip(params, gs, strict=True):
            p.grad = g.astype(np.float32)
        resumed.step()
    for a, b in zip(straight, params, strict=True):
        np.testing.assert_array_equal(a, b.data)


def test_optimizer_state_names_and_errors():
    params = make_params()
    opt = Adam(params)
    assert sorted(opt.state_dict())[:3] == ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step"]
    with pytest.raises(ValueError, match=r"unexpected key state\.9\.exp_avg"):
        opt.load_state_dict({"state.9.exp_avg": np.zeros(3)})
    with pytest.raises(ValueError, match=r"state\.0\.exp_avg with shape \(2,\)"):
        opt.load_state_dict({"state.0.exp_avg": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state\.1\.momentum"):
        opt.load_state_dict({"state.1.momentum": np.zeros(4)})
