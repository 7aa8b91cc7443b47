"""``scratch noise`` (step 9's forward process) and the generated stand-in image."""

import json

import numpy as np

from scratch.cli import main as cli
from scratch.data.toy import flower
from scratch.models.diffusion import Diffuser
from scratch.steps import step09_noise
from scratch_tests.conftest import need


def test_flower_stand_in():
    image = flower(32)
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.1


def test_quick_run_without_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCRATCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = step09_noise.main(["--quick", "--out", str(tmp_path), "--draws", "3000"])
    assert result["image"] == "generated stand-in for book/flower.png" and result["draws"] == 3000
    # the closed form's moments agree with the sequential ones at every t
    assert result["max_mean_error_in_se"] < 5 and result["max_var_error_in_se"] < 5
    assert (tmp_path / "noising.png").stat().st_size > 10_000
    assert (tmp_path / "closed_form.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "noise.json").read_text()) == result
    assert "quick mode, a generated stand-in" in capsys.readouterr().out


@need("book/flower.png")
def test_book_flower_via_the_cli(tmp_path):
    assert cli(["noise", "--quick", "--out", str(tmp_path), "--draws", "500"]) == 0
    assert json.loads((tmp_path / "noise.json").read_text())["image"] == "book/flower.png"


def test_panels_are_the_sequential_chain():
    """The panel at t is the image after t forward steps drawn from the same generator."""
    d = Diffuser(num_timesteps=300)
    image = flower(8)
    panels = step09_noise.noising_panels(d, image, np.random.default_rng(0))
    assert list(panels) == [0, 100, 200]
    rng, x = np.random.default_rng(0), image
    for t in range(1, 201):
        x = d.add_noise_step(x, t, rng)
    np.testing.assert_array_equal(panels[200], x)
