"""The convolution and resampling kernels: Numba equals its NumPy twin, and both equal the
defining sums written as plain loops."""

import contextlib
import platform
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.kernels import conv as K
from scratch.kernels import resample as R
from scratch.kernels import winograd as Wg
from scratch.kernels._jit import TWINS
from scratch.kernels.memory import reuse_freed_memory

geometry = st.tuples(
    st.integers(1, 3),  # B
    st.integers(1, 4),  # C
    st.integers(1, 9),  # H
    st.integers(1, 9),  # W
    st.integers(1, 3),  # kh
    st.integers(1, 3),  # kw
    st.integers(1, 3),  # stride
    st.integers(0, 2),  # pad
).filter(lambda g: g[2] + 2 * g[7] >= g[4] and g[3] + 2 * g[7] >= g[5])


def _direct_conv(x, W, b, stride, pad):
    """y[b, o, p, q] = sum_{c, i, j} W[o, c, i, j] x_pad[b, c, p s + i, q s + j] + b[o]."""
    B, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = K.out_size(H, kh, stride, pad), K.out_size(Wd, kw, stride, pad)
    y = np.empty((B, O, Ho, Wo))
    for p in range(Ho):
        for q in range(Wo):
            patch = xp[:, :, p * stride : p * stride + kh, q * stride : q * stride + kw]
            y[:, :, p, q] = np.einsum("bcij,ocij->bo", patch, W) + b
    return y


def _direct_grads(x, W, gy, stride, pad):
    """dW[o, c, i, j] = sum_{b, p, q} gy[b, o, p, q] x_pad[b, c, p s + i, q s + j] and dx, the
    sum of W[o, c, i, j] gy[b, o, p, q] over the outputs (p, q) that read x_pad[b, c, ...]."""
    B, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dW = np.zeros_like(xp), np.zeros_like(W)
    for p in range(gy.shape[2]):
        for q in range(gy.shape[3]):
            rows, cols = slice(p * stride, p * stride + kh), slice(q * stride, q * stride + kw)
            dW += np.einsum("bo,bcij->ocij", gy[:, :, p, q], xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("bo,ocij->bcij", gy[:, :, p, q], W)
    return dxp[:, :, pad : pad + H, pad : pad + Wd], dW


@given(g=geometry, seed=st.integers(0, 2**31), dtype=st.sampled_from([np.float32, np.float64]))
def test_im2col_col2im_equal_numpy_twins(g, seed, dtype):
    B, C, H, W, kh, kw, s, p = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, C, H, W)).astype(dtype)
    cols = K.im2col(x, kh, kw, s, p)
    np.testing.assert_array_equal(cols, K.im2col_numpy(x, kh, kw, s, p))
    g_cols = rng.standard_normal(cols.shape).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        K.col2im(g_cols, x.shape, kh, kw, s, p),
        K.col2im_numpy(g_cols, x.shape, kh, kw, s, p),
        rtol=tol,
        atol=tol,
    )
    # col2im is the adjoint of im2col: <im2col(x), g> = <x, col2im(g)>
    lhs = float(np.sum(cols.astype(np.float64) * g_cols))
    rhs = float(np.sum(x.astype(np.float64) * K.col2im(g_cols, x.shape, kh, kw, s, p)))
    assert lhs == pytest.approx(rhs, rel=1e-4, abs=1e-4)


@contextlib.contextmanager
def numpy_twins(*modules):
    """Every kernel of ``modules`` bound to its NumPy twin, as where Numba is absent."""
    with contextlib.ExitStack() as stack:
        for m in modules:
            twins = {
                k.split(".")[-1]: t for k, (_, t) in TWINS.items() if k.startswith(m.__name__ + ".")
            }
            stack.enter_context(patch.multiple(m, **twins))
        yield


