"""The convolutional layers: gradcheck in float64 on hypothesis shapes, PyTorch's semantics
(buffers, init, outputs and gradients equal to torch when it is installed), and clear errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch import nn
from scratch.autograd import Tensor, concat, gradcheck, no_grad
from scratch.models.ema import update_batchnorm
from scratch.nn import BatchNorm2d, Conv2d, Embedding, MaxPool2d, Upsample
from scratch.nn.conv import conv2d
from scratch.nn.norm import batch_norm2d
from scratch.nn.pooling import max_pool2d, upsample_bilinear2x

try:
    import torch
except ImportError:
    torch = None
need_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

small = st.integers(1, 3)
tiny = st.integers(1, 2)  # gradcheck runs two forwards per input element: keep inputs small


@given(B=tiny, C=tiny, O=small, H=st.integers(2, 5), k=st.integers(1, 3), s=small,
       p=st.integers(0, 1), bias=st.booleans(), seed=st.integers(0, 2**31))  # fmt: skip
def test_conv2d_gradcheck(B, C, O, H, k, s, p, bias, seed):
    if H + 2 * p < k:
        return
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal((B, C, H, H + 1)), rng.standard_normal((O, C, k, k))]
    if bias:
        args.append(rng.standard_normal(O))
    assert gradcheck(lambda x, W, *b: conv2d(x, W, *b, stride=s, padding=p), *args)


@given(B=st.integers(2, 3), C=small, H=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_batch_norm_gradcheck_train_and_eval(B, C, H, seed):
    rng = np.random.default_rng(seed)
    x, g, b = rng.standard_normal((B, C, H, H)), rng.uniform(0.5, 2, C), rng.standard_normal(C)
    assert gradcheck(lambda x, g, b: batch_norm2d(x, g, b)[0], x, g, b, rtol=1e-3)
    mean, var = rng.standard_normal(C), rng.uniform(0.5, 2, C)
    assert gradcheck(lambda x, g, b: batch_norm2d(x, g, b, 1e-5, mean, var)[0], x, g, b)


@given(
    shape=st.tuples(tiny, tiny, st.integers(2, 6), st.integers(2, 6)), seed=st.integers(0, 2**31)
)
def test_pool_upsample_concat_gradcheck(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1  # distinct values: max is unique
    assert gradcheck(max_pool2d, x)
    assert gradcheck(upsample_bilinear2x, rng.standard_normal(shape))
    y = rng.standard_normal((shape[0], 2, *shape[2:]))
    assert gradcheck(lambda a, b: concat([a, b], axis=1), rng.standard_normal(shape), y)


def test_embedding_gradient_accumulates_repeated_ids():
    emb = Embedding(5, 3)
    ids = np.array([[1, 4], [1, 1]])
    y = emb(ids)
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.data[1, 1], emb.weight.data[1])
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [0, 3, 0, 0, 1])


def test_conv2d_init_and_names():
    c = Conv2d(4, 6, 3, padding=1)
    assert c.weight.shape == (6, 4, 3, 3) and c.bias.shape == (6,)
    bound = 1 / np.sqrt(4 * 9)
    assert np.abs(c.weight.data).max() <= bound and np.abs(c.weight.data).max() > 0.8 * bound
    assert set(c.state_dict()) == {"weight", "bias"}
    assert Conv2d(4, 6, 1, bias=False).bias is None


def test_batchnorm_buffers_and_modes():
    bn = BatchNorm2d(3)
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var",
                                    "num_batches_tracked"}  # fmt: skip
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    n = 4 * 25
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(
        bn.running_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-5
    )
    assert bn.num_batches_tracked == 1 and bn.state_dict()["running_mean"] is bn.running_mean
    bn.eval()
    before = bn.running_mean.copy()
    y = bn(x).data
    want = (x - bn.running_mean[:, None, None]) / np.sqrt(bn.running_var[:, None, None] + 1e-5)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.running_mean, before)


def test_batchnorm_momentum_none_keeps_the_plain_mean_of_the_batches():
    """momentum=None (PyTorch's cumulative average): after k batches the running statistics are
    the means of the k batch means and of the k unbiased batch variances."""
    bn = BatchNorm2d(2, momentum=None)
    rng = np.random.default_rng(1)
    xs = [(rng.standard_normal((3, 2, 4, 4)) * (k + 1) + k).astype(np.float32) for k in range(4)]
    for x in xs:
        bn(x)
    means = [x.mean(axis=(0, 2, 3)) for x in xs]
    variances = [x.var(axis=(0, 2, 3), ddof=1) for x in xs]
    np.testing.assert_allclose(bn.running_mean, np.mean(means, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, np.mean(variances, axis=0), rtol=1e-5)
    assert bn.num_batches_tracked == 4


def test_update_batchnorm_recomputes_the_statistics_and_restores_the_modes():
    """The running statistics become the plain means over the batches of the BN layer's input
    (here a convolution's output); momentum and the train/eval mode are restored."""
    conv, bn = Conv2d(2, 3, 3, padding=1), BatchNorm2d(3, momentum=0.3)
    model = nn.Sequential(conv, bn)
    model.eval()
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((2, 2, 5, 5)).astype(np.float32) + k for k in range(3)]
    update_batchnorm(model, ((x,) for x in xs))
    with no_grad():
        hs = [conv(x).data for x in xs]
    means = np.mean([h.mean(axis=(0, 2, 3)) for h in hs], axis=0)
    variances = np.mean([h.var(axis=(0, 2, 3), ddof=1) for h in hs], axis=0)
    np.testing.assert_allclose(bn.running_mean, means, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, variances, rtol=1e-4)
    assert bn.num_batches_tracked == 3 and bn.momentum == 0.3 and not model.training


@pytest.mark.parametrize(
    "make, x_shape",
    [
        (lambda: Conv2d(3, 4, 3, padding=1), (2, 2, 5, 5)),
        (lambda: Conv2d(3, 4, 3), (2, 3, 5)),
        (lambda: Conv2d(3, 4, 7), (2, 3, 5, 5)),
        (lambda: BatchNorm2d(3), (2, 4, 5, 5)),
        (lambda: BatchNorm2d(3), (1, 3, 1, 1)),
        (lambda: MaxPool2d(2), (2, 3, 1, 5)),
        (lambda: Upsample(), (2, 3, 5)),
    ],
)
def test_bad_shapes_raise_clear_errors(make, x_shape):
    with pytest.raises(ValueError, match="expects|larger|needs"):
        make()(np.zeros(x_shape, np.float32))


def test_bad_constructor_arguments():
    for bad in (lambda: Conv2d(0, 4, 3), lambda: Conv2d(3, 4, 3, stride=0),
                lambda: MaxPool2d(3), lambda: Upsample(mode="nearest"),
                lambda: BatchNorm2d(0), lambda: Embedding(0, 3)):  # fmt: skip
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match=r"ids in \[0, 5\)"):
        Embedding(5, 2)(np.array([5]))


