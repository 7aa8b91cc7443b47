"""Steps 4-5: the Gaussian mixture model, fitted by EM in log space.

    p(x) = sum_k phi_k N(x; mu_k, Sigma_k)

E-step: responsibilities q_nk = phi_k N(x_n; mu_k, Sigma_k) / p(x_n), by log-sum-exp.
M-step: 1. phi_k = N_k / N with N_k = sum_n q_nk,  2. mu_k = sum_n q_nk x_n / N_k,
        3. Sigma_k = sum_n q_nk (x_n - mu_k)(x_n - mu_k)^T / N_k.
``e_step`` and ``m_step`` are the book's version; ``GaussianMixture`` is scikit-learn's estimator
(every ``covariance_type``), whose fast path fuses one E-step and the next M-step's sums into one
Numba pass over the data (``scratch.kernels.em.em_step``).
"""

import inspect
import sys
import warnings

import numpy as np

from scratch.kernels.em import em_step, em_step_diag, log_resp, log_resp_numpy, whiten

from .kmeans import kmeans, kmeans_plusplus
from .normal import precision_cholesky

EPS = 10 * np.finfo(np.float64).eps  # added to N_k, as scikit-learn does, so phi_k > 0
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


# ---- the book's EM ----------------------------------------------------------------------------


def e_step(X, phis, mus, covs):
    """qs (N, K) responsibilities and the mean log-likelihood (1/N) sum_n log p(x_n).

    X (N, D), phis (K,), mus (K, D), covs (K, D, D)."""
    prec_chols = precision_cholesky(np.linalg.cholesky(covs))  # (K, D, D): Sigma^-1 = P P^T
    log_qs, log_p = log_resp_numpy(X, np.log(phis), mus, prec_chols)  # (N, K), (N,)
    return np.exp(log_qs), log_p.mean()


def m_step(X, qs, covariance_type="full", reg_covar=0.0):
    """phis (K,), mus (K, D), covs from responsibilities qs (N, K).

    covs is (K, D, D) for 'full'; the other types as scikit-learn's: 'tied' (D, D) one pooled
    matrix (sum_k N_k Sigma_k / N when each q_n sums to 1), 'diag' (K, D) the diagonals of
    Sigma_k, 'spherical' (K,) their means. ``reg_covar`` is added to the variances."""
    N_k = qs.sum(axis=0) + EPS  # (K,)
    # 1. phis
    phis = N_k / N_k.sum()
    # 2. mus
    mus = qs.T @ X / N_k[:, None]  # (K, D)
    # 3. covs
    if covariance_type == "tied":  # pooled: (sum_n x_n x_n^T - sum_k N_k mu_k mu_k^T) / sum_k N_k
        tied = (X.T @ X - (N_k * mus.T) @ mus) / N_k.sum()  # (D, D)
        return phis, mus, tied + reg_covar * np.eye(X.shape[1])
    diff = X[:, None, :] - mus  # (N, K, D)
    covs = np.einsum("nk,nki,nkj->kij", qs, diff, diff) / N_k[:, None, None]  # (K, D, D)
    return phis, mus, reduce_covariances(covs, N_k, covariance_type, reg_covar)


def reduce_covariances(covs, N_k, covariance_type, reg_covar):
    """Full covariances (K, D, D) -> the covariance_type's own form, plus reg_covar."""
    if covariance_type == "full":
        return covs + reg_covar * np.eye(covs.shape[-1])
    if covariance_type == "tied":
        return np.einsum("k,kij->ij", N_k, covs) / N_k.sum() + reg_covar * np.eye(covs.shape[-1])
    variances = np.diagonal(covs, axis1=1, axis2=2) + reg_covar  # (K, D)
    return variances if covariance_type == "diag" else variances.mean(axis=1)


