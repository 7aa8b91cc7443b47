"""Steps 1-3: the normal distribution and the multivariate normal, by their Cholesky factors.

    N(x; mu, sigma)  = exp(-(x - mu)^2 / (2 sigma^2)) / sqrt(2 pi sigma^2)
    N(x; mu, Sigma)  = exp(-(x - mu)^T Sigma^-1 (x - mu) / 2) / sqrt((2 pi)^D det Sigma)

With Sigma = L L^T (Cholesky) and P = (L^-1)^T, the precision's Cholesky factor (upper triangular),
log N(x; mu, Sigma) = -D/2 log 2 pi + sum_i log P_ii - ||(x - mu) P||^2 / 2. Nothing is inverted
but a triangle, and the log determinant comes from the diagonal, so near-singular covariances stay
finite. ``fit`` is maximum likelihood: the sample mean and the covariance divided by N (ddof=0).
"""

import numpy as np

LOG_2PI = np.log(2 * np.pi)


def as_float_array(x, name: str, ndim: int) -> np.ndarray:
    """``x`` as a finite float64 array of ``ndim`` dimensions, or a ValueError saying why not."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: expected finite values, got NaN or inf")
    return x


def solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """X with L X = B by forward substitution; L (..., D, D) lower triangular, B (..., D, M).

    Row i: X_i = (B_i - L_i,:i X_:i) / L_ii. solve_lower(L, L) is exactly the identity."""
    X = np.empty(np.broadcast_shapes(L.shape[:-2], B.shape[:-2]) + B.shape[-2:])
    for i in range(L.shape[-1]):
        done = np.einsum("...j,...jm->...m", L[..., i, :i], X[..., :i, :])  # (..., M)
        X[..., i, :] = (B[..., i, :] - done) / L[..., i, i, None]
    return X


def cholesky(covs: np.ndarray, name: str = "cov") -> np.ndarray:
    """Lower Cholesky factors L of (..., D, D) covariances; a clear ValueError if one is not
    symmetric positive definite."""
    if not np.allclose(covs, np.swapaxes(covs, -1, -2), rtol=1e-10, atol=0):
        raise ValueError(f"{name}: expected a symmetric matrix, got an asymmetric one")
    try:
        return np.linalg.cholesky(covs)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{name}: expected a positive-definite covariance, got one that is not "
            f"(smallest eigenvalue {np.linalg.eigvalsh(covs).min():.3g})"
        ) from None


def precision_cholesky(chol: np.ndarray) -> np.ndarray:
    """P = (L^-1)^T (..., D, D), upper triangular, so that Sigma^-1 = P P^T."""
    eye = np.broadcast_to(np.eye(chol.shape[-1]), chol.shape)
    return np.swapaxes(solve_lower(chol, eye), -1, -2)


class Normal:
    """The normal distribution N(mu, sigma^2) (steps 1-2)."""

    def __init__(self, mu: float = 0.0, sigma: float = 1.0):
        if not (np.isfinite(mu) and np.isfinite(sigma) and sigma > 0):
            raise ValueError(
                f"Normal: expected finite mu and sigma > 0, got mu={mu}, sigma={sigma}"
            )
        self.mu, self.sigma = float(mu), float(sigma)

    def __repr__(self) -> str:
        return f"Normal(mu={self.mu!r}, sigma={self.sigma!r})"

    def logpdf(self, x) -> np.ndarray:
        """log N(x; mu, sigma) = -((x - mu) / sigma)^2 / 2 - log sigma - log(2 pi) / 2."""
        z = (np.asarray(x, dtype=np.float64) - self.mu) / self.sigma
        return -0.5 * z**2 - np.log(self.sigma) - 0.5 * LOG_2PI

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def sample(self, n: int, rng=None) -> np.ndarray:
        """(n,) draws mu + sigma z, z ~ N(0, 1)."""
        return self.mu + self.sigma * np.random.default_rng(rng).standard_normal(n)

    @classmethod
    def fit(cls, x) -> "Normal":
        """Maximum likelihood: mu = mean(x), sigma^2 = mean((x - mu)^2).

        ddof=0, not the unbiased N - 1: the likelihood is maximised by dividing by N."""
        x = as_float_array(x, "Normal.fit", 1)
        if len(x) < 2:
            raise ValueError(f"Normal.fit: expected at least 2 samples, got {len(x)}")
        mu = x.mean()
        sigma = np.sqrt(np.mean((x - mu) ** 2))
        if sigma == 0:
            raise ValueError("Normal.fit: expected samples that are not all equal (sigma = 0)")
        return cls(mu, sigma)


class MultivariateNormal:
    """The multivariate normal N(mu, Sigma) in D dimensions (step 3)."""

    def __init__(self, mu, cov):
        mu = as_float_array(mu, "MultivariateNormal mu", 1)
        cov = as_float_array(cov, "MultivariateNormal cov", 2)
        if cov.shape != (len(mu), len(mu)):
            raise ValueError(
                f"MultivariateNormal: expected cov of shape {(len(mu), len(mu))} for mu of "
                f"length {len(mu)}, got {cov.shape}"
            )
        self.mu, self.cov = mu, cov
        self.chol = cholesky(cov, "MultivariateNormal cov")  # (D, D) lower, Sigma = L L^T
        self.prec_chol = precision_cholesky(self.chol)  # (D, D) upper, Sigma^-1 = P P^T

    def __repr__(self) -> str:
        return f"MultivariateNormal(mu={self.mu.tolist()}, cov={self.cov.tolist()})"

    @property
    def dim(self) -> int:
        return len(self.mu)

    def _points(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"expected points of shape (..., {self.dim}), got {x.shape}")
        return x

    def logpdf(self, x) -> np.ndarray:
        """log N(x; mu, Sigma) for x (..., D) -> (...,)."""
        y = (self._points(x) - self.mu) @ self.prec_chol  # (..., D) whitened
        log_det_p = np.log(np.diag(self.prec_chol)).sum()  # = -log det(Sigma) / 2
        return -0.5 * (y**2).sum(-1) + log_det_p - 0.5 * self.dim * LOG_2PI

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def sample(self, n: int, rng=None) -> np.ndarray:
        """(n, D) draws mu + L z, z ~ N(0, I)."""
        z = np.random.default_rng(rng).standard_normal((n, self.dim))  # (n, D)
        return self.mu + z @ self.chol.T

    @classmethod
    def fit(cls, X) -> "MultivariateNormal":
        """Maximum likelihood: mu = mean of the rows, Sigma = (X - mu)^T (X - mu) / N.

        ddof=0 (``np.cov`` divides by N - 1 by default): dividing by N maximises the likelihood."""
        X = as_float_array(X, "MultivariateNormal.fit", 2)
        if len(X) <= X.shape[1]:
            raise ValueError(
                f"MultivariateNormal.fit: expected more samples than dimensions, got {X.shape}"
            )
        mu = X.mean(axis=0)
        diff = X - mu  # (N, D)
        return cls(mu, diff.T @ diff / len(X))
