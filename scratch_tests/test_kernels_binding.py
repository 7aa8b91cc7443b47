"""The one switch between each kernel and its NumPy twin (``scratch.kernels._jit.fast``)."""

import importlib
import os
import pkgutil
import subprocess
import sys

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
    import json

    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    run = subprocess.run([sys.executable, "-c", BOUND, *MODULES], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    got = json.loads(run.stdout)
    assert got["jit"] is False
    assert set(got["bound_to_twin"]) == set(_jit.TWINS)
    assert all(got["bound_to_twin"].values()), got["bound_to_twin"]


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
