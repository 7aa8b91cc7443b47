"""Step 7: the variational autoencoder (VAE), with the book's structure and names.

    q(z|x) = N(z; mu(x), diag sigma(x)^2)    the encoder, sigma = exp(0.5 log_var)
    p(z)   = N(z; 0, I)                      the prior
    p(x|z)                                   the decoder: x_hat = sigmoid(linear2(relu(linear1(z))))

The book's loss (``likelihood='gaussian'``) is, per image,

    L = ||x - x_hat||^2 - sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)

(the summed squared error plus the book's KL term, which is twice KL(q(z|x) || p(z))), averaged
over the batch. With ``likelihood='bernoulli'`` the decoder gives logits, the input is binarised
at random (x_bin ~ Bernoulli(x), "dynamic binarisation") and the loss is the true negative ELBO in
nats per image: the binary cross-entropy with logits plus KL(q(z|x) || p(z)).

Every random draw (the reparameterisation's eps, the binarisation) comes from ``model.rng``, an
explicit ``np.random.Generator`` that a checkpoint saves and restores.
"""

import numpy as np

from scratch import nn
from scratch.autograd import Function, Tensor, no_grad
from scratch.nn import functional as F

from .bounds import LIKELIHOODS, LatentBounds, as_input, check_likelihood, log_normal, log_px


class GaussianKL(Function):
    """KL(N(mu, sigma^2) || N(m, 1)) per row, summed over the last axis (one node):

    kl = 0.5 sum_j ((mu_j - m_j)^2 + sigma_j^2 - 1 - 2 log sigma_j)          # (N,)
    d/dmu = (mu - m),   d/dsigma = sigma - 1 / sigma,   d/dm = -(mu - m)
    """

    def forward(self, mu, sigma, m):
        self.d, self.sigma = mu - m, sigma
        terms = self.d * self.d + sigma * sigma - 1 - 2 * np.log(sigma)  # (N, D)
        return (terms.sum(axis=-1) * mu.dtype.type(0.5)).astype(mu.dtype)

    def backward(self, gy):
        g = gy[..., None]  # (N, 1)
        gmu = g * self.d
        return gmu, g * (self.sigma - 1 / self.sigma), -gmu


def gaussian_kl(mu, sigma, m=0.0):
    """KL(N(mu, diag sigma^2) || N(m, I)) for each row, shape (N,) (fused)."""
    return GaussianKL()(mu, sigma, m)


def gaussian_kl_composite(mu, sigma, m=0.0):
    """The same KL from primitives, written as the book writes its loss term (the test oracle)."""
    return -0.5 * F.sum(1 + F.log(sigma**2) - (mu - m) ** 2 - sigma**2, axis=-1)


def reparameterize(mu, sigma, rng: np.random.Generator):
    """z = mu + eps * sigma, eps ~ N(0, I) drawn from ``rng`` (gradients flow to mu and sigma)."""
    eps = rng.standard_normal(mu.shape, dtype=np.float32).astype(mu.dtype, copy=False)
    return mu + eps * sigma


def binarize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dynamic binarisation: x_bin ~ Bernoulli(x), elementwise, as float32."""
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


class Encoder(nn.Module):
    """x -> h = relu(linear(x)) -> (mu, sigma), sigma = exp(0.5 linear_logvar(h))."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int):
        super().__init__()
        self.linear = nn.Linear(input_dim, hidden_dim)
        self.linear_mu = nn.Linear(hidden_dim, latent_dim)
        self.linear_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = F.relu(self.linear(x))  # (N, H)
        mu = self.linear_mu(h)  # (N, Z)
        log_var = self.linear_logvar(h)  # (N, Z)
        sigma = F.exp(0.5 * log_var)
        return mu, sigma


class Decoder(nn.Module):
    """z -> linear2(relu(linear1(z))), then a sigmoid when ``use_sigmoid`` (else logits)."""

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int, use_sigmoid=True):
        super().__init__()
        self.linear1 = nn.Linear(latent_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, output_dim)
        self.use_sigmoid = use_sigmoid

    def forward(self, z):
        h = F.relu(self.linear1(z))  # (N, H)
        h = self.linear2(h)  # (N, D)
        return F.sigmoid(h) if self.use_sigmoid else h


