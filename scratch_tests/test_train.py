"""The shared training loop: it learns, resumes exactly, writes its files, stops on NaN."""

import json

import numpy as np
import pytest

from scratch import Tensor, nn
from scratch.autograd import no_grad
from scratch.data import MNIST, ArrayDataset, DataLoader, available
from scratch.data.toy import stand_in_digits
from scratch.models.hvae import HVAE
from scratch.models.vae import VAE
from scratch.optim import Adam
from scratch.train import CHECKPOINT, TrainingDiverged, fit


def data(n: int) -> np.ndarray:
    """n MNIST training images when present, the generated stand-in otherwise."""
    if available("mnist/train-images-idx3-ubyte.gz"):
        return MNIST(train=True, flatten=True).data[:n]
    return stand_in_digits(n, np.random.default_rng(0))


def setup(cls, x, seed=0, hidden=32, lr=1e-3, batch=32):
    nn.init.manual_seed(seed)
    model = cls(hidden_dim=hidden, latent_dim=4, rng=seed)
    optimizer = Adam(model.parameters(), lr=lr)
    loader = DataLoader(ArrayDataset(x), batch, shuffle=True, seed=seed)
    return model, optimizer, loader


def run(cls, x, out, epochs, resume=False, **kw):
    model, optimizer, loader = setup(cls, x, **kw)
    history = fit(
        lambda b: model.get_loss(b[0]), model, optimizer, loader, epochs, out,
        rng=model.rng, resume=resume, config={"test": True},
    )  # fmt: skip
    return model, optimizer, history


def test_one_epoch_on_2000_images_lowers_the_loss(tmp_path):
    x = data(2000)
    model, optimizer, loader = setup(VAE, x, hidden=200)

    def full_loss():
        model.rng = np.random.default_rng(99)  # the same noise before and after
        with no_grad():
            return model.get_loss(x).item()

    before = full_loss()
    fit(lambda b: model.get_loss(b[0]), model, optimizer, loader, 1, tmp_path, rng=model.rng)
    assert full_loss() < 0.8 * before


@pytest.mark.parametrize("cls", [VAE, HVAE])
def test_two_epochs_equal_one_epoch_then_resume_bit_for_bit(cls, tmp_path):
    x = data(320)
    straight, opt_a, hist_a = run(cls, x, tmp_path / "a", 2)
    run(cls, x, tmp_path / "b", 1)
    resumed, opt_b, hist_b = run(cls, x, tmp_path / "b", 2, resume=True)
    for (name, a), (_, b) in zip(
        straight.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert np.array_equal(a, b), name
    for key, a in opt_a.state_dict().items():
        assert np.array_equal(a, opt_b.state_dict()[key]), key
    assert hist_a["loss"] == hist_b["loss"]
    assert straight.rng.bit_generator.state == resumed.rng.bit_generator.state


def test_a_resume_with_a_different_seed_diverges(tmp_path):
    """The resume test above can fail: a run whose noise differs does not match."""
    x = data(320)
    a, _, _ = run(VAE, x, tmp_path / "a", 1)
    b, _, _ = run(VAE, x, tmp_path / "b", 1, seed=1)
    assert not np.array_equal(
        a.state_dict()["decoder.linear2.bias"], b.state_dict()["decoder.linear2.bias"]
    )


def test_history_checkpoint_and_loss_curve_are_written(tmp_path):
    run(VAE, data(96), tmp_path, 2)
    record = json.loads((tmp_path / "history.json").read_text())
    assert record["epoch"] == [1, 2] and len(record["loss"]) == len(record["seconds"]) == 2
    assert record["config"] == {"test": True}
    assert (tmp_path / CHECKPOINT).is_file() and (tmp_path / "loss.png").stat().st_size > 1000
    assert not list(tmp_path.glob("*.tmp"))
    _, _, history = run(VAE, data(96), tmp_path, 2, resume=True)  # nothing left to do
    assert history["epoch"] == [1, 2]


def test_a_nan_loss_stops_with_a_clear_message(tmp_path):
    model, optimizer, loader = setup(VAE, data(64))

    def loss_fn(batch):
        return model.get_loss(batch[0]) * Tensor(np.float32(np.nan))

    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 1, step 1"):
        fit(loss_fn, model, optimizer, loader, 3, tmp_path)


def test_bad_epochs_is_a_value_error(tmp_path):
    model, optimizer, loader = setup(VAE, data(64))
    with pytest.raises(ValueError, match="epochs must be a positive"):
        fit(lambda b: model.get_loss(b[0]), model, optimizer, loader, 0, tmp_path)


class Interrupt(Exception):
    """Stands in for a session's time limit cutting a run off mid-epoch."""


def test_a_run_cut_off_mid_epoch_resumes_bit_for_bit(tmp_path):
    x = data(320)  # 10 batches an epoch
    straight, _, hist_a = run(VAE, x, tmp_path / "a", 2)
    model, optimizer, loader = setup(VAE, x)
    calls = 0

    def cut_off_at_step_14(batch):
        nonlocal calls
        calls += 1
        if calls == 14:
            raise Interrupt
        return model.get_loss(batch[0])

    with pytest.raises(Interrupt):  # save_every=0: a checkpoint after every step
        fit(cut_off_at_step_14, model, optimizer, loader, 2, tmp_path / "b", rng=model.rng,
            config={"test": True}, save_every=0.0)  # fmt: skip
    model, optimizer, loader = setup(VAE, x)
    history = fit(lambda b: model.get_loss(b[0]), model, optimizer, loader, 2, tmp_path / "b",
                  rng=model.rng, resume=True, config={"test": True})  # fmt: skip
    for (name, a), (_, b) in zip(
        straight.state_dict().items(), model.state_dict().items(), strict=True
    ):
        assert np.array_equal(a, b), name
    assert history["loss"] == hist_a["loss"]
