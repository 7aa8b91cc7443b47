"""Likelihood bounds for latent-variable models: the ELBO, the importance-weighted bound (IWAE)
and the active units. A model supplies ``log_weights(x, k)``, the (N, k) log importance weights

    log w_i = log p(x, z_i) - log q(z_i | x),   z_i ~ q(z | x),  i = 1..k

and gets
    elbo(x)          = E_q[log w]                           <= log p(x)
    iwae_bound(x, k) = E[log (1/k) sum_i w_i]  (log-sum-exp) <= log p(x), rising to it with k
(Burda, Grosse & Salakhutdinov 2016). With a Bernoulli decoder on binary images these are in nats;
with the book's Gaussian decoder the density is N(x; x_hat, I/2), the one whose negative log is
the book's squared error plus a constant.
"""

import numpy as np

from scratch.autograd import Tensor

LIKELIHOODS = ("gaussian", "bernoulli")
LOG_2PI = np.log(2 * np.pi)


def as_input(x, input_dim: int) -> np.ndarray:
    """A batch of images as a float32 (N, input_dim) array in [0, 1], or a ValueError."""
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    if x.ndim < 1 or x.size == 0 or x.size != len(x) * input_dim:
        raise ValueError(f"expected a batch of images of {input_dim} pixels, got shape {x.shape}")
    x = x.reshape(len(x), input_dim).astype(np.float32, copy=False)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("expected pixel values in [0, 1] (finite)")
    return x


def check_likelihood(likelihood: str) -> None:
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")


def log_normal(z: np.ndarray, mean, std) -> np.ndarray:
    """log N(z; mean, diag std^2), summed over the last axis, in float64."""
    u = (z - mean) / std
    terms = -0.5 * u * u - np.log(std) - 0.5 * LOG_2PI
    return np.sum(np.broadcast_to(terms, np.broadcast_shapes(np.shape(z), np.shape(terms))),
                  axis=-1, dtype=np.float64)  # fmt: skip


def log_px(x: np.ndarray, out: np.ndarray, likelihood: str) -> np.ndarray:
    """log p(x | z) from the decoder output ``out`` (N, k, D) for images x (N, D): (N, k).

    bernoulli: sum_d x_d a_d - softplus(a_d) for logits a;
    gaussian:  -sum_d (x_d - x_hat_d)^2 - D/2 log pi       (N(x; x_hat, I/2))."""
    x = x[:, None, :]  # (N, 1, D)
    if likelihood == "bernoulli":
        terms = x * out - np.maximum(out, 0) - np.log1p(np.exp(-np.abs(out)))
        return np.sum(terms, axis=-1, dtype=np.float64)
    d = x - out
    return -np.sum(d * d, axis=-1, dtype=np.float64) - 0.5 * x.shape[-1] * np.log(np.pi)


def logmeanexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """log mean exp(a) along ``axis``, stably: m + log mean exp(a - m)."""
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.mean(np.exp(a - m), axis=axis, keepdims=True))).squeeze(axis)


class LatentBounds:
    """ELBO, IWAE bound, active units and reconstructions for a model with ``log_weights``,
    ``likelihood``, ``input_dim``, ``active_means``, ``encode_mean`` and ``decode_mean`` (mixed
    into the VAE and the HVAE)."""

    def reconstruct(self, x) -> np.ndarray:
        """E[x | z = posterior mean of x] in [0, 1], (N, D)."""
        return self.decode_mean(self.encode_mean(x))

    def _checked(self, x) -> np.ndarray:
        x = as_input(x, self.input_dim)
        if self.likelihood == "bernoulli" and not np.isin(x, (0, 1)).all():
            raise ValueError(
                "a Bernoulli model's bounds need binary images (0/1); binarise them first"
            )
        return x

    def elbo(self, x, k: int = 1) -> np.ndarray:
        """The ELBO of each image, (N,) in nats: the mean of k single-sample estimates."""
        return self._log_weights_chunked(self._checked(x), k).mean(axis=1)

    def iwae_bound(self, x, k: int, chunk_elements: int = 2**23) -> np.ndarray:
        """The importance-weighted bound log (1/k) sum_i w_i of each image, (N,) in nats,
        computed in chunks of draws (at most ``chunk_elements`` decoder outputs at once) and
        combined by log-sum-exp, so k = 5000 fits in memory."""
        log_w = self._log_weights_chunked(self._checked(x), k, chunk_elements)  # (N, k)
        return logmeanexp(log_w, axis=1)

    def _log_weights_chunked(self, x: np.ndarray, k: int, chunk_elements: int = 2**23):
        if k < 1:
            raise ValueError(f"the number of importance samples k must be positive, got {k}")
        per_image = max(1, chunk_elements // (k * self.input_dim))  # images per block
        rows = []
        for lo in range(0, len(x), per_image):
            xb = x[lo : lo + per_image]  # (n, D)
            per_k = max(1, chunk_elements // (len(xb) * self.input_dim))  # draws per chunk
            parts = [self.log_weights(xb, min(per_k, k - s)) for s in range(0, k, per_k)]
            rows.append(np.concatenate(parts, axis=1))  # (n, k)
        return np.concatenate(rows, axis=0)  # (N, k)

    def active_units(self, x, threshold: float = 0.01) -> dict[str, int]:
        """Per latent layer, the number of units u with Var_x(E_q[z_u | x]) > threshold."""
        means = self.active_means(x)
        return {name: int((m.var(axis=0) > threshold).sum()) for name, m in means.items()}
