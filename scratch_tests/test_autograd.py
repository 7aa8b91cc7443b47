"""Graph semantics of the autograd: accumulation, diamonds, deep chains, no_grad, detach,
freeing the graph, dtypes and errors."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import scratch
from scratch import Tensor, no_grad
from scratch.autograd import Function
from scratch.nn import functional as F


def leaf(*values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def test_top_level_exports():
    assert scratch.Tensor is Tensor and scratch.no_grad is no_grad


def test_diamond_gets_the_summed_gradient():
    x = leaf(3.0)
    a = x * 2  # x used twice through a and b
    b = x * x
    (a + b).sum().backward()
    np.testing.assert_allclose(x.grad, [2 + 2 * 3.0])


def test_reused_subgraph_backprops_once_per_path():
    x = leaf(1.5)
    h = (x * x).exp()  # one sub-graph, consumed by three paths
    y = h * h + h + 3 * h
    y.sum().backward()
    hv = np.exp(1.5**2)
    np.testing.assert_allclose(x.grad, [(2 * hv + 4) * hv * 2 * 1.5])


def test_deep_chain_of_100000_ops_without_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
        y = y - 0.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**50_000], rtol=1e-9)


def test_gradients_accumulate_until_zero_grad():
    x = leaf(2.0, 3.0)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * 2 * x.data)
    x.zero_grad()
    assert x.grad is None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_backward_with_explicit_upstream_gradient():
    x = leaf(1.0, 2.0, 3.0)
    (x * x).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad, [2.0, 0.0, -6.0])


def test_no_grad_records_nothing():
    x = leaf(1.0)
    with no_grad():
        y = x * 2 + 1
    assert y.creator is None and not y.requires_grad
    z = x * 2  # recording is back on afterwards
    assert z.creator is not None and z.requires_grad


def test_detach_cuts_the_graph():
    x = leaf(2.0)
    y = x * x.detach()  # d/dx = x (not 2x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0])
    assert x.detach().data is x.data


def test_inputs_without_requires_grad_get_no_grad():
    x, c = leaf(2.0), Tensor(np.array([5.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad, [5.0])


def test_graph_is_freed_after_backward_and_retain_graph_keeps_it():
    x = leaf(2.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, [8.0])
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_backward_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).backward()
    with pytest.raises(ValueError, match="one-element"):
        (leaf(1.0, 2.0) * 2).backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\), expected \(2,\)"):
        (leaf(1.0, 2.0) * 2).backward(np.ones(3))


def test_memory_stays_flat_over_a_long_loop():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((64, 64)).astype(np.float32), requires_grad=True)
    x = rng.standard_normal((32, 64)).astype(np.float32)

    def step():
        y = ((Tensor(x) @ W).exp() * 0.01).sum()
        y.backward()
        W.grad = None

    for _ in range(20):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(500):
        step()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 64 * 1024, f"memory grew by {grown} bytes over 500 steps"


def test_backward_frees_saved_arrays_while_the_output_is_alive():
    x = leaf(*range(5))
    y = (x.exp() * 2).sum()
    f = y.creator
    y.backward()
    assert f.inputs is None and not [k for k in vars(f) if k != "inputs"]


def test_an_activation_backward_does_not_need_is_freed_at_once():
    x = Tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    h = x * 3.0  # Mul keeps its inputs' data; ReLU keeps only its output
    alive = weakref.ref(h.data)
    y = F.relu(h)
    del h
    gc.collect()
    assert alive() is None, "the graph still holds the ReLU's input"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 3.0 * (x.data > 0))


# ---- dtypes --------------------------------------------------------------------------------------


def test_dtypes():
    assert Tensor(1.5).dtype == np.float32
    assert Tensor(3).dtype == np.float32
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.arange(3)).dtype == np.float32
    assert Tensor(np.ones(2)).dtype == np.float64
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(np.float64(2.0)).dtype == np.float64  # a NumPy float scalar keeps its dtype
    assert (Tensor(np.ones(2, np.float32)) * np.float64(2.0)).dtype == np.float64  # as NumPy 2
    x32, x64 = Tensor(np.ones(2, np.float32)), Tensor(np.ones(2))
    assert (x32 * 2.5 + 1).dtype == np.float32  # python numbers do not promote
    assert (x64 * 0.1).data[0] == 0.1  # and are exact in float64
    assert (x32 + x64).dtype == np.float64  # NumPy's promotion
    assert (x32 * np.ones(2)).dtype == np.float64


def test_gradients_have_their_inputs_dtype():
    a = Tensor(np.ones(3, np.float32), requires_grad=True)
    b = Tensor(np.ones(3, np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="real numbers"):
        Tensor(np.array(["a"]))
    with pytest.raises(ValueError, match="real numbers"):
        Tensor([1 + 2j])
    with pytest.raises(ValueError, match="integer or bool Tensor"):
        Tensor(np.ones(3))[Tensor(np.zeros(1))]
    with pytest.raises(ValueError, match="one-element"):
        Tensor(np.ones(3)).item()


def test_tensor_basics():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert (
        x.shape == (2, 3) and x.ndim == 2 and x.numel() == 6 and x.size() == (2, 3) and len(x) == 2
    )
    assert x.numpy() is x.data and x.sum().item() == 15.0
    assert x.T.shape == (3, 2) and x.reshape(3, 2).shape == (3, 2)
    assert x.transpose(1, 0).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert "requires_grad=True" in repr(x)
    y = np.ones(3) * x  # an ndarray on the left defers to Tensor
    assert isinstance(y, Tensor)
    assert np.asarray(x) is x.data and Tensor(x).data is x.data  # Tensor(tensor): the same data


def test_multi_output_function_with_an_unused_output():
    class Split(Function):
        def forward(self, x):
            return x[:2].copy(), x[2:].copy()

        def backward(self, ga, gb):
            return (np.concatenate([ga, gb]),)

    x = leaf(1.0, 2.0, 3.0)
    a, b = Split()(x)
    (a * 3).sum().backward()  # b is never used: its gradient is zero
    np.testing.assert_allclose(x.grad, [3.0, 3.0, 0.0])


def test_leaf_gradients_never_alias_each_other():
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    c = leaf(5.0, 6.0)
    (a + b + c.reshape(2)).sum().backward()  # a, b and c would all get the same upstream array
    a.grad *= 10  # in place, as a user (or gradient clipping) may do
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(c.grad, [1.0, 1.0])
    s = leaf(1.0, 2.0)
    s.sum().backward()  # the backward of sum is a read-only broadcast view
    s.grad += 1
    np.testing.assert_array_equal(s.grad, [2.0, 2.0])


def test_data_and_gradient_data_are_ndarrays_even_when_0_d():
    x, y = Tensor(np.float64(2.0), requires_grad=True), Tensor(np.float64(3.0), requires_grad=True)
    z = (x * y).sum()
    assert type(z.data) is np.ndarray and type((x * y).data) is np.ndarray
    z.backward()
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 3.0 and y.grad.item() == 2.0