# ---- scikit-learn's estimator ------------------------------------------------------------------


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fit was called before ``fit`` (scikit-learn's bases)."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the lower bound changed by less than ``tol``."""


def _sklearn_or_own(name):
    """scikit-learn's exception class when sklearn is already loaded, else scratch's twin."""
    if "sklearn" in sys.modules:
        import sklearn.exceptions  # noqa: PLC0415 - only once the user has loaded sklearn

        return getattr(sklearn.exceptions, name)
    return {"NotFittedError": NotFittedError, "ConvergenceWarning": ConvergenceWarning}[name]


def check_random_state(seed):
    """None -> NumPy's global RandomState, an int -> RandomState(int), a RandomState -> itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, int | np.integer):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state: expected None, an int or a RandomState, got {seed!r}")


class GaussianMixture:
    """A mixture of ``n_components`` Gaussians fitted by EM: scikit-learn's ``GaussianMixture``.

    covariance_type: 'full' (each component its own matrix), 'tied' (one shared matrix), 'diag'
    (each its own diagonal), 'spherical' (each its own variance). init_params: responsibilities
    from 'kmeans' (Lloyd), 'k-means++' (its seeds), 'random' or 'random_from_data'; the best of
    ``n_init`` runs (by lower bound) is kept. weights_init, means_init, precisions_init override
    the start. EM stops when the mean log-likelihood (the lower bound) changes by less than tol.

    Fitted: weights_, means_, covariances_, precisions_, precisions_cholesky_, converged_,
    n_iter_, lower_bound_, lower_bounds_, n_features_in_.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ---- parameters, as scikit-learn's BaseEstimator -------------------------------------------

    @classmethod
    def _get_param_names(cls):
        return sorted(p for p in inspect.signature(cls.__init__).parameters if p != "self")

    def get_params(self, deep=True):
        """The constructor's arguments, by name."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name; returns self."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}(). "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if not (isinstance(v, type(defaults[k].default)) and _same(v, defaults[k].default))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags  # noqa: PLC0415 - only asked for by sklearn

        return Tags(
            estimator_type="density_estimator",
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
        )

    def _check_parameters(self, X):
        def integer(name, low):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, int | np.integer) and v >= low):
                raise ValueError(f"{name}: expected an integer >= {low}, got {v!r}")

        def number(name):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, int | float | np.number) and v >= 0):
                raise ValueError(f"{name}: expected a number >= 0, got {v!r}")

        integer("n_components", 1), integer("max_iter", 0), integer("n_init", 1)
        integer("verbose", 0), integer("verbose_interval", 1)
        number("tol"), number("reg_covar")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type: expected one of {COVARIANCE_TYPES}, got {self.covariance_type!r}"
            )
        if self.init_params not in INIT_PARAMS:
            raise ValueError(
                f"init_params: expected one of {INIT_PARAMS}, got {self.init_params!r}"
            )
        K, D = self.n_components, X.shape[1]
        if self.weights_init is not None:
            self._weights_init = _check_weights(self.weights_init, K)
        if self.means_init is not None:
            self._means_init = _check_shape(self.means_init, (K, D), "means")
        if self.precisions_init is not None:
            self._precisions_init = _check_precisions(
                self.precisions_init, self.covariance_type, K, D
            )

    # ---- fitting -------------------------------------------------------------------------------

    def fit(self, X, y=None):
        """Run EM on X (N, D) ``n_init`` times and keep the best; returns self."""
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then (N,) the most responsible component of each point."""
        X, dtype = self._validate_X(X, reset=True)
        if len(X) < 2:
            raise ValueError(
                f"Found array with {len(X)} sample(s) (shape={X.shape}) while a minimum of 2 is "
                "required by GaussianMixture."
            )
        if len(X) < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {len(X)}"
            )
        self._check_parameters(X)
        self._dtype = dtype
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        rng = check_random_state(self.random_state)
        best_bound, best, best_bounds, best_n_iter, converged_best = -np.inf, None, [], 0, False
        xtx = X.T @ X if self.covariance_type == "tied" else None  # (D, D), fixed over the fit
        for init in range(n_init):
            if self.verbose:
                print(f"Initialization {init}")
            if do_init:
                self._initialize_parameters(X, rng)
            params = self._params64()
            bound = -np.inf if do_init else self.lower_bound_
            bounds, converged, n_iter = [], False, 0
            for n_iter in range(1, self.max_iter + 1):
                prev = bound
                ll_sum, params = self._em_iteration(X, params, xtx)
                bound = ll_sum / len(X)
                bounds.append(bound)
                if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                    print(f"  Iteration {n_iter}\t change: {bound - prev}")
                if abs(bound - prev) < self.tol:
                    converged = True
                    break
            if self.verbose:
                print(f"Initialization converged: {converged}\t lower bound: {bound}")
            if self.max_iter == 0 or bound > best_bound or best_bound == -np.inf:
                best_bound, best, best_bounds = bound, params, bounds
                best_n_iter, converged_best = n_iter, converged
        self.converged_ = converged_best
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                _sklearn_or_own("ConvergenceWarning"),
                stacklevel=2,
            )
        self._set_params64(*best, covariances=self.max_iter > 0 or self._has_covs)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = best_bound
        self.lower_bounds_ = best_bounds
        return self._log_resp(X)[0].argmax(axis=1)

    def _em_iteration(self, X, params, xtx):
        """One E-step and the M-step after it, fused in one pass over X: the kernel that suits
        covariance_type. Returns (sum_n log p(x_n), the new (phis, mus, covs, P (K, D, D)))."""
        phis, means, _, p_full = params
        log_w = np.log(phis)
        if self.covariance_type == "full":
            ll_sum, *sums = em_step(X, log_w, means, p_full, means)
            return ll_sum, self._m_step_from_sums(
                sums, means, lambda c: em_step(X, log_w, means, p_full, c)[1:]
            )
        if self.covariance_type == "tied":
            return self._tied_iteration(X, log_w, means, p_full[0], xtx)
        p_diag = np.ascontiguousarray(np.diagonal(p_full, axis1=1, axis2=2))  # (K, D)
        ll_sum, *sums = em_step_diag(X, log_w, means, p_diag, means)
        return ll_sum, self._m_step_from_sums(
            sums, means, lambda c: em_step_diag(X, log_w, means, p_diag, c)[1:]
        )

    def _tied_iteration(self, X, log_w, means, P, xtx):
        """'tied': one P for all k, so ||(x - mu_k) P||^2 = ||y - mu_k P||^2 with y = x P: the
        E-step is the diagonal kernel's on whitened data Y = X P with unit precisions. The M-step
        is scikit-learn's: Sigma = (X^T X - sum_k N_k mu_k mu_k^T) / sum_k N_k."""
        Y, means_y = whiten(X, P), means @ P  # (N, D), (K, D)
        ones = np.ones_like(means_y)
        log_det = np.log(np.diagonal(P)).sum()
        ll_sum, nk, sy, _ = em_step_diag(Y, log_w + log_det, means_y, ones, means_y)
        N_k = nk + EPS
        mus_y = (sy + nk[:, None] * means_y) / N_k[:, None]  # sum_n q_nk y_n / N_k
        mus = np.linalg.solve(P.T, mus_y.T).T  # mu_k = mu_y,k P^-1
        tied = (xtx - (N_k * mus.T) @ mus) / N_k.sum() + self.reg_covar * np.eye(X.shape[1])
        return ll_sum, (N_k / N_k.sum(), mus, tied, self._precision_cholesky_full(tied))

    def _m_step_from_sums(self, sums, shift, sums_about):
        """The M-step from the fused pass's sums (N_k, sx, sxx) about ``shift`` (K, D).

        Sigma_k = sxx_k / N_k - d_k d_k^T with d_k = sx_k / N_k = mu_k - c_k. When a mean moved
        far (relative to its spread) from its shift, that difference would cancel; then the sums
        are taken again, by ``sums_about(shift)``, about the new means."""
        nk, sx, sxx = sums
        nk = nk + EPS
        dev = sx / nk[:, None]  # (K, D)
        diagonal = sxx.ndim == 2  # the diagonal kernel's sums: sxx is (K, D)
        second = (sxx if diagonal else np.diagonal(sxx, axis1=1, axis2=2)) / nk[:, None]  # (K, D)
        if np.any(second > 1e4 * (second - dev**2)):
            shift = shift + dev
            nk, sx, sxx = sums_about(shift)
            nk = nk + EPS
            dev = sx / nk[:, None]
        if diagonal:  # 'diag' (K, D) or 'spherical' (K,)
            covs = sxx / nk[:, None] - dev**2 + self.reg_covar
            covs = covs if self.covariance_type == "diag" else covs.mean(axis=1)
        else:
            covs = sxx / nk[:, None, None] - dev[:, :, None] * dev[:, None, :]  # (K, D, D)
            covs = reduce_covariances(covs, nk, self.covariance_type, self.reg_covar)
        return nk / nk.sum(), shift + dev, covs, self._precision_cholesky_full(covs)

    def _initialize_parameters(self, X, rng):
        """Responsibilities from init_params, then _initialize (scikit-learn's order of draws)."""
        N, K = len(X), self.n_components
        resp = np.zeros((N, K))
        if self.init_params == "kmeans":
            resp[np.arange(N), kmeans(X, K, rng)[1]] = 1
        elif self.init_params == "random":
            resp = rng.uniform(size=(N, K))
            resp /= resp.sum(axis=1)[:, None]
        elif self.init_params == "random_from_data":
            resp[rng.choice(N, size=K, replace=False), np.arange(K)] = 1
        else:
            resp[kmeans_plusplus(X, K, rng)[1], np.arange(K)] = 1
        self._initialize(X, resp)

    def _initialize(self, X, resp):
        """phis, mus, covs from responsibilities resp (N, K), overridden by the given inits."""
        if not hasattr(self, "_n_features"):  # called on its own, as scikit-learn's tests do
            X, self._dtype = self._validate_X(X, reset=True)
            for name in ("weights_init", "means_init", "precisions_init"):
                if getattr(self, name) is not None:
                    setattr(self, "_" + name, np.asarray(getattr(self, name), dtype=np.float64))
        K = np.shape(resp)[1]
        weights, means, covs = m_step(X, np.asarray(resp, dtype=np.float64), self.covariance_type,
                                      self.reg_covar)  # fmt: skip
        if self.weights_init is not None:
            weights = self._weights_init
        if self.means_init is not None:
            means = self._means_init
        self._has_covs = self.precisions_init is None
        if self.precisions_init is None:
            p_chol = precision_cholesky_of(covs, self.covariance_type)
        else:
            p_chol = cholesky_of_precisions(self._precisions_init, self.covariance_type)
        self._set_params64(weights, means, covs, expand_precision_cholesky(p_chol, self.covariance_type, K, X.shape[1]),
                           covariances=self._has_covs, p_chol=p_chol)  # fmt: skip

    def _precision_cholesky_full(self, covs):
        p = precision_cholesky_of(covs, self.covariance_type)
        return expand_precision_cholesky(
            p, self.covariance_type, self.n_components, self._n_features
        )

    def _params64(self):
        """(phis, mus, covs, P (K, D, D)) in float64, from the fitted attributes."""
        K, D = self.n_components, self.n_features_in_
        p_full = expand_precision_cholesky(self.precisions_cholesky_, self.covariance_type, K, D)
        w, m = (np.asarray(a, dtype=np.float64) for a in (self.weights_, self.means_))
        return w, m, getattr(self, "covariances_", None), p_full

    def _set_params64(self, weights, means, covs, p_full, covariances=True, p_chol=None):
        dt = self._dtype
        self.weights_ = np.asarray(weights, dtype=dt)
        self.means_ = np.asarray(means, dtype=dt)
        if covariances:
            self.covariances_ = np.asarray(covs, dtype=dt)
        if p_chol is None:
            p_chol = compact_precision_cholesky(p_full, self.covariance_type)
        self.precisions_cholesky_ = np.asarray(p_chol, dtype=dt)
        pc = np.asarray(p_chol, dtype=np.float64)
        if self.covariance_type in ("full", "tied"):
            prec = pc @ np.swapaxes(pc, -1, -2)
        else:
            prec = pc**2
        self.precisions_ = prec.astype(dt)

    def _set_parameters(self, params):
        """(weights, means, covariances, precisions_cholesky) as scikit-learn's _set_parameters."""
        weights, means, covs, p_chol = params
        self._dtype = np.asarray(means).dtype
        self._n_features = self.n_features_in_ = np.asarray(means).shape[1]
        p_full = expand_precision_cholesky(
            p_chol, self.covariance_type, self.n_components, self._n_features
        )
        self._set_params64(weights, means, covs, p_full, p_chol=p_chol)

    def _n_parameters(self):
        """Free parameters: K - 1 weights, K D means and the covariances' own count."""
        K, D = self.means_.shape
        cov = {"full": K * D * (D + 1) / 2, "tied": D * (D + 1) / 2, "diag": K * D, "spherical": K}
        return int(cov[self.covariance_type] + K * D + K - 1)

    # ---- using the fit -------------------------------------------------------------------------

    def _log_resp(self, X):
        """log q (N, K) and log p(x) (N,) at the fitted parameters, X already validated."""
        weights, means, _, p_full = self._params64()
        return log_resp(X, np.log(weights), means, p_full)

    def _checked(self, X):
        self._check_fitted()
        return self._validate_X(X, reset=False)

    def score_samples(self, X):
        """(N,) log p(x_n) = logsumexp_k [log phi_k + log N(x_n; mu_k, Sigma_k)]."""
        X, dtype = self._checked(X)
        return self._log_resp(X)[1].astype(dtype)

    def score(self, X, y=None):
        """Mean log-likelihood (1/N) sum_n log p(x_n)."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """(N, K) responsibilities q_nk."""
        X, dtype = self._checked(X)
        return np.exp(self._log_resp(X)[0]).astype(dtype)

    def predict(self, X):
        """(N,) the most responsible component of each point."""
        X, _ = self._checked(X)
        return self._log_resp(X)[0].argmax(axis=1)

    def bic(self, X):
        """Bayesian information criterion -2 log L + p log N (lower is better)."""
        N = len(self._checked(X)[0])
        return -2 * self.score(X) * N + self._n_parameters() * np.log(N)

    def aic(self, X):
        """Akaike information criterion -2 log L + 2 p (lower is better)."""
        N = len(self._checked(X)[0])
        return -2 * self.score(X) * N + 2 * self._n_parameters()

    def sample(self, n_samples=1, rng=None):
        """Draw (X (n, D), labels (n,)): z ~ Categorical(phis), x = mu_z + L_z eps, eps ~ N(0, I).

        The labels come sorted, as scikit-learn's; ``rng`` defaults to ``random_state``."""
        self._check_fitted()
        if isinstance(n_samples, bool) or not (
            isinstance(n_samples, int | np.integer) and n_samples >= 1
        ):
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at least "
                "one sample."
            )
        rng = check_random_state(self.random_state if rng is None else rng)
        K, D = self.means_.shape
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, dtype=np.float64))
        labels = np.repeat(np.arange(K), counts)  # (n,)
        p_full = self._params64()[3]
        # x = mu + (P^T)^-1 eps has covariance (P P^T)^-1 = Sigma
        eps = rng.standard_normal((n_samples, D))  # (n, D)
        prec_t = np.swapaxes(p_full, -1, -2)[labels]  # (n, D, D) lower triangular
        X = self.means_[labels] + np.linalg.solve(prec_t, eps[:, :, None])[:, :, 0]
        return X.astype(self._dtype), labels

    # ---- checks --------------------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "means_") or not hasattr(self, "n_iter_"):
            raise _sklearn_or_own("NotFittedError")(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _validate_X(self, X, reset):
        """X as a C-contiguous float64 (N, D) array and its result dtype (float32 stays)."""
        X = _as_float_matrix(X, "X")
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if reset:
            self._n_features = self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return np.ascontiguousarray(X, dtype=np.float64), dtype


# ---- the four covariance types ----------------------------------------------------------------


def precision_cholesky_of(covs, covariance_type):
    """A covariance_type's covariances -> its precisions_cholesky_ (scikit-learn's shapes).

    'full' (K, D, D) and 'tied' (D, D): P = (L^-1)^T, upper, with Sigma^-1 = P P^T;
    'diag' (K, D) and 'spherical' (K,): 1 / sqrt(variance)."""
    if covariance_type in ("full", "tied"):
        try:
            chol = np.linalg.cholesky(covs)
        except np.linalg.LinAlgError:
            chol = None
        if chol is None or not np.all(np.diagonal(chol, axis1=-2, axis2=-1) > 0):
            raise ValueError(_ILL_DEFINED)
        return precision_cholesky(chol)
    if np.any(covs <= 0) or not np.all(np.isfinite(covs)):
        raise ValueError(_ILL_DEFINED)
    return 1.0 / np.sqrt(covs)


_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
    "number of components, increase reg_covar, or scale the input data."
)


