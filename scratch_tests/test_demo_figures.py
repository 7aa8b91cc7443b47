"""The demo's figures say what they show: 'quick mode: N steps, undertrained' on the quick runs,
'shipped model: NAME, N epochs' on the shipped models' samples, a title on every figure."""

import hashlib
import json

import matplotlib.figure
import numpy as np
import pytest

from scratch import pretrained
from scratch.steps import (
    _shipped,
    _vae_commands,
    step05_em,
    step07_vae,
    step09_toy,
    step10_diffusion,
)
from scratch.train import write_history


@pytest.fixture
def saved(monkeypatch):
    """The figures saved during a test: (suptitle, [axes titles], [(xlabel, ylabel)]) each."""
    figures = []
    original = matplotlib.figure.Figure.savefig

    def record(fig, *args, **kwargs):
        suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
        axes = [ax for ax in fig.axes if ax.get_visible()]
        labels = [(ax.get_xlabel(), ax.get_ylabel()) for ax in axes]
        figures.append((suptitle, [ax.get_title() for ax in axes], labels))
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record)
    return figures


@pytest.mark.parametrize("name", ["vae", "hvae"])
def test_shipped_vae_samples_are_titled_with_the_shipped_model(name, tmp_path, saved):
    result = _vae_commands.shipped_figures(name, tmp_path, seed=0)
    assert result["shipped"] == f"shipped model: {name}, 30 epochs"
    assert (tmp_path / "shipped_samples.png").stat().st_size > 1000
    (title, _, _) = saved[-1]
    assert "shipped model: " in title and name in title and "samples" in title


def test_shipped_toy_ring_is_titled_and_labelled(tmp_path, saved):
    result = step09_toy.shipped_figures(tmp_path, seed=0, n=100)
    title, axes, labels = saved[-1]
    assert "shipped model: toy2d, 8000 steps" in title
    assert all(axes) and all(x and y for x, y in labels)
    # the shipped model's DDPM samples lie near the ring (true points score about -0.3)
    assert result["log_density"]["DDPM (1000 steps)"] > -1.0


def test_quick_toy_run_says_quick_mode_with_its_steps(tmp_path, saved):
    step09_toy.main(["--quick", "--steps", "60", "--n", "50", "--out", str(tmp_path)])
    title, axes, labels = saved[-1]
    assert "quick mode: 60 steps, undertrained" in title
    assert all(axes) and all(x and y for x, y in labels)


def test_quick_vae_figures_say_quick_mode_epoch_and_stand_in(tmp_path, saved):
    step07_vae.main(["train", "--quick", "--synthetic", "--epochs", "1", "--subset", "64",
                  "--out", str(tmp_path)])  # fmt: skip
    titles = [t if t else " ".join(a) for t, a, _ in saved]
    steps = 64 // 32
    assert sum(f"quick mode: {steps} steps, undertrained" in t for t in titles) == 4  # loss + 3
    assert all(t for t in titles)
    grids = [t for t in titles if "epoch 1" in t]
    assert len(grids) == 3 and all("generated rings and bars" in t for t in grids)


def test_one_epoch_loss_plot_is_per_step_with_integer_ticks(tmp_path, saved):
    history = {"epoch": [1], "loss": [0.5], "seconds": [1.0]}
    write_history(tmp_path, history, {}, "run: training loss", step_losses=[0.9, 0.7, 0.5])
    title, axes, labels = saved[-1]
    assert axes == ["run: training loss"] and labels[0][0].startswith("step")
    write_history(tmp_path, {"epoch": [1, 2], "loss": [0.5, 0.4], "seconds": [1, 1]}, {})
    assert saved[-1][2][0][0] == "epoch"


def test_em_plot_shows_the_gap_on_a_log_scale(tmp_path, saved):
    step05_em.likelihood_figure([-137.0, -4.5, -4.2, -4.19, -4.19], "data", tmp_path / "ll.png")
    title, axes, labels = saved[-1]
    assert "4 iterations" in title and len(axes) == 2 and all(x and y for x, y in labels)


def test_diffusion_demo_without_unet_cond_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "names", lambda: ["vae"])
    assert step10_diffusion.shipped_figures(tmp_path, seed=0) == {"shipped": None}
    assert "showing the quick run only" in capsys.readouterr().out
    assert not (tmp_path / "shipped_samples.png").exists()


def test_diffusion_demo_with_unet_cond_titles_the_shipped_model(tmp_path, monkeypatch, saved):
    """A small stand-in for the shipped unet_cond (random weights, channels 8,16,32), in a
    pretrained folder of its own: the demo's figure names the model and its epochs."""
    config = {"channels": [8, 16, 32]}
    model = pretrained.build("unet_cond", config)
    weights = tmp_path / "unet_cond.npz"
    np.savez(weights, **{k: v.astype(np.float16) for k, v in model.state_dict().items()})
    manifest = {
        "name": "unet_cond",
        "kind": "unet_cond",
        "config": config,
        "history": {"history": {"epoch": list(range(1, 11))}},
        "diffuser": {"num_timesteps": 1000, "schedule": "linear"},
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    (tmp_path / "unet_cond.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(pretrained, "HERE", tmp_path)
    out = tmp_path / "out"
    assert _shipped.available("unet_cond")
    result = step10_diffusion.shipped_figures(out, seed=0, steps=2)
    assert result["shipped"] == "shipped model: unet_cond, 10 epochs"
    title, axes, _ = saved[-1]
    assert "shipped model: unet_cond, 10 epochs" in title and "DPM-Solver++(2M), 2 steps" in title
    assert axes[:10] == [str(i) for i in range(10)]  # each image titled with its label
