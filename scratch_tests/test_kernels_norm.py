"""The BatchNorm kernels: Numba equals its NumPy twin, both equal the defining sums, in float32 and
float64, compiled and as plain Python."""

from contextlib import nullcontext
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.kernels import norm as N

shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 6), st.integers(1, 6))


@pytest.mark.parametrize("jit", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=shapes, seed=st.integers(0, 2**31))
def test_norm_kernels_equal_twins_and_the_sums(jit, dtype, shape, seed):
    bodies = {name: getattr(N, name).py_func for name in ("_moments", "_sums", "_affine")}
    with nullcontext() if jit else patch.multiple(N, **bodies):  # compiled, or as plain Python
        check_norm_kernels(dtype, shape, seed)


def check_norm_kernels(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x = (3.0 + 2.0 * rng.standard_normal(shape)).astype(dtype)  # mean far from 0
    gy = rng.standard_normal(shape).astype(dtype)
    a, d, b = rng.standard_normal((3, shape[1]))  # (C,) float64 each
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    mu, var = N.channel_moments(x)
    for got, want in zip((mu, var), N.channel_moments_numpy(x), strict=True):
        np.testing.assert_allclose(got, want, **tol)
    per_channel = x.transpose(1, 0, 2, 3).reshape(shape[1], -1).astype(np.float64)  # (C, n)
    np.testing.assert_allclose(mu, per_channel.mean(1), **tol)
    np.testing.assert_allclose(var, per_channel.var(1), **tol)
    s, r = N.channel_sums(gy, x)
    for got, want in zip((s, r), N.channel_sums_numpy(gy, x), strict=True):
        np.testing.assert_allclose(got, want, **tol)
    for args in ((x, a, d), (x, a, d, gy, b)):
        y = N.channel_affine(*args)
        assert y.dtype == dtype and y.shape == shape
        np.testing.assert_allclose(y, N.channel_affine_numpy(*args), **tol)
    c = shape[1] - 1
    np.testing.assert_allclose(
        N.channel_affine(x, a, d, gy, b)[:, c],
        a[c] * x[:, c] + b[c] * gy[:, c] + d[c],
        **tol,
    )