def cholesky_of_precisions(precisions, covariance_type):
    """Given precisions -> precisions_cholesky_: the upper factor U with U U^T = precision
    (the lower Cholesky factor of the precision with its rows and columns reversed)."""
    if covariance_type in ("full", "tied"):
        flip = precisions[..., ::-1, ::-1]
        return np.linalg.cholesky(flip)[..., ::-1, ::-1]
    return np.sqrt(precisions)


def expand_precision_cholesky(p_chol, covariance_type, K, D):
    """precisions_cholesky_ of covariance_type -> (K, D, D) upper factors for the kernels."""
    p_chol = np.asarray(p_chol, dtype=np.float64)
    if covariance_type == "full":
        return np.ascontiguousarray(p_chol)
    if covariance_type == "tied":
        return np.ascontiguousarray(np.broadcast_to(p_chol, (K, D, D)))
    if covariance_type == "diag":
        return p_chol[:, :, None] * np.eye(D)  # (K, D) -> (K, D, D)
    return p_chol[:, None, None] * np.eye(D)  # spherical (K,) -> (K, D, D)


def compact_precision_cholesky(p_full, covariance_type):
    """(K, D, D) factors -> precisions_cholesky_ in covariance_type's shape."""
    if covariance_type == "full":
        return p_full
    if covariance_type == "tied":
        return p_full[0]
    diag = np.diagonal(p_full, axis1=1, axis2=2)  # (K, D)
    return diag if covariance_type == "diag" else diag[:, 0]


