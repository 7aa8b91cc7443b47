"""Steps 4-5: the Gaussian mixture model, fitted by EM in log space.

    p(x) = sum_k phi_k N(x; mu_k, Sigma_k)

E-step: responsibilities q_nk = phi_k N(x_n; mu_k, Sigma_k) / p(x_n), by log-sum-exp.
M-step: N_k = sum_n q_nk, phi_k = N_k / N, mu_k = sum_n q_nk x_n / N_k,
        Sigma_k = sum_n q_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar I.
Each EM iteration is one pass of the fused kernel ``scratch.kernels.em.em_step`` over the data.
The interface is scikit-learn's ``GaussianMixture(covariance_type='full')``.
"""

import warnings

import numpy as np

from scratch.kernels.em import em_step, log_resp, suff_stats

from .normal import as_float_array, cholesky, precision_cholesky

EPS = 10 * np.finfo(np.float64).eps  # added to N_k, as scikit-learn does, so phi_k > 0


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood changed by less than ``tol``."""


class GaussianMixture:
    """A mixture of ``n_components`` full-covariance Gaussians, fitted by EM.

    init='kmeans++' seeds the means by k-means++ on the data, then takes the first M-step from hard
    assignments to the nearest seed; ``weights_init`` (phis), ``means_init`` (mus) and
    ``covariances_init`` (covs) override the parts they give. Fitting stops when the mean
    log-likelihood changes by less than ``tol``, or after ``max_iter`` iterations (with a
    ConvergenceWarning).

    Fitted: ``weights_`` (K,), ``means_`` (K, D), ``covariances_`` (K, D, D),
    ``precisions_cholesky_`` (K, D, D), ``n_iter_``, ``converged_``, and ``log_likelihoods_``
    (n_iter_ + 1,): the mean log-likelihood at the initial parameters, then after each iteration.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        max_iter: int = 100,
        tol: float = 1e-4,
        reg_covar: float = 1e-6,
        init: str = "kmeans++",
        weights_init=None,
        means_init=None,
        covariances_init=None,
        random_state=None,
    ):
        if not (isinstance(n_components, int | np.integer) and n_components >= 1):
            raise ValueError(f"n_components: expected an integer >= 1, got {n_components!r}")
        if not (isinstance(max_iter, int | np.integer) and max_iter >= 1):
            raise ValueError(f"max_iter: expected an integer >= 1, got {max_iter!r}")
        if not tol >= 0:
            raise ValueError(f"tol: expected a number >= 0, got {tol!r}")
        if not (np.isfinite(reg_covar) and reg_covar >= 0):
            raise ValueError(f"reg_covar: expected a finite number >= 0, got {reg_covar!r}")
        if init != "kmeans++":
            raise ValueError(f"init: expected 'kmeans++', got {init!r}")
        self.n_components, self.max_iter, self.tol = int(n_components), int(max_iter), tol
        self.reg_covar, self.init, self.random_state = reg_covar, init, random_state
        self.weights_init, self.means_init = weights_init, means_init
        self.covariances_init = covariances_init

    # ---- fitting -------------------------------------------------------------------------------

    def fit(self, X) -> "GaussianMixture":
        """Run EM on X (N, D) from the initial parameters; returns self."""
        X = self._check_X(X, fitting=True)
        N = len(X)
        self._set_params(*self._initial_params(X))
        ll_sum, *sums = self._em_pass(X, self.means_)
        self.log_likelihoods_ = [ll_sum / N]
        self.converged_ = False
        for n_iter in range(1, self.max_iter + 1):
            self.n_iter_ = n_iter
            self._set_params(*self._m_step(sums, self.means_, lambda c: self._em_pass(X, c)[1:]))
            ll_sum, *sums = self._em_pass(X, self.means_)  # E-step and the next M-step's sums
            self.log_likelihoods_.append(ll_sum / N)
            if abs(self.log_likelihoods_[-1] - self.log_likelihoods_[-2]) < self.tol:
                self.converged_ = True
                break
        if not self.converged_:
            warnings.warn(
                f"EM did not converge in max_iter={self.max_iter} iterations: the last change "
                f"in mean log-likelihood was {self.log_likelihoods_[-1] - self.log_likelihoods_[-2]:.3g}"
                f" (tol={self.tol}). Raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.log_likelihoods_ = np.array(self.log_likelihoods_)
        return self

    def _em_pass(self, X, shift):
        """E-step at the current parameters and the M-step's sums about ``shift`` (one pass)."""
        return em_step(X, np.log(self.weights_), self.means_, self.precisions_cholesky_, shift)

    def _m_step(self, sums, shift, resum):
        """phis, mus, covs from the sums (N_k, sx, sxx) taken about ``shift`` (K, D).

        Sigma_k = sxx_k / N_k - d_k d_k^T with d_k = sx_k / N_k = mu_k - c_k. When the mean moved
        far (relative to the spread) from its shift, that difference would cancel; then the sums
        are taken again, by ``resum(shift)``, about the new means."""
        nk, sx, sxx = sums
        nk = nk + EPS
        dev = sx / nk[:, None]  # (K, D)
        second = np.diagonal(sxx, axis1=1, axis2=2) / nk[:, None]  # (K, D)
        if np.any(second > 1e4 * (second - dev**2)):
            shift = shift + dev
            nk, sx, sxx = resum(shift)
            nk = nk + EPS
            dev = sx / nk[:, None]
        covs = sxx / nk[:, None, None] - dev[:, :, None] * dev[:, None, :]  # (K, D, D)
        covs += self.reg_covar * np.eye(sx.shape[1])
        return nk / nk.sum(), shift + dev, covs

    def _initial_params(self, X):
        """(phis, mus, covs): k-means++ seeding then one M-step, overridden by the given inits."""
        K, D = self.n_components, X.shape[1]
        given = [
            _check_init(self.weights_init, (K,), "weights_init"),
            _check_init(self.means_init, (K, D), "means_init"),
            _check_init(self.covariances_init, (K, D, D), "covariances_init"),
        ]
        if given[0] is not None and not (np.all(given[0] > 0) and abs(given[0].sum() - 1) < 1e-6):
            raise ValueError(
                f"weights_init: expected positive weights summing to 1, got {given[0].tolist()}"
            )
        if given[2] is not None:
            cholesky(given[2], "covariances_init")
        if all(g is not None for g in given):
            return given
        seeds = kmeans_plusplus(X, K, self.random_state)  # (K, D)
        # the nearest seed: the most responsible of K equal unit-covariance components
        unit = np.broadcast_to(np.eye(D), (K, D, D)).copy()
        nearest = log_resp(X, np.full(K, -np.log(K)), seeds, unit)[0].argmax(axis=1)  # (N,)
        qs = np.zeros((len(X), K))
        qs[np.arange(len(X)), nearest] = 1.0
        init = self._m_step(suff_stats(X, qs, seeds), seeds, lambda c: suff_stats(X, qs, c))
        return [g if g is not None else p for g, p in zip(given, init, strict=True)]

    def _set_params(self, weights, means, covs):
        self.weights_, self.means_, self.covariances_ = weights, means, covs
        try:
            chol = np.linalg.cholesky(covs)
        except np.linalg.LinAlgError:
            raise ValueError(
                "EM produced a covariance that is not positive definite (a component collapsed "
                f"onto too few points); increase reg_covar (now {self.reg_covar})"
            ) from None
        self.precisions_cholesky_ = precision_cholesky(chol)  # (K, D, D) upper

    # ---- using the fit -----------------------------------------------------------------------

    def _log_resp(self, X):
        X = self._check_X(X, fitting=False)
        return log_resp(X, np.log(self.weights_), self.means_, self.precisions_cholesky_)

    def score_samples(self, X) -> np.ndarray:
        """(N,) log p(x_n) = logsumexp_k [log phi_k + log N(x_n; mu_k, Sigma_k)]."""
        return self._log_resp(X)[1]

    def score(self, X) -> float:
        """Mean log-likelihood (1/N) sum_n log p(x_n)."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X) -> np.ndarray:
        """(N, K) responsibilities q_nk."""
        return np.exp(self._log_resp(X)[0])

    def predict(self, X) -> np.ndarray:
        """(N,) the most responsible component of each point."""
        return self._log_resp(X)[0].argmax(axis=1)

    def sample(self, n_samples: int = 1, rng=None):
        """Draw (X (n, D), labels (n,)): z ~ Categorical(phis), x = mu_z + L_z eps, eps ~ N(0, I).

        ``rng`` defaults to the estimator's ``random_state``."""
        self._check_fitted()
        if not (isinstance(n_samples, int | np.integer) and n_samples >= 1):
            raise ValueError(f"n_samples: expected an integer >= 1, got {n_samples!r}")
        rng = np.random.default_rng(self.random_state if rng is None else rng)
        labels = rng.choice(self.n_components, size=n_samples, p=self.weights_)  # (n,)
        chol = np.linalg.cholesky(self.covariances_)  # (K, D, D)
        eps = rng.standard_normal((n_samples, self.means_.shape[1]))  # (n, D)
        return self.means_[labels] + np.einsum("nij,nj->ni", chol[labels], eps), labels

    # ---- checks ------------------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "means_"):
            raise ValueError("this GaussianMixture is not fitted yet: call fit(X) first")

    def _check_X(self, X, fitting: bool) -> np.ndarray:
        if not fitting:
            self._check_fitted()
        X = np.ascontiguousarray(as_float_array(X, "X", 2))
        if fitting and len(X) < self.n_components:
            raise ValueError(
                f"X: expected n_samples >= n_components={self.n_components}, got {len(X)} samples"
            )
        if not fitting and X.shape[1] != self.means_.shape[1]:
            raise ValueError(
                f"X: expected {self.means_.shape[1]} features (as in fit), got {X.shape[1]}"
            )
        return X


def _check_init(value, shape, name):
    if value is None:
        return None
    value = as_float_array(value, name, len(shape))
    if value.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {value.shape}")
    return value


def kmeans_plusplus(X, K: int, random_state=None) -> np.ndarray:
    """K seeds (K, D) by k-means++: the first uniformly, each next with probability proportional
    to its squared distance to the nearest seed so far. The rows are sorted first, so the seeds do
    not depend on the order of the data."""
    rng = np.random.default_rng(random_state)
    X = X[np.lexsort(X.T[::-1])]  # (N, D) in a fixed order
    seeds = [X[rng.integers(len(X))]]
    d2 = ((X - seeds[0]) ** 2).sum(axis=1)  # (N,) squared distance to the nearest seed
    for _ in range(1, K):
        total = d2.sum()
        i = rng.choice(len(X), p=d2 / total) if total > 0 else rng.integers(len(X))
        seeds.append(X[i])
        d2 = np.minimum(d2, ((X - X[i]) ** 2).sum(axis=1))
    return np.array(seeds)
