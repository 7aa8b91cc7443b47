"""EM for a Gaussian mixture in log space: the E-step and the M-step's sums, in one pass.

For component k with weight phi_k, mean mu_k and precision Cholesky factor P_k (upper triangular,
Sigma_k^-1 = P_k P_k^T):

    log N(x; mu_k, Sigma_k) = -D/2 log 2 pi + sum_i log (P_k)_ii - ||(x - mu_k) P_k||^2 / 2
    log p(x)                = logsumexp_k [log phi_k + log N(x; mu_k, Sigma_k)]
    log q_k(x)              = log phi_k + log N(x; mu_k, Sigma_k) - log p(x)   (responsibilities)

The M-step needs only three sums per component, taken about a shift c_k (the current mean):

    nk = sum_n q_nk,   sx_k = sum_n q_nk (x_n - c_k),   sxx_k = sum_n q_nk (x_n - c_k)(x_n - c_k)^T

Shifting keeps sxx_k / nk - (sx_k / nk)(sx_k / nk)^T from cancelling when the data sit far from 0.
``em_step`` fuses the E-step with these sums, so one EM iteration reads X once. The Numba kernels
run over row chunks in parallel, each chunk with its own accumulators, summed at the end; the
chunks are fixed by rows, so results do not depend on the number of threads.
"""

import numpy as np

from ._jit import njit, prange

LOG_2PI = np.log(2 * np.pi)
CHUNK = 2048  # rows per parallel chunk


# ---- NumPy twins: the readable version and the tests' oracle ---------------------------------


def log_resp_numpy(X, log_weights, means, prec_chols):
    """E-step. X (N, D), log_weights (K,), means (K, D), prec_chols (K, D, D) upper.

    Returns log_resp (N, K) = log q_nk and log_prob (N,) = log p(x_n)."""
    N, D = X.shape
    log_det = np.log(np.diagonal(prec_chols, axis1=1, axis2=2)).sum(axis=1)  # (K,)
    y = np.einsum("nd,kde->nke", X, prec_chols) - np.einsum("kd,kde->ke", means, prec_chols)
    log_joint = log_weights + log_det - 0.5 * D * LOG_2PI - 0.5 * (y**2).sum(-1)  # (N, K)
    top = log_joint.max(axis=1, keepdims=True)  # (N, 1)
    log_prob = top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1))  # (N,) log-sum-exp
    return log_joint - log_prob[:, None], log_prob


def suff_stats_numpy(X, qs, shift):
    """M-step sums. X (N, D), qs (N, K) responsibilities, shift (K, D) the centres c_k.

    Returns nk (K,), sx (K, D), sxx (K, D, D) as in the module docstring."""
    diff = X[:, None, :] - shift  # (N, K, D)
    qdiff = qs[:, :, None] * diff  # (N, K, D)
    return qs.sum(axis=0), qdiff.sum(axis=0), np.einsum("nki,nkj->kij", qdiff, diff)


def em_step_numpy(X, log_weights, means, prec_chols, shift):
    """One fused EM pass: the E-step at the given parameters, then the M-step sums about ``shift``.

    Returns (sum_n log p(x_n), nk (K,), sx (K, D), sxx (K, D, D))."""
    log_resp, log_prob = log_resp_numpy(X, log_weights, means, prec_chols)
    return (log_prob.sum(), *suff_stats_numpy(X, np.exp(log_resp), shift))


# ---- Numba kernels: same signatures, same results ---------------------------------------------


@njit(cache=True, error_model="numpy")
def _log_joint_row(X, n, const, means, prec_chols, log_joint, y):
    """log_joint[k] = log phi_k + log N(x_n; mu_k, Sigma_k) for every k; returns the max over k.

    const (K,) holds log phi_k + log det P_k - D/2 log 2 pi; y (D,) is scratch space."""
    K, D = means.shape
    top = -np.inf
    for k in range(K):
        y[:] = 0.0
        for i in range(D):  # y = (x - mu_k) P_k, P_k upper triangular
            d = X[n, i] - means[k, i]
            for j in range(i, D):
                y[j] += d * prec_chols[k, i, j]
        sq = 0.0
        for j in range(D):
            sq += y[j] * y[j]
        log_joint[k] = const[k] - 0.5 * sq
        top = max(top, log_joint[k])
    return top