class VAE(LatentBounds, nn.Module):
    """The book's VAE: ``encoder`` (784 -> 200 -> 20 + 20) and ``decoder`` (20 -> 200 -> 784)."""

    def __init__(
        self,
        input_dim: int = 784,
        hidden_dim: int = 200,
        latent_dim: int = 20,
        likelihood: str = "gaussian",
        rng=None,
    ):
        super().__init__()
        check_likelihood(likelihood)
        self.input_dim, self.latent_dim, self.likelihood = input_dim, latent_dim, likelihood
        self.encoder = Encoder(input_dim, hidden_dim, latent_dim)
        self.decoder = Decoder(latent_dim, hidden_dim, input_dim, likelihood == "gaussian")
        self.rng = np.random.default_rng(rng)

    def get_loss(self, x):
        """The training loss of a batch (a scalar Tensor): the book's (L1 + L2) / N, or, for
        Bernoulli, the negative ELBO in nats per image on a fresh binarisation of x."""
        x = as_input(x, self.input_dim)  # (N, D)
        n = len(x)
        if self.likelihood == "bernoulli":
            x = binarize(x, self.rng)
        mu, sigma = self.encoder(x)  # (N, Z) each
        z = reparameterize(mu, sigma, self.rng)
        out = self.decoder(z)  # (N, D): x_hat, or logits
        if self.likelihood == "gaussian":
            L1 = F.mse_loss(out, x, reduction="sum")
            L2 = 2 * F.sum(gaussian_kl(mu, sigma))  # the book's KL term
        else:
            L1 = F.binary_cross_entropy_with_logits(out, x, reduction="sum")
            L2 = F.sum(gaussian_kl(mu, sigma))
        return (L1 + L2) / n

    # ---- sampling and the latent space (no gradients) ------------------------------------------
    def decode_mean(self, z: np.ndarray) -> np.ndarray:
        """The mean image E[x | z] in [0, 1], (N, D)."""
        with no_grad():
            out = self.decoder(Tensor(np.asarray(z, np.float32))).data
        return out if self.likelihood == "gaussian" else F.sigmoid_array(out)

    def encode_mean(self, x) -> np.ndarray:
        """The posterior mean mu(x), (N, Z)."""
        with no_grad():
            return self.encoder(as_input(x, self.input_dim))[0].data

    def sample(self, n: int) -> np.ndarray:
        """n images E[x | z], z ~ N(0, I) from ``rng``: (n, D) in [0, 1]."""
        if n < 1:
            raise ValueError(f"the number of samples must be positive, got {n}")
        return self.decode_mean(self.rng.standard_normal((n, self.latent_dim), dtype=np.float32))

    def active_means(self, x) -> dict[str, np.ndarray]:
        """{'z': mu(x)}: the posterior means whose variance over the data counts active units."""
        return {"z": self.encode_mean(x)}

    # ---- log importance weights for the bounds ---------------------------------------------------
    def log_weights(self, x: np.ndarray, k: int) -> np.ndarray:
        """log w = log p(x|z) + log p(z) - log q(z|x) for k draws z ~ q(z|x): (N, k), float64."""
        with no_grad():
            mu, sigma = (a.data for a in self.encoder(x))  # (N, Z)
        eps = self.rng.standard_normal((len(x), k, self.latent_dim), dtype=np.float32)
        z = mu[:, None] + eps * sigma[:, None]  # (N, k, Z)
        with no_grad():
            out = self.decoder(Tensor(z.reshape(-1, self.latent_dim))).data  # (N k, D)
        log_lik = log_px(x, out.reshape(len(x), k, -1), self.likelihood)  # (N, k)
        return log_lik + log_normal(z, 0.0, 1.0) - log_normal(z, mu[:, None], sigma[:, None])


__all__ = [
    "LIKELIHOODS",
    "VAE",
    "Decoder",
    "Encoder",
    "GaussianKL",
    "binarize",
    "gaussian_kl",
    "gaussian_kl_composite",
    "reparameterize",
]
