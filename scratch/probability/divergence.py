"""Kullback-Leibler divergence KL(p || q) = E_p[log p(x) - log q(x)] >= 0, zero only when p = q.

Closed forms for two normals and two multivariate normals, and a Monte Carlo estimate for any two
distributions with ``sample`` and ``logpdf``.
"""

import numpy as np

from .normal import MultivariateNormal, Normal, solve_lower


def kl_normal(p: Normal, q: Normal) -> float:
    """KL(N(mu1, s1^2) || N(mu2, s2^2)) = log(s2 / s1) + (s1^2 + (mu1 - mu2)^2) / (2 s2^2) - 1/2."""
    return float(
        np.log(q.sigma / p.sigma) + (p.sigma**2 + (p.mu - q.mu) ** 2) / (2 * q.sigma**2) - 0.5
    )


def kl_mvn(p: MultivariateNormal, q: MultivariateNormal) -> float:
    """KL(N(mu1, S1) || N(mu2, S2))
        = (tr(S2^-1 S1) + (mu2 - mu1)^T S2^-1 (mu2 - mu1) - D + log det S2 - log det S1) / 2.

    With S = L L^T: tr(S2^-1 S1) = ||L2^-1 L1||_F^2, the Mahalanobis term is ||L2^-1 (mu2 - mu1)||^2
    and log det S = 2 sum log diag L. Forward substitution makes KL(p || p) exactly 0."""
    if p.dim != q.dim:
        raise ValueError(
            f"kl_mvn: expected two distributions of one dimension, got {p.dim}, {q.dim}"
        )
    a = solve_lower(q.chol, p.chol)  # (D, D) L2^-1 L1
    m = solve_lower(q.chol, (q.mu - p.mu)[:, None])[:, 0]  # (D,) L2^-1 (mu2 - mu1)
    log_det_ratio = 2 * (np.log(np.diag(q.chol)).sum() - np.log(np.diag(p.chol)).sum())
    return float(0.5 * ((a**2).sum() + (m**2).sum() - p.dim + log_det_ratio))


def kl_monte_carlo(p, q, n: int = 10_000, rng=None) -> tuple[float, float]:
    """KL(p || q) ~ (1/n) sum_i [log p(x_i) - log q(x_i)], x_i ~ p.

    Returns (estimate, standard error); unbiased, but unlike the closed forms it can be < 0."""
    if n < 2:
        raise ValueError(f"kl_monte_carlo: expected n >= 2 samples, got {n}")
    x = p.sample(n, rng)
    log_ratio = p.logpdf(x) - q.logpdf(x)  # (n,)
    return float(log_ratio.mean()), float(log_ratio.std(ddof=1) / np.sqrt(n))
