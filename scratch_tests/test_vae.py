"""VAE and HVAE: the KL term, the losses, the bounds, the book's names, the sampler, the CLI."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch import Tensor, nn
from scratch.autograd import gradcheck, no_grad
from scratch.data.toy import stand_in_digits
from scratch.models.bounds import log_normal, logmeanexp
from scratch.models.hvae import HVAE
from scratch.models.vae import VAE, gaussian_kl, gaussian_kl_composite
from scratch.optim import Adam
from scratch_tests.torch_book import book_model

MODELS = (VAE, HVAE)
BOOK_VAE = {  # name -> PyTorch shape, as in the book's step07/vae.py
    "encoder.linear.weight": (200, 784),
    "encoder.linear.bias": (200,),
    "encoder.linear_mu.weight": (20, 200),
    "encoder.linear_mu.bias": (20,),
    "encoder.linear_logvar.weight": (20, 200),
    "encoder.linear_logvar.bias": (20,),
    "decoder.linear1.weight": (200, 20),
    "decoder.linear1.bias": (200,),
    "decoder.linear2.weight": (784, 200),
    "decoder.linear2.bias": (784,),
}


def images(n: int, seed: int = 0, binary: bool = False) -> np.ndarray:
    x = stand_in_digits(n, np.random.default_rng(seed))
    return (x > 0.5).astype(np.float32) if binary else x


def small(cls, likelihood="gaussian", seed=0):
    nn.init.manual_seed(seed)
    return cls(hidden_dim=32, latent_dim=4, likelihood=likelihood, rng=seed)


def train_steps(model, x: np.ndarray, steps: int, lr=3e-3, batch=50) -> None:
    optimizer = Adam(model.parameters(), lr=lr)
    for i in range(steps):
        lo = (i * batch) % len(x)
        optimizer.zero_grad()
        model.get_loss(x[lo : lo + batch]).backward()
        optimizer.step()


# ---- the KL term -----------------------------------------------------------------------------


@given(st.integers(0, 10_000))
def test_analytic_kl_matches_monte_carlo_within_standard_error(seed):
    rng = np.random.default_rng(seed)
    mu, m = rng.normal(0, 1.5, 5), rng.normal(0, 1, 5)  # (D,)
    sigma = np.exp(rng.uniform(-1.5, 1.0, 5))
    kl = gaussian_kl(Tensor(mu[None]), Tensor(sigma[None]), Tensor(m[None])).data[0]
    z = mu + sigma * rng.standard_normal((20_000, 5))  # (S, D) ~ q
    log_ratio = log_normal(z, mu, sigma) - log_normal(z, m, 1.0)  # (S,)
    se = log_ratio.std() / np.sqrt(len(z))
    assert abs(kl - log_ratio.mean()) < 4.5 * se + 1e-9


def test_fused_kl_agrees_with_the_books_formula_and_its_gradient():
    rng = np.random.default_rng(1)
    mu, sigma, m = rng.normal(size=(3, 4)), np.exp(rng.normal(size=(3, 4))), rng.normal(size=(3, 4))
    fused = gaussian_kl(Tensor(mu), Tensor(sigma), Tensor(m)).data
    composite = gaussian_kl_composite(Tensor(mu), Tensor(sigma), Tensor(m)).data
    np.testing.assert_allclose(fused, composite, rtol=1e-12)
    assert gradcheck(gaussian_kl, mu, sigma, m)


# ---- losses --------------------------------------------------------------------------------------


def test_book_loss_is_squared_error_plus_the_books_kl_term():
    model = small(VAE)
    x = images(8)
    state = model.rng.bit_generator.state
    loss = model.get_loss(x).item()
    model.rng.bit_generator.state = state  # the same eps again, by hand
    with no_grad():
        mu, sigma = (a.data for a in model.encoder(x))
        eps = model.rng.standard_normal(mu.shape, dtype=np.float32)
        x_hat = model.decoder(mu + eps * sigma).data
    L1 = ((x_hat - x) ** 2).sum()
    L2 = -(1 + np.log(sigma**2) - mu**2 - sigma**2).sum()
    assert loss == pytest.approx((L1 + L2) / len(x), rel=1e-5)


@pytest.mark.parametrize("cls", MODELS)
def test_bernoulli_loss_is_the_negative_elbo_in_expectation(cls):
    model = small(cls, "bernoulli")
    train_steps(model, images(500, binary=True), 100)
    x = images(4, seed=7, binary=True)  # binary: the loss's binarisation leaves it unchanged
    with no_grad():
        losses = np.array([model.get_loss(x).item() for _ in range(400)])
    elbo = model.elbo(x, k=4000).mean()
    se = losses.std() / np.sqrt(len(losses))
    assert abs(losses.mean() + elbo) < 4 * se + 0.05


@pytest.mark.parametrize("cls", MODELS)
def test_elbo_below_iwae_below_iwae_with_more_draws(cls):
    model = small(cls, "bernoulli")
    train_steps(model, images(1000, binary=True), 200)
    x = images(30, seed=3, binary=True)
    elbo, iwae10, iwae200 = model.elbo(x, k=50), model.iwae_bound(x, 10), model.iwae_bound(x, 200)
    assert elbo.mean() < iwae10.mean() < iwae200.mean()
    assert np.all(np.isfinite(iwae200))


def test_iwae_chunks_combine_exactly():
    model = small(VAE, "bernoulli")
    x = images(3, binary=True)
    model.rng = np.random.default_rng(5)
    whole = model.iwae_bound(x, 64)
    model.rng = np.random.default_rng(5)
    log_w = model._log_weights_chunked(x, 64, chunk_elements=784 * 7)  # 7 draws per chunk
    np.testing.assert_allclose(logmeanexp(log_w), whole, rtol=1e-8)  # float32 BLAS blocking
    assert log_w.shape == (3, 64)


def test_active_units_count_the_varying_posterior_means():
    model = small(VAE)
    with no_grad():  # make unit 0 depend on the input, unit 1 not at all
        model.encoder.linear_mu.weight.data[1] = 0
        model.encoder.linear_mu.bias.data[1] = 0
        model.encoder.linear_mu.weight.data[0] *= 50
    x = images(200)
    means = model.active_means(x)["z"]
    assert means[:, 1].var() == 0 and means[:, 0].var() > 0.01
    assert model.active_units(x)["z"] == int((means.var(axis=0) > 0.01).sum())


# ---- names, sampling, bad input ------------------------------------------------------------------


def test_state_dict_has_the_books_names_and_loads_them():
    model = VAE()
    assert {k: v.shape for k, v in model.state_dict().items()} == BOOK_VAE
    rng = np.random.default_rng(0)
    book = {k: rng.normal(size=s).astype(np.float32) for k, s in BOOK_VAE.items()}
    model.load_state_dict(book)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, book[k])
    names = set(HVAE().state_dict())
    for part in ("encoder1", "encoder2"):
        assert {f"{part}.linear_logvar.weight", f"{part}.linear_mu.bias"} <= names
    assert {"decoder1.linear2.weight", "decoder2.linear1.bias"} <= names


@pytest.mark.parametrize("cls", MODELS)
def test_a_state_dict_saved_from_the_books_torch_model_gives_the_same_outputs(cls, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    book = book_model(torch, hvae=cls is HVAE)
    path = tmp_path / "book.npz"
    np.savez(path, **{k: v.detach().numpy() for k, v in book.state_dict().items()})
    model = cls()
    with np.load(path) as npz:
        model.load_state_dict(dict(npz))
    x = images(5)
    enc, dec = ("encoder1", "decoder1") if cls is HVAE else ("encoder", "decoder")
    with torch.no_grad():
        mu_t, sigma_t = getattr(book, enc)(torch.from_numpy(x))
        x_hat_t = getattr(book, dec)(mu_t)
    with no_grad():
        mu, sigma = getattr(model, enc)(x)
        x_hat = getattr(model, dec)(mu)
    np.testing.assert_allclose(mu.data, mu_t.numpy(), atol=1e-5)
    np.testing.assert_allclose(sigma.data, sigma_t.numpy(), rtol=1e-5)
    np.testing.assert_allclose(x_hat.data, x_hat_t.numpy(), atol=1e-5)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_samples_have_the_expected_shape_and_range(cls, likelihood):
    model = small(cls, likelihood)
    x = model.sample(10)
    assert x.shape == (10, 784) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert model.reconstruct(images(3)).shape == (3, 784)
    with pytest.raises(ValueError, match="positive"):
        model.sample(0)


@pytest.mark.parametrize("cls", MODELS)
def test_bad_input_is_a_clear_value_error(cls):
    model = small(cls)
    with pytest.raises(ValueError, match="784 pixels"):
        model.get_loss(np.zeros((4, 10), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.get_loss(np.full((4, 784), 2.0, np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.get_loss(np.full((4, 784), np.nan, np.float32))
    with pytest.raises(ValueError, match="likelihood"):
        cls(likelihood="poisson")
    with pytest.raises(ValueError, match="binary"):
        small(cls, "bernoulli").iwae_bound(images(2), 5)
    with pytest.raises(ValueError, match="k must be positive"):
        model.iwae_bound(images(2), 0)


# ---- the commands ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["step07_vae", "step08_hvae"])
def test_quick_train_then_sample_then_eval_on_the_stand_in(name, tmp_path):
    import importlib

    from scratch.checkpoint import load_checkpoint

    main = importlib.import_module(f"scratch.steps.{name}").main
    kind = name.split("_")[1]
    out = ["--out", str(tmp_path), "--quick", "--synthetic"]
    result = main(["train", *out, "--likelihood", "bernoulli"])
    assert result["epochs"] == 3 and result["loss_last"] < result["loss_first"]
    assert result["elbo"] <= result["iwae"] + 3 * result["iwae_se"]
    assert result["data"] == "generated stand-in for MNIST training images"
    assert load_checkpoint(tmp_path / "checkpoint.npz")[1]["config"]["data"] == result["data"]
    for png in ("samples", "reconstructions", "traversal", "loss"):
        assert (tmp_path / f"{png}.png").stat().st_size > 1000
    before = (tmp_path / "samples.png").read_bytes()
    main(["sample", *out])  # a new file: the training run's figure is left alone
    assert (tmp_path / f"{kind}_samples_seed0.png").is_file()
    assert (tmp_path / "samples.png").read_bytes() == before
    result = main(["eval", *out, "--k", "20", "--eval-n", "30"])
    assert result["images"] == 30 and result["k"] == 20
    with pytest.raises(SystemExit):
        main(["fit", *out])
    with pytest.raises(SystemExit):  # argparse refuses it: exit status 2
        main(["train", *out, "--epochs", "0"])