@need_torch
@given(B=small, C=small, O=small, H=st.integers(3, 8), k=st.sampled_from([1, 3]),
       s=st.integers(1, 2), seed=st.integers(0, 2**31))  # fmt: skip
def test_layers_equal_torch(B, C, O, H, k, s, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, C, H, 2 * H)).astype(np.float32)
    conv = Conv2d(C, O, k, stride=s, padding=k // 2)
    bn = BatchNorm2d(O)
    tconv = torch.nn.Conv2d(C, O, k, stride=s, padding=k // 2)
    tbn = torch.nn.BatchNorm2d(O)
    tconv.load_state_dict({k_: torch.from_numpy(v) for k_, v in conv.state_dict().items()})
    xs = Tensor(x, requires_grad=True)
    xt = torch.from_numpy(x).requires_grad_()
    y = upsample_bilinear2x(max_pool2d(bn(conv(xs)))) if H * 2 // s >= 2 else bn(conv(xs))
    yt = tbn(tconv(xt))
    if H * 2 // s >= 2:
        yt = torch.nn.functional.interpolate(
            torch.nn.functional.max_pool2d(yt, 2), scale_factor=2, mode="bilinear"
        )
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(gy)
    yt.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(conv.weight.grad, tconv.weight.grad.numpy(), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(bn.running_var, tbn.running_var.numpy(), rtol=1e-5)
    bn.eval(), tbn.eval()
    with no_grad():
        np.testing.assert_allclose(
            bn(conv(x)).data, tbn(tconv(torch.from_numpy(x))).detach().numpy(), rtol=1e-4, atol=1e-4
        )
