"""``scratch diffusion``: the U-Net's loss falls, resume is exact (EMA included), conditional
training with label dropping, the sample grid, and clear errors for bad input."""

import argparse

import numpy as np
import pytest

import scratch.nn.functional as F
from scratch import nn
from scratch.checkpoint import load_checkpoint, save_checkpoint
from scratch.data.toy import stand_in_digits
from scratch.errors import UserError
from scratch.eval import sampling
from scratch.models.diffusion import NULL_LABEL, Diffuser
from scratch.models.ema import EMA, WithEMA, split_ema
from scratch.models.unet import UNet
from scratch.optim import Adam
from scratch.steps import step10_diffusion
from scratch.train import split_state
from scratch_tests.conftest import need

# trained on the generated stand-in, whether or not MNIST is present (small and fast)
TINY = [
    "--channels",
    "4,8,8",
    "--subset",
    "48",
    "--batch-size",
    "16",
    "--epochs",
    "1",
    "--synthetic",
]


def test_tiny_unet_loss_falls_over_a_few_steps():
    rng = np.random.default_rng(0)
    nn.init.manual_seed(0)
    model, diffuser = UNet(channels=(4, 8, 8)), Diffuser()
    x_0 = stand_in_digits(16, rng).reshape(16, 1, 28, 28)
    t = rng.integers(1, 1001, 16)
    x_t, noise = diffuser.add_noise(x_0, t, rng)
    optimizer = Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x_t, t), noise)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.all(np.diff(losses) < 0) and losses[-1] < 0.9 * losses[0], losses


