"""The fused reverse-step kernel equals its NumPy twin (and its pure-Python body)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.kernels.sampler import reverse_step, reverse_step_numpy


def _inputs(seed, B, D, dtype, with_noise):
    rng = np.random.default_rng(seed)
    x, eps, noise = (rng.standard_normal((B, D)).astype(dtype) for _ in range(3))
    c_x, c_eps, sigma = rng.uniform(0.5, 2.0, B), rng.uniform(-1.0, 1.0, B), rng.uniform(0, 1, B)
    return x, eps, noise if with_noise else None, c_x, c_eps, sigma


@given(
    seed=st.integers(0, 2**32 - 1),
    B=st.integers(1, 9),
    D=st.integers(1, 300),
    dtype=st.sampled_from([np.float32, np.float64]),
    with_noise=st.booleans(),
)
def test_kernel_equals_numpy_twin(seed, B, D, dtype, with_noise):
    args = _inputs(seed, B, D, dtype, with_noise)
    want = reverse_step_numpy(*args)
    for kernel in (reverse_step, getattr(reverse_step, "py_func", reverse_step)):
        got = kernel(*args)
        assert got.dtype == want.dtype == dtype and got.shape == (B, D)
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=0)


@pytest.mark.parametrize("kernel", [reverse_step, reverse_step_numpy])
def test_kernel_computes_the_update(kernel):
    x, eps, noise, c_x, c_eps, sigma = _inputs(0, 4, 5, np.float64, True)
    want = c_x[:, None] * x + c_eps[:, None] * eps + sigma[:, None] * noise
    np.testing.assert_allclose(kernel(x, eps, noise, c_x, c_eps, sigma), want, rtol=1e-14)
    np.testing.assert_allclose(
        kernel(x, eps, None, c_x, c_eps, sigma), want - sigma[:, None] * noise, rtol=1e-12
    )
