"""Generated data: stand-ins for the book's files, and toy sets for diffusion."""

import numpy as np

from scratch.probability import MultivariateNormal

# the book's step-4 mixture, close to Old Faithful: (eruption minutes, waiting minutes)
BOOK_PHIS = np.array([0.35, 0.65])
BOOK_MUS = np.array([[2.0, 54.50], [4.3, 80.0]])
BOOK_COVS = np.array([[[0.07, 0.44], [0.44, 33.7]], [[0.17, 0.94], [0.94, 36.00]]])
FAITHFUL_LABELS = ("eruptions (min)", "waiting (min)")


def sample_mixture(n: int, rng, phis=BOOK_PHIS, mus=BOOK_MUS, covs=BOOK_COVS):
    """(n, D) points and their (n,) components: z ~ Categorical(phis), x ~ N(mus[z], covs[z])."""
    z = rng.choice(len(phis), size=n, p=phis)  # (n,)
    X = np.empty((n, mus.shape[1]))
    for k, (mu, cov) in enumerate(zip(mus, covs, strict=True)):
        X[z == k] = MultivariateNormal(mu, cov).sample(int((z == k).sum()), rng)
    return X, z


def flower(size: int = 64) -> np.ndarray:
    """A drawn flower, (size, size, 3) float32 in [0, 1]: the stand-in for ``book/flower.png``
    (five magenta petals r < 0.5 + 0.35 cos(5 theta) around a yellow centre, on green)."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]  # (size, size) each
    r, theta = np.hypot(x, y), np.arctan2(y, x)
    petals = (r < 0.5 + 0.35 * np.cos(5 * theta)).astype(np.float32)
    centre = (r < 0.22).astype(np.float32)
    red = 0.15 + 0.8 * petals * (1 - centre) + 0.85 * centre
    green = 0.45 * (1 - petals) + 0.2 * petals + 0.75 * centre
    blue = 0.2 + 0.55 * petals * (1 - centre)
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 1).astype(np.float32)  # (H, W, 3)


def ring(n: int, rng=None, n_modes: int = 8, radius: float = 1.0, std: float = 0.1) -> np.ndarray:
    """(n, 2) float32 draws from ``n_modes`` equal Gaussians N(mu_k, std^2 I) whose means
    mu_k = radius (cos 2 pi k / K, sin 2 pi k / K) lie on a circle."""
    rng = np.random.default_rng(rng)
    k = rng.integers(0, n_modes, n)  # (n,) component of each draw
    mus = ring_means(n_modes, radius)  # (K, 2)
    return (mus[k] + std * rng.standard_normal((n, 2))).astype(np.float32)


def ring_means(n_modes: int = 8, radius: float = 1.0) -> np.ndarray:
    """(K, 2) means of the ring's components."""
    angle = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def ring_log_density(x, n_modes: int = 8, radius: float = 1.0, std: float = 0.1) -> np.ndarray:
    """log p(x) under the ring mixture, (n,): log (1/K) sum_k N(x; mu_k, std^2 I), in log space."""
    x = np.asarray(x, dtype=np.float64)
    d2 = ((x[:, None, :] - ring_means(n_modes, radius)) ** 2).sum(-1)  # (n, K)
    log_normal = -0.5 * d2 / std**2 - np.log(2 * np.pi * std**2)  # (n, K), 2-D normals
    return np.logaddexp.reduce(log_normal, axis=1) - np.log(n_modes)


def two_moons(n: int, rng=None, noise: float = 0.1) -> np.ndarray:
    """(n, 2) float32 points on two interleaved half circles, plus N(0, noise^2) jitter, centred
    at the origin: the upper (cos a, sin a) and the lower (1 - cos a, 0.5 - sin a), a in [0, pi]."""
    rng = np.random.default_rng(rng)
    a = rng.uniform(0, np.pi, n)  # (n,)
    upper = rng.random(n) < 0.5  # (n,) which moon
    x = np.where(upper, np.cos(a), 1 - np.cos(a)) - 0.5
    y = np.where(upper, np.sin(a), 0.5 - np.sin(a)) - 0.25
    return (np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))).astype(np.float32)


def stand_in_digits(n: int, rng: np.random.Generator, labels=None) -> np.ndarray:
    """(n, 784) float32 images in [0, 1] standing in for MNIST: a bright ring (labels 0-4) or bar
    (5-9) on black, of random position and stroke width, its radius or half length in a band set
    by the label (4 + label % 5 to 5 + label % 5 pixels): a smooth low-dimensional family that a
    VAE can fit and a classifier can learn. ``labels`` (n,) ints in 0..9, drawn from ``rng`` when
    not given."""
    if labels is None:
        labels = rng.integers(0, 10, n)
    labels = np.asarray(labels).reshape(n, 1, 1)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)  # (28, 28) each
    c = rng.uniform(9, 19, (n, 2, 1, 1)).astype(np.float32)  # centres
    r = (4 + labels % 5 + rng.uniform(0, 1, (n, 1, 1))).astype(np.float32)  # radii / half lengths
    w = rng.uniform(1.0, 2.5, (n, 1, 1)).astype(np.float32)  # stroke widths
    dist = np.hypot(yy - c[:, 0], xx - c[:, 1])  # (n, 28, 28)
    ring = np.abs(dist - r)
    bar = np.where(np.abs(xx - c[:, 1]) < r, np.abs(yy - c[:, 0]), 99.0)
    d = np.where(labels < 5, ring, bar)
    return np.clip(1.5 - d / w, 0, 1).reshape(n, 784).astype(np.float32)