def test_resume_equals_the_uninterrupted_run_bitwise(tmp_path):
    flags = [*TINY, "--conditional", "--ema", "--drop", "per-batch"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    step10_diffusion.main(["train", *flags, "--epochs", "2", "--out", str(straight)])
    step10_diffusion.main(["train", *flags, "--epochs", "1", "--out", str(split)])
    step10_diffusion.main(["train", *flags, "--epochs", "2", "--resume", "--out", str(split)])
    a, meta_a = load_checkpoint(straight / "checkpoint.npz")
    b, meta_b = load_checkpoint(split / "checkpoint.npz")
    assert a.keys() == b.keys() and any(k.startswith("optimizer.ema.") for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert meta_a["history"]["loss"] == meta_b["history"]["loss"]
    assert meta_a["rng"] == meta_b["rng"] and meta_b["epoch"] == 2


def test_conditional_training_then_a_labelled_ddim_grid_with_ema_weights(tmp_path):
    out = ["--out", str(tmp_path)]
    result = step10_diffusion.main(["train", *TINY, "--conditional", "--ema", *out])
    assert result["epochs"] == 1 and np.isfinite(result["loss_last"])
    model, _, config, _ = sampling.load(tmp_path / "checkpoint.npz", seed=0)
    state, _ = load_checkpoint(tmp_path / "checkpoint.npz")
    assert config["conditional"] and config["ema"]
    averages = EMA(model)
    averages.load_state_dict(split_ema(split_state(state)[1])[0])
    assert averages.num_updates == 3  # 48 images in batches of 16
    for name, p in model.named_parameters():  # sampling uses the averages, not the last weights
        np.testing.assert_array_equal(p.data, averages.averages()[name])
    for name, b in model.named_buffers():  # and the BatchNorm statistics of the averages
        np.testing.assert_array_equal(b, state[f"optimizer.ema_buffers.{name}"])
    mean = "down1.convs.1.running_mean"
    assert not np.array_equal(state[f"model.{mean}"], state[f"optimizer.ema_buffers.{mean}"])
    assert not np.array_equal(
        state["model.label_emb.weight"], averages.averages()["label_emb.weight"]
    )
    args = ["sample", *out, "--sampler", "ddim", "--steps", "3", "--n", "10", "--labels", "0..9"]
    result = step10_diffusion.main(args)
    assert result["steps"] == 3 and result["gamma"] == 3.0
    assert (tmp_path / "samples_ddim3_n10_seed0.png").stat().st_size > 1000
    clipped = step10_diffusion.main([*args, "--clip-x0", "--eta", "0.5"])
    assert clipped["clip_x0"] and clipped["eta"] == 0.5
    assert (tmp_path / "samples_ddim3_eta0.5_clip_n10_seed0.png").is_file()
    raw = step10_diffusion.main([*args, "--no-ema"])
    assert raw["ema"] is False and (tmp_path / "samples_ddim3_raw_n10_seed0.png").is_file()
    for sampler in ("dpm++2m", "dpm++2m-sde", "heun"):  # the few-step solvers, guided, by CLI
        flags = ["--sampler", sampler, "--steps", "3", "--n", "10", "--labels", "0..9"]
        result = step10_diffusion.main(["sample", *out, *flags])
        assert (
            result["sampler"] == sampler
            and (tmp_path / f"samples_{sampler}3_n10_seed0.png").is_file()
        )
    model, *_ = sampling.load(tmp_path / "checkpoint.npz", seed=0, ema=False)
    np.testing.assert_array_equal(model.label_emb.weight.data, state["model.label_emb.weight"])


def test_saving_the_ema_leaves_the_training_model_untouched(tmp_path):
    """state_dict() swaps the averages in to recompute their BatchNorm statistics, then restores
    the model's own weights and statistics; a checkpoint whose EMA lacks num_updates (saved before
    the EMA was bias-corrected) is refused with a pointer to --no-ema."""
    nn.init.manual_seed(0)
    model = UNet(channels=(4, 8, 8))
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    t = np.array([1, 10, 100, 1000])
    optimizer = WithEMA(Adam(model.parameters()), model, lambda: [(x, t)])
    optimizer.zero_grad()
    F.mse_loss(model(x, t), np.zeros_like(x)).backward()
    optimizer.step()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = optimizer.state_dict()
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert state["ema_buffers.down1.convs.1.num_batches_tracked"] == 1
    out = ["--out", str(tmp_path)]
    step10_diffusion.main(["train", *TINY, "--ema", *out])
    saved, meta = load_checkpoint(tmp_path / "checkpoint.npz")
    del saved["optimizer.ema.num_updates"]
    save_checkpoint(tmp_path / "checkpoint.npz", saved, **meta)
    with pytest.raises(UserError, match="num_updates.*--no-ema"):
        step10_diffusion.main(["sample", *out, "--n", "2", "--sampler", "ddim", "--steps", "2"])


class LabelSpy(nn.Module):
    """A one-parameter stand-in for the U-Net, eps = w x_t, that records the labels it gets."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.ones(1, dtype=np.float32))
        self.seen = []

    def forward(self, x, t, labels=None):
        self.seen.append(labels)
        return x * self.w


def test_labels_and_drop_modes_reach_the_model(tmp_path, monkeypatch):
    """per-batch drops every label of a batch or none; per-example drops some of each batch."""
    spy = LabelSpy()
    monkeypatch.setattr(step10_diffusion, "build", lambda config, seed: (spy, Diffuser()))
    for drop in ("per-batch", "per-example"):
        spy.seen.clear()
        args = ["train", *TINY, "--subset", "960", "--conditional", "--drop", drop]
        step10_diffusion.main([*args, "--out", str(tmp_path / drop)])
        dropped = np.array([np.mean(labels == NULL_LABEL) for labels in spy.seen])  # (60,)
        assert len(spy.seen) == 60 and 0 < dropped.mean() < 0.3
        if drop == "per-batch":
            assert set(dropped) <= {0.0, 1.0}
        else:
            assert np.any((dropped > 0) & (dropped < 1))


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    step10_diffusion.main(["train", *TINY, *out])  # an unconditional checkpoint
    with pytest.raises(UserError, match="needs a conditional checkpoint"):
        step10_diffusion.main(["sample", *out, "--labels", "0..9"])
    with pytest.raises(UserError, match="ddpm visits all 1000 steps"):
        step10_diffusion.main(["sample", *out, "--steps", "10"])
    with pytest.raises(UserError, match="--checkpoint .*none.npz: no such file"):
        step10_diffusion.main(["sample", "--checkpoint", str(tmp_path / "none.npz"), *out])
    empty = ["--out", str(tmp_path / "empty")]  # no checkpoint: the shipped weights, EMA only
    with pytest.raises(UserError, match="--no-ema needs a training checkpoint"):
        step10_diffusion.main(["sample", *empty, "--no-ema", "--sampler", "ddim", "--steps", "2"])
    for argv, message in [
        (["sample", "--labels", "0..10"], "labels must lie in 0..9, got 0..10"),
        (["sample", "--labels", "a,b"], "expected labels like 0..9 or 3,1,4"),
        (["train", "--channels", "8,16"], "expected three positive integers"),
        (["sample", "--n", "0"], "--n: expected an integer >= 1"),
        (["sample", "--gamma", "nan"], "--gamma: expected a number in [0, 100]"),
        (["fit"], "invalid choice: 'fit'"),
    ]:
        with pytest.raises(SystemExit):
            step10_diffusion.main([*argv, *out])
        assert message in capsys.readouterr().err


@need(*step10_diffusion.MNIST_FILES, *step10_diffusion.TEST_FILES)
def test_eval_writes_fid_beside_the_floor_histogram_and_label_accuracy(tmp_path):
    out = ["--out", str(tmp_path)]
    step10_diffusion.main(["train", *TINY, "--conditional", *out])
    args = ["eval", *out, "--n", "20", "--chunk", "8", "--sampler", "ddim", "--steps", "2"]
    result = step10_diffusion.main(args)
    assert result["fid"] > result["fid_floor"] > 0 and result["n"] == 20
    assert sum(result["class_histogram"]) == 20 and len(result["class_histogram"]) == 10
    assert set(result["label_accuracy"]) == {"all", *map(str, range(10))}
    assert (tmp_path / "eval_ddim2_n20_seed0.json").is_file()


def test_interrupted_sampling_resumes_to_the_same_images(tmp_path, monkeypatch):
    out = ["--out", str(tmp_path)]
    step10_diffusion.main(["train", *TINY, *out])
    draw = ["sample", "--n", "5", "--chunk", "2", "--sampler", "ddim", "--steps", "3", *out]
    progress = tmp_path / "samples_ddim3_n5_seed0.npz"
    step10_diffusion.main(draw)
    straight = load_checkpoint(progress)[0]["images"]
    progress.unlink()
    real_sample, calls = Diffuser.sample, []

    def stopped_after_one_chunk(self, *args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real_sample(self, *args, **kwargs)

    monkeypatch.setattr(Diffuser, "sample", stopped_after_one_chunk)
    with pytest.raises(KeyboardInterrupt):
        step10_diffusion.main(draw)
    assert load_checkpoint(progress)[1]["done"] == 2
    resumed_chunks = []

    def counted(self, *args, **kwargs):
        resumed_chunks.append(1)
        return real_sample(self, *args, **kwargs)

    monkeypatch.setattr(Diffuser, "sample", counted)
    step10_diffusion.main([*draw, "--resume"])
    assert len(resumed_chunks) == 2  # images 2-3 and 4: the first chunk is not drawn again
    resumed, meta = load_checkpoint(progress)
    assert meta["done"] == 5 and straight.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(resumed["images"], straight)
    other_chunks = [*draw[:4], "3", *draw[5:], "--resume"]  # --chunk 3: not the same draws
    with pytest.raises(UserError, match="start afresh without resuming"):
        step10_diffusion.main(other_chunks)


def test_the_samples_title_names_every_sampling_setting():
    config = {"channels": [64, 128, 256], "conditional": True}
    every = argparse.Namespace(sampler="ddim", steps=50, spacing="quadratic", eta=0.5,
                               clip_x0=True, no_ema=True, gamma=3.0)  # fmt: skip
    title = step10_diffusion.samples_title(config, 10, every, labels=np.arange(10))
    for part in (
        "DDIM, 50 steps (quadratic spacing)",
        "eta 0.5",
        "x0 clipped",
        "no EMA",
        "gamma 3",
    ):
        assert part in title, (part, title)
    plain = argparse.Namespace(sampler="dpm++2m", steps=10, spacing="quadratic", eta=0.0,
                               clip_x0=False, no_ema=False)  # fmt: skip
    title = step10_diffusion.samples_title(config, 10, plain, labels=None)
    assert title.endswith("\nDPM-Solver++(2M), 10 steps")  # the default spacing goes unsaid