@pytest.mark.parametrize("path", ["shifted", "im2col"])
@given(g=geometry, O=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_conv_forward_backward_match_direct_sum_and_twin(path, g, O, seed):
    s, p, k = g[6], g[7], min(g[4], g[5])
    check_conv_forward_backward(g, O, seed, "shifted" if path == "shifted" and s == 1 and p < k
                                else "im2col")  # fmt: skip


def test_conv_method_is_checked():
    x, W = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3))
    with pytest.raises(ValueError, match="one of"):
        K.conv2d_forward(x, W, None, 1, 1, method="fft")
    with pytest.raises(ValueError, match="needs stride 1, 3x3, padding 1"):
        K.conv2d_forward(x, W, None, 2, 1, method="winograd")
    assert K.choose_method(x.shape, W.shape, 1, 1) == "im2col"  # 2 < MIN_SHIFTED_CHANNELS
    assert K.choose_method((1, 8, 5, 5), (3, 8, 3, 3), 1, 1) == "winograd"
    assert K.choose_method((1, 8, 5, 5), (3, 8, 3, 3), 1, 0) == "shifted"


@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)),
    O=st.integers(1, 5),
    seed=st.integers(0, 2**31),
)
def test_winograd_conv_matches_direct_sum_and_twin(shape, O, seed):
    """3x3, padding 1: forward and dx by Winograd (odd sizes, 1-pixel images), dW shifted."""
    B, C, H, W = shape
    with patch.object(Wg, "conv3x3", wraps=Wg.conv3x3) as spy:
        check_conv_forward_backward((B, C, H, W, 3, 3, 1, 1), O, seed, "winograd")
    assert spy.call_count == 4  # forward and dx, each with Numba and with the NumPy twins


@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)),
    O=st.integers(1, 5),
    seed=st.integers(0, 2**31),
    dtype=st.sampled_from([np.float32, np.float64]),
    block_bytes=st.sampled_from([1, 2000, 10**9]),  # 64 tiles per block (the last partial), or one
)
def test_winograd_transforms_equal_numpy_twins(shape, O, seed, dtype, block_bytes):
    B, C, H, W = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    Xp = K.pad_flat(x, H + 1, W + 1, 1, 1, 0, 2 * (W + 1) + 2)
    corners = Wg.tile_corners(B, H, W)
    anchors = corners[:, 0] * ((H + 1) * (W + 1)) + corners[:, 1] * (W + 1) + corners[:, 2]
    V, V_np = (np.full((16, C, len(anchors)), np.nan, dtype) for _ in range(2))
    Wg.transform_input(Xp, anchors, W + 1, V)
    Wg.transform_input_numpy(Xp, anchors, W + 1, V_np)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(V, V_np, rtol=tol, atol=tol)
    M, bias = rng.standard_normal((16, O, len(anchors))).astype(dtype), rng.standard_normal(O)
    y, y_np = (np.full((B, O, H, W), np.nan, dtype) for _ in range(2))
    Wg.transform_output(M, corners, bias.astype(dtype), y)
    Wg.transform_output_numpy(M, corners, bias.astype(dtype), y_np)
    assert not np.isnan(y).any()  # every pixel written
    np.testing.assert_allclose(y, y_np, rtol=tol, atol=tol)
    Wt, b = rng.standard_normal((O, C, 3, 3)).astype(dtype), bias.astype(dtype)
    want = _direct_conv(x.astype(np.float64), Wt.astype(np.float64), bias, 1, 1)
    for side in (contextlib.nullcontext(), numpy_twins(Wg)):
        with side:
            got = Wg.conv3x3(Xp, W + 1, (B, O, H, W), Wt, b, block_bytes)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=10 * tol, atol=10 * tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_weight_transform_is_g_w_gt(dtype):
    rng = np.random.default_rng(5)
    W = rng.standard_normal((3, 2, 3, 3)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for transform in (
        Wg.transform_weights,
        Wg.transform_weights.py_func,
        Wg.transform_weights_numpy,
    ):
        U = transform(W)
        assert U.dtype == dtype and U.shape == (3, 2, 16)
        for o in range(3):
            for c in range(2):
                want = Wg.G_MATRIX @ W[o, c] @ Wg.G_MATRIX.T
                np.testing.assert_allclose(U[o, c].reshape(4, 4), want, rtol=tol, atol=tol)


def check_conv_forward_backward(g, O, seed, method):
    B, C, H, Wd, kh, kw, s, p = g
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, C, H, Wd))
    W, b = rng.standard_normal((O, C, kh, kw)), rng.standard_normal(O)
    y, cols = K.conv2d_forward(x, W, b, s, p, method)
    with numpy_twins(K, Wg):
        y_np, cols_np = K.conv2d_forward(x, W, b, s, p, method)
    np.testing.assert_allclose(y, _direct_conv(x, W, b, s, p), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y_np, y, rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    got = K.conv2d_backward(gy, cols, x.shape, W, s, p, method=method)
    with numpy_twins(K, Wg):
        want = K.conv2d_backward(gy, cols_np, x.shape, W, s, p, method=method)
    for a, w in zip(got, want, strict=True):
        np.testing.assert_allclose(a, w, rtol=1e-10, atol=1e-10)
    # the gradients of L = sum(y gy), from the direct sums
    dx, dW = _direct_grads(x, W, gy, s, p)
    np.testing.assert_allclose(got[0], dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got[1], dW, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got[2], gy.sum(axis=(0, 2, 3)), rtol=1e-10)
    assert K.conv2d_backward(gy, cols, x.shape, W, s, p, False, method)[0] is None


@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 6), st.integers(1, 6)),
    grid=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
    margins=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    seed=st.integers(0, 2**31),
)
def test_flat_layout_is_the_definition_and_round_trips(shape, grid, margins, seed):
    B, C, H, W = shape
    top, left, extra_h, extra_w = grid
    Hp, Wp = H + top + extra_h, W + left + extra_w
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    Z = K.pad_flat(x, Hp, Wp, top, left, *margins)
    assert Z.shape == (C, margins[0] + B * Hp * Wp + margins[1])
    b, c, y, i = np.indices(shape).reshape(4, -1)
    columns = margins[0] + b * Hp * Wp + (y + top) * Wp + i + left
    np.testing.assert_array_equal(Z[c, columns], x[b, c, y, i])
    assert np.count_nonzero(Z) == np.count_nonzero(x)  # zeros everywhere else
    np.testing.assert_array_equal(K.unpad_flat(Z, B, Hp, Wp, top, left, H, W, margins[0]), x)


