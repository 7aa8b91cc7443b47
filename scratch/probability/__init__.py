"""Steps 1-5 in plain NumPy: the normal distributions, Gaussian mixtures by EM, KL divergence."""

from .divergence import kl_monte_carlo, kl_mvn, kl_normal
from .mixture import ConvergenceWarning, GaussianMixture
from .normal import MultivariateNormal, Normal

__all__ = [
    "ConvergenceWarning",
    "GaussianMixture",
    "MultivariateNormal",
    "Normal",
    "kl_monte_carlo",
    "kl_mvn",
    "kl_normal",
]