# ---- input checks -----------------------------------------------------------------------------


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _as_float_matrix(X, name):
    """X as a finite 2-D float array (float32 kept), or an error saying what was wrong."""
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):
        raise TypeError(
            f"Sparse data was passed for {name}, but dense data is required. Use '.toarray()' "
            "to convert to a dense NumPy array."
        )
    arr = np.asarray(X)
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    if arr.dtype.kind not in "fiub":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{name}: expected numbers, got dtype {arr.dtype} ({e})") from None
    if arr.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {arr.ndim}D array instead: {name} has shape {arr.shape}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")  # fmt: skip
    if arr.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")  # fmt: skip
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"Input {name} contains NaN.")
    if not np.isfinite(arr).all():
        raise ValueError(f"Input {name} contains infinity or a value too large for {arr.dtype!r}.")
    return arr


def _check_shape(value, shape, name):
    value = np.asarray(value)
    if value.dtype.kind not in "fiu":
        raise ValueError(f"The parameter '{name}': expected numbers, got dtype {value.dtype}")
    value = value.astype(np.float64)
    if value.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {value.shape}"
        )
    return value


def _check_weights(weights, K):
    weights = _check_shape(weights, (K,), "weights")
    if np.any(weights < 0) or np.any(weights > 1):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max value "
            f"{weights.min():.5f}, min value {weights.max():.5f}"
        )
    if not abs(1.0 - weights.sum()) <= 1e-6:
        raise ValueError(
            f"The parameter 'weights' should be normalized, but got sum(weights) = {weights.sum():.5f}"
        )
    return weights


def _check_precisions(precisions, covariance_type, K, D):
    shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}
    precisions = _check_shape(precisions, shape[covariance_type], f"{covariance_type} precision")
    if covariance_type in ("full", "tied"):
        mats = precisions.reshape(-1, D, D)
        sym = np.allclose(mats, np.swapaxes(mats, 1, 2))
        if not (sym and np.all(np.linalg.eigvalsh(mats) > 0)):
            raise ValueError(
                f"'{covariance_type} precision' should be symmetric, positive-definite"
            )
    elif np.any(precisions <= 0):
        raise ValueError(f"'{covariance_type} precision' should be positive")
    return precisions