@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 9), st.integers(2, 9)),
    seed=st.integers(0, 2**31),
    ties=st.booleans(),
)
def test_maxpool_equals_twin_and_window_max(shape, seed, ties):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    if ties:
        x = np.round(x)  # many equal values: the first arg-max in row-major order wins
    y, arg = R.maxpool2(x)
    y_np, arg_np = R.maxpool2_numpy(x)
    np.testing.assert_array_equal(y, y_np)
    np.testing.assert_array_equal(arg, arg_np)
    B, C, H, W = shape
    for i in range(H // 2):
        for j in range(W // 2):
            np.testing.assert_array_equal(
                y[:, :, i, j], x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max(axis=(2, 3))
            )
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = R.maxpool2_backward(gy, arg, x.shape)
    np.testing.assert_array_equal(gx, R.maxpool2_backward_numpy(gy, arg, x.shape))
    np.testing.assert_allclose(gx.sum(), gy.sum(), rtol=1e-4, atol=1e-4)


@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 8), st.integers(1, 8)),
    seed=st.integers(0, 2**31),
)
def test_upsample_equals_twin_and_is_adjoint(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = R.upsample2(x)
    np.testing.assert_allclose(y, R.upsample2_numpy(x), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    gx = R.upsample2_backward(gy)
    np.testing.assert_allclose(gx, R.upsample2_backward_numpy(gy), rtol=1e-12, atol=1e-12)
    assert np.sum(y * gy) == pytest.approx(np.sum(x * gx), rel=1e-10, abs=1e-10)


def test_upsample_matrix_known_weights():
    # PyTorch's align_corners=False for n=3: out 0 clamps to pixel 0, out 1 = 0.75 x0 + 0.25 x1
    A = R.upsample_matrix(3, np.float64)
    np.testing.assert_allclose(
        A,
        [[1, 0, 0], [0.75, 0.25, 0], [0.25, 0.75, 0], [0, 0.75, 0.25], [0, 0.25, 0.75], [0, 0, 1]],
    )


def test_kernels_pure_python_bodies_agree():
    """The bodies Numba compiles, run as Python (the NUMBA_DISABLE_JIT path)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 5, 4)).astype(np.float32)
    names = ("_maxpool2", "_maxpool2_backward", "_upsample2", "_upsample2_backward")
    bodies = {name: getattr(R, name).py_func for name in names}
    with patch.multiple(R, **bodies):
        for kernel, twin, args in (
            (K.im2col.py_func, K.im2col_numpy, (3, 3, 2, 1)),
            (R.maxpool2, R.maxpool2_numpy, ()),
            (lambda x: R.maxpool2_backward(x[:, :, :2, :2], R.maxpool2(x)[1], x.shape),
             lambda x: R.maxpool2_backward_numpy(x[:, :, :2, :2], R.maxpool2(x)[1], x.shape), ()),
            (R.upsample2, R.upsample2_numpy, ()),
            (lambda x: R.upsample2_backward(R.upsample2_numpy(x)),
             lambda x: R.upsample2_backward_numpy(R.upsample2_numpy(x)), ()),
        ):  # fmt: skip
            got, want = kernel(x, *args), twin(x, *args)
            for a, w in zip(
                got if isinstance(got, tuple) else (got,),
                want if isinstance(want, tuple) else (want,),
                strict=True,
            ):
                np.testing.assert_allclose(a, w, rtol=1e-6, atol=1e-6)


def test_winograd_transforms_pure_python_bodies_agree():
    """The Winograd transforms' bodies run as Python (the NUMBA_DISABLE_JIT path)."""
    rng = np.random.default_rng(2)
    B, C, O, H, W = 2, 3, 2, 5, 4
    Xp = K.pad_flat(rng.standard_normal((B, C, H, W)), H + 1, W + 1, 1, 1, 0, 2 * (W + 1) + 2)
    corners = Wg.tile_corners(B, H, W)
    anchors = corners[:, 0] * ((H + 1) * (W + 1)) + corners[:, 1] * (W + 1) + corners[:, 2]
    V, V_np = np.empty((16, C, len(anchors))), np.empty((16, C, len(anchors)))
    Wg.transform_input.py_func(Xp, anchors, W + 1, V)
    Wg.transform_input_numpy(Xp, anchors, W + 1, V_np)
    np.testing.assert_allclose(V, V_np, rtol=1e-12, atol=1e-12)
    M, bias = rng.standard_normal((16, O, len(anchors))), rng.standard_normal(O)
    y, y_np = np.empty((B, O, H, W)), np.empty((B, O, H, W))
    Wg.transform_output.py_func(M, corners, bias, y)
    Wg.transform_output_numpy(M, corners, bias, y_np)
    np.testing.assert_allclose(y, y_np, rtol=1e-12, atol=1e-12)


def test_weight_gradient_blocks_sum_to_the_whole():
    rng = np.random.default_rng(3)
    G, Xp = rng.standard_normal((3, 1000)), rng.standard_normal((2, 1010))
    offsets = [0, 1, 5, 10]
    whole = np.concatenate([G @ Xp[:, off : off + 1000].T for off in offsets], axis=1)  # (3, 8)
    for block_bytes in (1, 10**9):  # 256-column blocks (4 of them, the last partial) or one
        got = K.stacked_weight_grad(G, Xp, offsets, 1000, block_bytes=block_bytes)
        np.testing.assert_allclose(got, whole, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("R, k", [(2, 4), (130, 129)])  # stacked (small k) and per-tap products
def test_shifted_matmul_blocks_equal_the_sum_of_shifted_products(R, k):
    rng = np.random.default_rng(4)
    W2, X = rng.standard_normal((R, 3 * k)), rng.standard_normal((k, 1010))
    offsets = [0, 3, 10]
    want = sum(W2[:, k * t : k * (t + 1)] @ X[:, off : off + 1000] for t, off in enumerate(offsets))
    for block_bytes in (1, 10**9):  # 256-column blocks (the last partial) or one
        got = K.shifted_matmul(W2, X, offsets, 1000, block_bytes=block_bytes)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_reuse_freed_memory_takes_effect_exactly_on_glibc():
    assert reuse_freed_memory() is (platform.libc_ver()[0] == "glibc")
    a = np.ones(2**24, np.float32)  # 64 MB, now from the heap: still an ordinary array
    assert a.sum() == 2**24
