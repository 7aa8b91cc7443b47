"""scratch.nn.functional, conv2d and batch_norm2d: gradcheck of every function, fused ops equal to
their composite twins, reductions, bad input, and (when torch is installed) the same values as
torch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratch.nn.composite as C
import scratch.nn.functional as F
from scratch import Tensor
from scratch.autograd import gradcheck
from scratch.nn import conv, norm

seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
matrices = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5)


def draw(seed, shape, scale=2.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def assert_twins(fused, composite, *inputs, rtol=1e-7, atol=1e-9):
    """Same values and the same gradients for every input (float64)."""
    results = []
    for f in (fused, composite):
        xs = [Tensor(np.array(x, dtype=np.float64), requires_grad=True) for x in inputs]
        y = f(*xs)
        r = np.random.default_rng(1).standard_normal(y.shape)
        y.backward(r)
        results.append((y.data, [x.grad for x in xs]))
    (y1, g1), (y2, g2) = results
    np.testing.assert_allclose(y1, y2, rtol=rtol, atol=atol)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


ELEMENTWISE = ["sigmoid", "tanh", "relu", "softplus"]


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(shape=shapes, seed=seeds)
def test_elementwise_activations(name, shape, seed):
    x = draw(seed, shape)
    if name == "relu":
        x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep away from the kink for finite differences
    gradcheck(getattr(F, name), x)
    assert_twins(getattr(F, name), getattr(C, name), x)


def test_activations_are_stable_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = F.sigmoid(Tensor(x)).data
        sp = F.softplus(Tensor(x)).data
    np.testing.assert_allclose(s, [0, 0, 0.5, 1, 1], atol=1e-7)
    np.testing.assert_allclose(sp, [0, 0, np.log(2), 50, 1000], rtol=1e-6, atol=1e-7)
    assert F.sigmoid(Tensor(x)).dtype == np.float32


@given(data=st.data(), seed=seeds)
def test_logsumexp(data, seed):
    shape = data.draw(shapes)
    axis = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    keepdims = data.draw(st.booleans())
    x = draw(seed, shape, scale=5)
    f = lambda x: F.logsumexp(x, axis=axis, keepdims=keepdims)  # noqa: E731
    expected = np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(f(Tensor(x)).data, expected, rtol=1e-10)
    gradcheck(f, x)
    assert_twins(f, lambda x: C.logsumexp(x, axis=axis, keepdims=keepdims), x)


def test_logsumexp_does_not_overflow():
    y = F.logsumexp(Tensor(np.array([1000.0, 1000.0])))
    np.testing.assert_allclose(y.data, 1000 + np.log(2))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data(), seed=seeds)
def test_softmax_and_log_softmax(name, data, seed):
    shape = data.draw(shapes)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(seed, shape, scale=5)
    f = lambda x: getattr(F, name)(x, axis=axis)  # noqa: E731
    gradcheck(f, x)
    assert_twins(f, lambda x: getattr(C, name)(x, axis=axis), x)
    if name == "softmax":
        np.testing.assert_allclose(f(Tensor(x)).data.sum(axis=axis), 1.0)


@given(data=st.data(), seed=seeds)
def test_linear(data, seed):
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x, W, b = draw(seed, (*batch, n_in)), draw(seed + 1, (n_out, n_in)), draw(seed + 2, (n_out,))
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(W), Tensor(b)).data, x @ W.T + b)
    gradcheck(F.linear, x, W, b)
    gradcheck(F.linear, x, W)
    assert_twins(F.linear, C.linear, x, W, b)
    assert_twins(F.linear, C.linear, x, W)


LOSSES = ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", LOSSES)
@given(shape=shapes, seed=seeds)
def test_losses(name, reduction, shape, seed):
    rng = np.random.default_rng(seed)
    x, t = draw(seed, shape), rng.uniform(0, 1, shape)
    if name == "binary_cross_entropy":
        x = rng.uniform(0.05, 0.95, shape)
    f = lambda x, t: getattr(F, name)(x, t, reduction=reduction)  # noqa: E731
    gradcheck(f, x, t)
    assert_twins(f, lambda x, t: getattr(C, name)(x, t, reduction=reduction), x, t)
    assert f(Tensor(x), Tensor(t)).shape == (shape if reduction == "none" else ())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(shape=matrices, seed=seeds)
def test_cross_entropy(reduction, shape, seed):
    x = draw(seed, shape)
    t = np.random.default_rng(seed).integers(0, shape[1], shape[0])
    f = lambda x: F.cross_entropy(x, t, reduction=reduction)  # noqa: E731
    gradcheck(f, x)
    assert_twins(f, lambda x: C.cross_entropy(x, t, reduction=reduction), x)


conv_geometry = st.tuples(
    st.integers(1, 2),  # B
    st.integers(1, 3),  # C
    st.integers(1, 3),  # O
    st.integers(1, 5),  # H
    st.integers(1, 5),  # W
    st.integers(1, 3),  # kh
    st.integers(1, 3),  # kw
    st.integers(1, 3),  # stride
    st.integers(0, 2),  # padding
).filter(lambda g: g[3] + 2 * g[8] >= g[5] and g[4] + 2 * g[8] >= g[6])


@given(g=conv_geometry, bias=st.booleans(), seed=seeds)
def test_conv2d_equals_its_im2col_twin(g, bias, seed):
    B, Cin, O, H, W, kh, kw, s, p = g
    x, w = draw(seed, (B, Cin, H, W)), draw(seed + 1, (O, Cin, kh, kw))
    args = (x, w, draw(seed + 2, O)) if bias else (x, w)
    gradcheck(lambda *a: C.conv2d(*a, stride=s, padding=p), *args)
    assert_twins(
        lambda *a: conv.conv2d(*a, stride=s, padding=p),
        lambda *a: C.conv2d(*a, stride=s, padding=p),
        *args,
    )


@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
    train=st.booleans(),
    seed=seeds,
)
def test_batch_norm2d_equals_its_twin_from_primitives(shape, train, seed):
    if train and shape[0] * shape[2] * shape[3] == 1:
        shape = (2, *shape[1:])  # batch statistics need two values per channel
    c = shape[1]
    x, beta = draw(seed, shape), draw(seed + 1, c)
    gamma = np.random.default_rng(seed).uniform(0.5, 2, c)
    stats = (
        () if train else (1e-5, draw(seed + 2, c), np.random.default_rng(seed).uniform(0.5, 2, c))
    )
    gradcheck(lambda *a: C.batch_norm2d(*a, *stats), x, gamma, beta, rtol=1e-3)
    assert_twins(
        lambda *a: norm.batch_norm2d(*a, *stats)[0],
        lambda *a: C.batch_norm2d(*a, *stats),
        x,
        gamma,
        beta,
    )


def test_binary_cross_entropy_clamps_like_pytorch():
    p, t = Tensor(np.array([0.0, 1.0]), requires_grad=True), np.array([1.0, 0.0])
    loss = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0])  # log clamped at -100, not inf
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad))


def test_bce_with_logits_is_stable():
    x = Tensor(np.array([-800.0, 800.0]), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [800.0, 800.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [-1.0, 1.0])


def test_dropout():
    from scratch.nn import init

    init.manual_seed(0)
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    y = F.dropout(x, p=0.3)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y.data)  # the gradient passes where the value did
    assert F.dropout(x, p=0.3, training=False) is x
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        F.dropout(x, p=1.0)


def test_loss_input_errors():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(x, np.zeros((2, 3)), reduction="avg")
    with pytest.raises(ValueError, match=r"input shape \(2, 3\) and target shape \(3,\)"):
        F.mse_loss(x, np.zeros(3))
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        F.binary_cross_entropy(Tensor(np.array([1.5])), np.array([1.0]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        F.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match="2 rows of logits but 1 labels"):
        F.cross_entropy(x, np.array([0]))
    with pytest.raises(ValueError, match="integers"):
        F.cross_entropy(x, np.array([0.5, 1.0]))


def test_same_values_and_gradients_as_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 5)), rng.uniform(0, 1, (4, 5))
    labels = rng.integers(0, 5, 4)
    cases = {
        "sigmoid": (lambda f, x: f.sigmoid(x), torch.sigmoid),
        "softplus": (lambda f, x: f.softplus(x), tf.softplus),
        "log_softmax": (lambda f, x: f.log_softmax(x, axis=1), lambda x: tf.log_softmax(x, 1)),
        "logsumexp": (lambda f, x: f.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, 1)),
        "mse": (lambda f, x: f.mse_loss(x, t), lambda x: tf.mse_loss(x, torch.tensor(t))),
        "bce_logits": (
            lambda f, x: f.binary_cross_entropy_with_logits(x, t),
            lambda x: tf.binary_cross_entropy_with_logits(x, torch.tensor(t)),
        ),
        "cross_entropy": (
            lambda f, x: f.cross_entropy(x, labels),
            lambda x: tf.cross_entropy(x, torch.tensor(labels)),
        ),
    }
    for name, (ours, theirs) in cases.items():
        a = Tensor(x, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        ya, yb = ours(F, a), theirs(b)
        np.testing.assert_allclose(ya.data, yb.detach().numpy(), rtol=1e-10, err_msg=name)
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_linear_mixed_dtypes_follow_numpy_promotion():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    W, b = Tensor(np.ones((4, 3), np.float32), requires_grad=True), Tensor(np.ones(4))
    y = F.linear(x, W, b)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32
