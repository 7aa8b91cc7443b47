"""Every primitive op: values equal NumPy's, gradients pass gradcheck on hypothesis-drawn shapes
(broadcasting and size-1 axes included), in float64."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratch.autograd as ag
from scratch.autograd import GradcheckError, Tensor, gradcheck

seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def normal(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def away_from_zero(x):
    return np.where(x < 0, x - 0.5, x + 0.5)


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a**b, np.power),
}


@pytest.mark.parametrize("name", BINARY)
@given(shapes=pairs, seed=seeds)
def test_binary_ops_broadcast(name, shapes, seed):
    op, ref = BINARY[name]
    a, b = normal(seed, *shapes.input_shapes)
    if name == "div":
        b = away_from_zero(b)
    if name == "pow":
        a = np.abs(a) + 0.5  # a positive base: a**b and b log a are defined
    y = op(Tensor(a), Tensor(b))
    np.testing.assert_allclose(y.data, ref(a, b))
    assert y.shape == shapes.result_shape
    gradcheck(op, a, b)


@given(shape=shapes, seed=seeds, c=st.sampled_from([2, 3, 0.5, -1.5]))
def test_pow_by_constant(shape, seed, c):
    (x,) = normal(seed, shape)
    x = np.abs(x) + 0.5
    gradcheck(lambda x: x**c, x)
    gradcheck(lambda x: abs(c) ** x, x)  # the reflected operator


@given(shape=shapes, seed=seeds)
def test_unary_ops(shape, seed):
    (x,) = normal(seed, shape)
    np.testing.assert_allclose((-Tensor(x)).data, -x)
    np.testing.assert_allclose(Tensor(x).exp().data, np.exp(x))
    np.testing.assert_allclose(Tensor(np.abs(x) + 0.1).log().data, np.log(np.abs(x) + 0.1))
    gradcheck(lambda x: -x, x)
    gradcheck(ag.exp, x)
    gradcheck(ag.log, np.abs(x) + 0.5)


@given(shapes=pairs, seed=seeds)
def test_scalar_constants_on_both_sides(shapes, seed):
    a, _ = normal(seed, *shapes.input_shapes)
    f = lambda x: (2.0 - x) * 3 + 1 / (x * x + 1) - x / 4  # noqa: E731
    gradcheck(f, a)
    np.testing.assert_allclose(f(Tensor(a)).data, f(a))


@given(data=st.data(), seed=seeds)
def test_reductions(data, seed):
    shape = data.draw(shapes)
    axis = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    keepdims = data.draw(st.booleans())
    (x,) = normal(seed, shape)
    for name in ("sum", "mean", "max"):
        op = getattr(ag, name)
        y = op(Tensor(x), axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(y.data, getattr(np, name)(x, axis=axis, keepdims=keepdims))
        gradcheck(lambda x, op=op: op(x, axis=axis, keepdims=keepdims), x)


def test_reduction_over_several_axes_and_methods():
    (x,) = normal(0, (2, 3, 4))
    gradcheck(lambda x: x.sum(axis=(0, 2)), x)
    gradcheck(lambda x: x.mean(axis=(1, 2), keepdims=True), x)
    gradcheck(lambda x: x.max(axis=(0, -1)), x)


def test_max_splits_the_gradient_between_ties():
    x = Tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0, 0.5, 0.5])


@given(shape=shapes, seed=seeds)
def test_reshape_transpose_broadcast(shape, seed):
    (x,) = normal(seed, shape)
    gradcheck(lambda x: x.reshape(-1), x)
    gradcheck(lambda x: x.reshape((1, *shape, 1)), x)
    gradcheck(lambda x: x.T, x)
    axes = tuple(np.random.default_rng(seed).permutation(len(shape)))
    np.testing.assert_array_equal(Tensor(x).transpose(*axes).data, x.transpose(axes))
    gradcheck(lambda x: x.transpose(*axes), x)
    gradcheck(
        lambda x: ag.broadcast_to(x, (2, *shape)) * np.arange(2.0).reshape(2, *[1] * len(shape)), x
    )


matmul_shapes = hnp.mutually_broadcastable_shapes(
    signature="(m,n),(n,p)->(m,p)", min_dims=0, max_dims=2, min_side=1, max_side=3
)


@given(shapes=matmul_shapes, seed=seeds)
def test_matmul_batched_and_broadcast(shapes, seed):
    a, b = normal(seed, *shapes.input_shapes)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b)
    gradcheck(lambda a, b: a @ b, a, b)


def test_matmul_with_vectors():
    a, v = normal(1, (3, 4), (4,))
    np.testing.assert_allclose((Tensor(a) @ Tensor(v)).data, a @ v)
    np.testing.assert_allclose((Tensor(v) @ Tensor(a.T)).data, v @ a.T)
    gradcheck(lambda a, v: a @ v, a, v)
    gradcheck(lambda v, a: v @ a, v, a.T)
    gradcheck(lambda u, v: u @ v, v, v + 1)


@given(shape=shapes, seed=seeds)
def test_getitem_basic_and_integer_arrays(shape, seed):
    (x,) = normal(seed, shape)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, shape[0], size=5)  # repeated rows must accumulate
    for index in (0, slice(None, None, -1), (Ellipsis, 0), (None, slice(1, None)), rows):
        np.testing.assert_array_equal(Tensor(x)[index].data, x[index])
        gradcheck(lambda x, index=index: x[index], x)


def test_getitem_pairs_of_integer_arrays():
    (x,) = normal(2, (3, 4))
    i, j = np.array([0, 2, 0]), np.array([1, 3, 1])
    gradcheck(lambda x: x[i, j], x)
    gradcheck(lambda x: x[i, 1:], x)
    gradcheck(lambda x: x[x.data > 0], x)  # a boolean mask
    gradcheck(lambda x: x[[0, 0, 2]], x)  # a list


@given(data=st.data(), seed=seeds)
def test_concat_and_stack(data, seed):
    shape = data.draw(shapes)
    axis = data.draw(st.integers(0, len(shape) - 1))
    other = tuple(n + 1 if i == axis else n for i, n in enumerate(shape))
    a, b, c = normal(seed, shape, other, shape)
    np.testing.assert_array_equal(ag.concat([a, b], axis=axis).data, np.concatenate([a, b], axis))
    gradcheck(lambda a, b: ag.concat([a, b], axis=axis), a, b)
    np.testing.assert_array_equal(ag.stack([a, c], axis=axis).data, np.stack([a, c], axis))
    gradcheck(lambda a, c: ag.stack([a, c], axis=axis), a, c)


def test_gradcheck_catches_a_wrong_backward():
    class WrongExp(ag.Function):
        def forward(self, x):
            self.y = np.exp(x)
            return self.y

        def backward(self, gy):
            return (gy * self.y * 1.01,)

    with pytest.raises(GradcheckError, match=r"input 0 at index \(\d+,\): analytic"):
        gradcheck(lambda x: WrongExp()(x), np.linspace(-1, 1, 5))


def test_gradcheck_catches_a_missing_unbroadcast_free_bug():
    """A backward that returns a wrongly shaped gradient is summed by the base class; a backward
    that forgets an input entirely is caught as a zero gradient."""

    class ForgetsB(ag.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            return gy, None

    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda a, b: ForgetsB()(a, b), np.ones(3), np.ones(3))