@njit(cache=True, error_model="numpy")
def _accumulate_row(X, n, k, q, shift, sx, sxx, d):
    """sx[k] += q (x_n - c_k); upper triangle of sxx[k] += q (x_n - c_k)(x_n - c_k)^T."""
    D = X.shape[1]
    for i in range(D):
        d[i] = X[n, i] - shift[k, i]
    for i in range(D):
        qd = q * d[i]
        sx[k, i] += qd
        for j in range(i, D):
            sxx[k, i, j] += qd * d[j]


@njit(cache=True)
def _log_joint_const(log_weights, prec_chols):
    """(K,) log phi_k + sum_i log (P_k)_ii - D/2 log 2 pi."""
    K, D = prec_chols.shape[0], prec_chols.shape[1]
    const = np.empty(K)
    for k in range(K):
        const[k] = log_weights[k] - 0.5 * D * LOG_2PI
        for i in range(D):
            const[k] += np.log(prec_chols[k, i, i])
    return const


@njit(cache=True)
def _reduce(sx_c, sxx_c, nk_c):
    """Sum the chunks' accumulators; mirror sxx's upper triangle."""
    nk, sx, sxx = nk_c.sum(axis=0), sx_c.sum(axis=0), sxx_c.sum(axis=0)
    K, D = sx.shape
    for k in range(K):
        for i in range(D):
            for j in range(i):
                sxx[k, i, j] = sxx[k, j, i]
    return nk, sx, sxx


@njit(parallel=True, cache=True, error_model="numpy")
def log_resp(X, log_weights, means, prec_chols):
    """The Numba twin of :func:`log_resp_numpy`: rows in parallel."""
    N, D = X.shape
    K = means.shape[0]
    const = _log_joint_const(log_weights, prec_chols)
    out, log_prob = np.empty((N, K)), np.empty(N)
    for c in prange((N + CHUNK - 1) // CHUNK):
        log_joint, y = np.empty(K), np.empty(D)
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            top = _log_joint_row(X, n, const, means, prec_chols, log_joint, y)
            s = 0.0
            for k in range(K):
                s += np.exp(log_joint[k] - top)
            log_prob[n] = top + np.log(s)
            for k in range(K):
                out[n, k] = log_joint[k] - log_prob[n]
    return out, log_prob


@njit(parallel=True, cache=True, error_model="numpy")
def suff_stats(X, qs, shift):
    """The Numba twin of :func:`suff_stats_numpy`: row chunks in parallel."""
    N, D = X.shape
    K = shift.shape[0]
    n_chunks = (N + CHUNK - 1) // CHUNK
    nk_c, sx_c, sxx_c = (
        np.zeros((n_chunks, K)),
        np.zeros((n_chunks, K, D)),
        np.zeros((n_chunks, K, D, D)),
    )
    for c in prange(n_chunks):
        d = np.empty(D)
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            for k in range(K):
                nk_c[c, k] += qs[n, k]
                _accumulate_row(X, n, k, qs[n, k], shift, sx_c[c], sxx_c[c], d)
    return _reduce(sx_c, sxx_c, nk_c)


@njit(parallel=True, cache=True, error_model="numpy")
def em_step(X, log_weights, means, prec_chols, shift):
    """The fused Numba twin of :func:`em_step_numpy`: one read of X per EM iteration."""
    N, D = X.shape
    K = means.shape[0]
    const = _log_joint_const(log_weights, prec_chols)
    n_chunks = (N + CHUNK - 1) // CHUNK
    ll_c, nk_c = np.zeros(n_chunks), np.zeros((n_chunks, K))
    sx_c, sxx_c = np.zeros((n_chunks, K, D)), np.zeros((n_chunks, K, D, D))
    for c in prange(n_chunks):
        log_joint, y, d = np.empty(K), np.empty(D), np.empty(D)
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            top = _log_joint_row(X, n, const, means, prec_chols, log_joint, y)
            s = 0.0
            for k in range(K):
                log_joint[k] = np.exp(log_joint[k] - top)  # now exp(log joint - top)
                s += log_joint[k]
            ll_c[c] += top + np.log(s)
            for k in range(K):
                q = log_joint[k] / s
                nk_c[c, k] += q
                _accumulate_row(X, n, k, q, shift, sx_c[c], sxx_c[c], d)
    nk, sx, sxx = _reduce(sx_c, sxx_c, nk_c)
    return ll_c.sum(), nk, sx, sxx
