"""Step 8: the hierarchical VAE, two latent layers x -> z1 -> z2, with the book's names.

    q(z1|x)  = N(mu1(x), sigma1(x)^2)      encoder1     p(z2)    = N(0, I)
    q(z2|z1) = N(mu2(z1), sigma2(z1)^2)    encoder2     p(z1|z2) = N(z_hat(z2), I)   decoder2
                                                        p(x|z1): x_hat = decoder1(z1)

The book's loss (``likelihood='gaussian'``) has three terms, per image:

    L1 = ||x - x_hat||^2
    L2 = -sum (1 + log sigma2^2 - mu2^2 - sigma2^2)                 (2 KL(q(z2|z1) || p(z2)))
    L3 = -sum (1 + log sigma1^2 - (mu1 - z_hat)^2 - sigma1^2)      (2 KL(q(z1|x) || N(z_hat, I)))

averaged over the batch. With ``likelihood='bernoulli'`` the loss is the true negative ELBO in nats
per image on a fresh binarisation of x: BCE(logits, x) + KL(q(z2|z1) || p(z2)) + log q(z1|x) -
log p(z1|z2) at the sampled z1, z2 (z2 depends on z1, so the z1 term is a one-sample estimate; the
book's closed form for L3 would treat z2 as independent of z1).
"""

import numpy as np

from scratch import nn
from scratch.autograd import Tensor, no_grad
from scratch.nn import functional as F

from .bounds import LatentBounds, as_input, check_likelihood, log_normal, log_px
from .vae import Decoder, Encoder, binarize, gaussian_kl


class HVAE(LatentBounds, nn.Module):
    """The book's two-level VAE: encoder1 (784 -> 100 -> 20), encoder2 (20 -> 100 -> 20),
    decoder2 (20 -> 100 -> 20) and decoder1 (20 -> 100 -> 784)."""

    def __init__(
        self,
        input_dim: int = 784,
        hidden_dim: int = 100,
        latent_dim: int = 20,
        likelihood: str = "gaussian",
        rng=None,
    ):
        super().__init__()
        check_likelihood(likelihood)
        self.input_dim, self.latent_dim, self.likelihood = input_dim, latent_dim, likelihood
        self.encoder1 = Encoder(input_dim, hidden_dim, latent_dim)
        self.encoder2 = Encoder(latent_dim, hidden_dim, latent_dim)
        self.decoder1 = Decoder(latent_dim, hidden_dim, input_dim, likelihood == "gaussian")
        self.decoder2 = Decoder(latent_dim, hidden_dim, latent_dim, use_sigmoid=False)
        self.rng = np.random.default_rng(rng)

    def _noise(self, shape) -> np.ndarray:
        return self.rng.standard_normal(shape, dtype=np.float32)

    def get_loss(self, x):
        """The training loss of a batch (a scalar Tensor): the book's (L1 + L2 + L3) / N, or, for
        Bernoulli, the negative ELBO in nats per image."""
        x = as_input(x, self.input_dim)  # (N, D)
        n = len(x)
        if self.likelihood == "bernoulli":
            x = binarize(x, self.rng)
        mu1, sigma1 = self.encoder1(x)  # (N, Z)
        eps1 = self._noise(mu1.shape)
        z1 = mu1 + eps1 * sigma1
        mu2, sigma2 = self.encoder2(z1)
        z2 = mu2 + self._noise(mu2.shape) * sigma2
        z_hat = self.decoder2(z2)  # (N, Z) the mean of p(z1|z2)
        out = self.decoder1(z1)  # (N, D): x_hat, or logits
        if self.likelihood == "gaussian":
            L1 = F.mse_loss(out, x, reduction="sum")
            L2 = 2 * F.sum(gaussian_kl(mu2, sigma2))
            L3 = 2 * F.sum(gaussian_kl(mu1, sigma1, z_hat))
        else:
            L1 = F.binary_cross_entropy_with_logits(out, x, reduction="sum")
            L2 = F.sum(gaussian_kl(mu2, sigma2))
            # log q(z1|x) - log p(z1|z2); (z1 - mu1) / sigma1 = eps1, the 2 pi terms cancel
            L3 = (
                0.5 * F.sum((z1 - z_hat) ** 2)
                - F.sum(F.log(sigma1))
                - 0.5 * float(np.sum(eps1 * eps1))
            )
        return (L1 + L2 + L3) / n

    # ---- sampling and the latent space (no gradients) ------------------------------------------
    def _mean_image(self, out: np.ndarray) -> np.ndarray:
        return out if self.likelihood == "gaussian" else F.sigmoid_array(out)

    def decode_mean(self, z1: np.ndarray) -> np.ndarray:
        """E[x | z1] in [0, 1], (N, D). The latent space shown is z1's: with the book's loss the
        top layer z2 tends to collapse onto the prior (no active units), z1 carries the image."""
        with no_grad():
            return self._mean_image(self.decoder1(Tensor(np.asarray(z1, np.float32))).data)

    def encode_mean(self, x) -> np.ndarray:
        """The posterior mean mu1(x), (N, Z)."""
        with no_grad():
            return self.encoder1(as_input(x, self.input_dim))[0].data

    def sample(self, n: int) -> np.ndarray:
        """n images as the book draws them: z2 ~ N(0, I), z1 ~ N(z_hat(z2), I), x = E[x | z1]."""
        if n < 1:
            raise ValueError(f"the number of samples must be positive, got {n}")
        with no_grad():
            z_hat = self.decoder2(Tensor(self._noise((n, self.latent_dim)))).data
            z1 = z_hat + self._noise(z_hat.shape)
            return self._mean_image(self.decoder1(Tensor(z1)).data)

    def active_means(self, x) -> dict[str, np.ndarray]:
        """{'z1': mu1(x), 'z2': mu2(mu1(x))}, (N, Z) each."""
        with no_grad():
            mu1 = self.encoder1(as_input(x, self.input_dim))[0]
            mu2 = self.encoder2(mu1)[0]
        return {"z1": mu1.data, "z2": mu2.data}

    # ---- log importance weights for the bounds ---------------------------------------------------
    def log_weights(self, x: np.ndarray, k: int) -> np.ndarray:
        """log p(x|z1) + log p(z1|z2) + log p(z2) - log q(z1|x) - log q(z2|z1), (N, k)."""
        n, z = len(x), self.latent_dim
        with no_grad():
            mu1, sigma1 = (a.data[:, None] for a in self.encoder1(x))  # (N, 1, Z)
            z1 = mu1 + self._noise((n, k, z)) * sigma1  # (N, k, Z)
            mu2, sigma2 = (a.data.reshape(n, k, z) for a in self.encoder2(z1.reshape(-1, z)))
            z2 = mu2 + self._noise((n, k, z)) * sigma2
            z_hat = self.decoder2(Tensor(z2.reshape(-1, z))).data.reshape(n, k, z)
            out = self.decoder1(Tensor(z1.reshape(-1, z))).data.reshape(n, k, -1)
        log_p = log_px(x, out, self.likelihood) + log_normal(z1, z_hat, 1.0)
        log_p += log_normal(z2, 0.0, 1.0)
        return log_p - log_normal(z1, mu1, sigma1) - log_normal(z2, mu2, sigma2)
