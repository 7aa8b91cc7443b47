"""``scratch regression`` (step 6): figures, results, and fits as good as the data allow."""

import json

import numpy as np
import pytest

from scratch.cli import main as cli
from scratch.steps import step06_regression as step


def test_full_run_fits_to_the_noise_floor(tmp_path, capsys):
    result = step.main(["--out", str(tmp_path), "--seed", "0"])
    out = capsys.readouterr().out
    assert out.count("sin fit            iter") == 10  # the loss every 1000 iterations
    assert result["sin_iters"] == 10000
    # U(0, 1) noise has variance 1/12 = 0.083: the MLP reaches it, a straight line cannot (0.27)
    assert 0.07 < result["sin_loss"] < 0.1
    assert result["linear_loss"] < 0.1 and 1.8 < result["linear_W"] < 2.6
    for name in ("linear_regression.png", "sin_fit.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert json.loads((tmp_path / "regression.json").read_text()) == result


def test_quick_through_the_cli(tmp_path, capsys):
    assert cli(["regression", "--quick", "--out", str(tmp_path)]) == 0
    assert "10000 iterations" in capsys.readouterr().out
    result = json.loads((tmp_path / "regression.json").read_text())
    # the book's 10000 iterations in --quick too: the sine is fitted (the noise U(0, 1) alone
    # leaves 1/12 = 0.083), where 1000 left the straight line's 0.25
    assert result["sin_iters"] == 10000 and result["sin_loss"] < 0.1


def test_seed_makes_runs_reproducible(tmp_path):
    a = step.main(["--quick", "--iters", "300", "--out", str(tmp_path / "a"), "--seed", "3"])
    b = step.main(["--quick", "--iters", "300", "--out", str(tmp_path / "b"), "--seed", "3"])
    assert a == b


def test_linear_regression_converges_to_least_squares():
    rng = np.random.default_rng(1)
    x = rng.random((100, 1)).astype(np.float32)
    y = (5 + 2 * x + rng.random((100, 1))).astype(np.float32)
    W, b, losses = step.linear_regression(x, y, lr=0.5, iters=3000)
    slope, intercept = np.polyfit(x[:, 0], y[:, 0], 1)
    np.testing.assert_allclose([W[0, 0], b[0]], [slope, intercept], atol=1e-3)
    assert losses[-1] < losses[0]


def test_bad_iterations(tmp_path, capsys):
    with pytest.raises(SystemExit):
        step.main(["--iters", "0", "--out", str(tmp_path)])
    assert "--iters: expected an integer >= 1, got '0'" in capsys.readouterr().err
