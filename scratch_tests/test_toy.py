"""Toy data (ring of Gaussians, two moons) and ``scratch diffusion2d``."""

import json

import numpy as np

from scratch.data.toy import ring, ring_log_density, ring_means, two_moons
from scratch.steps import step09_toy


def test_ring_moments_and_modes():
    x = ring(40_000, rng=0, n_modes=8, radius=1.0, std=0.1)
    assert x.shape == (40_000, 2) and x.dtype == np.float32
    # each point is near one mean; per-axis variance radius^2 / 2 + std^2
    nearest = np.linalg.norm(x[:, None] - ring_means(8, 1.0), axis=2).min(1)
    assert np.mean(nearest < 0.4) > 0.999
    np.testing.assert_allclose(x.var(0), 0.5 + 0.01, rtol=0.03)
    np.testing.assert_allclose(x.mean(0), 0, atol=0.02)


def test_ring_log_density_is_a_normalised_density():
    g = np.linspace(-2, 2, 401)
    xx, yy = np.meshgrid(g, g)
    p = np.exp(ring_log_density(np.stack([xx.ravel(), yy.ravel()], 1)))
    assert abs(p.sum() * (g[1] - g[0]) ** 2 - 1) < 1e-3
    # well separated modes: E[log p] = -log K - log(2 pi e std^2), the mixture's entropy
    x = ring(50_000, rng=1)
    assert abs(ring_log_density(x).mean() - (-np.log(8) - np.log(2 * np.pi * np.e * 0.01))) < 0.02


def test_two_moons_shape():
    x = two_moons(10_000, rng=0, noise=0.0)
    assert x.shape == (10_000, 2) and x.dtype == np.float32
    upper = np.hypot(x[:, 0] + 0.5, x[:, 1] + 0.25)  # distance to the upper moon's centre
    lower = np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.25)
    assert np.all(np.minimum(np.abs(upper - 1), np.abs(lower - 1)) < 1e-5)


def test_diffusion2d_learns(tmp_path):
    result = step09_toy.main(
        ["--quick", "--out", str(tmp_path), "--steps", "300", "--n", "200", "--hidden", "64"]
    )
    for name in ("ring", "moons"):
        assert result[name]["loss_last_100"] < 0.8 * result[name]["loss_first_100"]
    ring_result = result["ring"]
    assert ring_result["log_density_true_samples"] > ring_result["log_density_ddpm"] > -20
    assert (tmp_path / "diffusion2d.png").stat().st_size > 20_000
    saved = json.loads((tmp_path / "diffusion2d.json").read_text())
    assert saved["steps"] == 300 and saved["ring"] == ring_result
