"""Steps 1-5 in plain NumPy: the normal distributions, Gaussian mixtures by EM, KL divergence."""

from .divergence import kl_monte_carlo, kl_mvn, kl_normal
from .mixture import ConvergenceWarning, GaussianMixture, NotFittedError, e_step, m_step
from .normal import MultivariateNormal, Normal

__all__ = [
    "ConvergenceWarning",
    "GaussianMixture",
    "MultivariateNormal",
    "Normal",
    "NotFittedError",
    "e_step",
    "m_step",
    "kl_monte_carlo",
    "kl_mvn",
    "kl_normal",
]
