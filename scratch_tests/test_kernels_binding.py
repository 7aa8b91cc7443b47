"""The one switch between each kernel and its NumPy twin (``scratch.kernels._jit.fast``)."""

import importlib
import json
import os
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import scratch.kernels
from scratch.kernels import _jit

MODULES = [f"scratch.kernels.{m.name}" for m in pkgutil.iter_modules(scratch.kernels.__path__)]
for _name in MODULES:
    importlib.import_module(_name)

BOUND = """
import importlib, json, sys
from scratch.kernels import _jit
for name in sys.argv[1:]:
    importlib.import_module(name)
out = {}
for key, (kernel, twin) in _jit.TWINS.items():
    module, name = key.rsplit(".", 1)
    out[key] = getattr(sys.modules[module], name) is twin
print(json.dumps({"jit": _jit.JIT, "bound_to_twin": out}))
"""


def test_every_kernel_has_a_numpy_twin_registered():
    assert len(_jit.TWINS) >= 16
    for key, (kernel, twin) in _jit.TWINS.items():
        module, name = key.rsplit(".", 1)
        assert getattr(sys.modules[module], name + "_numpy") is twin
        assert getattr(sys.modules[module], name) is (kernel if _jit.JIT else twin)


def test_without_jit_every_kernel_is_its_numpy_twin():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    run = subprocess.run([sys.executable, "-c", BOUND, *MODULES], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    got = json.loads(run.stdout)
    assert got["jit"] is False
    assert set(got["bound_to_twin"]) == set(_jit.TWINS)
    assert all(got["bound_to_twin"].values()), got["bound_to_twin"]


RUN = """
import json
import numpy as np
from scratch.kernels import conv, resample
from scratch.probability import GaussianMixture

rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 6])
gmm = GaussianMixture(2, max_iter=5, tol=0, random_state=0).fit(X)
x, W = rng.standard_normal((2, 8, 6, 6)), rng.standard_normal((4, 8, 3, 3))
out = {"means": gmm.means_, "maxpool": resample.maxpool2(x)[0], "upsample": resample.upsample2(x)}
for method in conv.METHODS:
    out[method], saved = conv.conv2d_forward(x, W, None, 1, 1, method)
    dx, dW, _ = conv.conv2d_backward(out[method], saved, x.shape, W, 1, 1, method=method)
    out[method + " dx"], out[method + " dW"] = dx, dW
print(json.dumps({k: v.ravel().tolist() for k, v in out.items()}))
"""


def test_the_package_gives_the_same_results_without_jit():
    """EM, each convolution route and the resampling, run on the NumPy twins in a child process
    with NUMBA_DISABLE_JIT=1, equal the jitted kernels' results in another."""

    def results(env):
        run = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True,
                             check=True)  # fmt: skip
        return json.loads(run.stdout)

    jit_env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    got, want = results(dict(jit_env, NUMBA_DISABLE_JIT="1")), results(jit_env)
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-9, atol=1e-9, err_msg=key)


def test_bind_picks_the_side():
    kernel, twin = _jit.TWINS["scratch.kernels.em.em_step"]
    assert _jit.bind(kernel, twin, jit=False) is twin
    assert _jit.bind(kernel, twin, jit=True) is kernel


def test_a_misnamed_twin_is_refused():
    def x_numpy():
        pass

    def y():
        pass

    with pytest.raises(NameError, match="twin of y is x_numpy"):
        _jit.fast(x_numpy)(y)
