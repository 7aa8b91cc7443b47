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
chunks are fixed by rows, so results do not depend on the number of threads. Within a chunk, rows
are taken BLOCK at a time, transposed, so that every inner loop runs over rows and vectorises.
"""

import numpy as np

from ._jit import fast, njit, prange

LOG_2PI = np.log(2 * np.pi)
CHUNK = 4096  # rows per parallel chunk; fewer than PARALLEL_MIN chunks run on one thread
PARALLEL_MIN = 4
BLOCK = 128  # rows per vectorised block
FAST = {"reassoc", "contract"}  # let sums over rows vectorise; no assumptions about inf or NaN


# ---- NumPy twins: the readable version and the tests' oracle ---------------------------------


def log_resp_numpy(X, log_weights, means, prec_chols):
    """E-step. X (N, D), log_weights (K,), means (K, D), prec_chols (K, D, D) upper.

    Returns log_resp (N, K) = log q_nk and log_prob (N,) = log p(x_n)."""
    N, D = X.shape
    log_det = np.log(np.diagonal(prec_chols, axis1=1, axis2=2)).sum(axis=1)  # (K,)
    y = (X - means[:, None, :]) @ prec_chols  # (K, N, D) whitened: one sgemm per component
    const = log_weights + log_det - 0.5 * D * LOG_2PI  # (K,)
    log_joint = const[:, None] - 0.5 * np.einsum("knd,knd->kn", y, y)  # (K, N)
    top = log_joint.max(axis=0)  # (N,)
    log_prob = top + np.log(np.exp(log_joint - top).sum(axis=0))  # (N,) log-sum-exp
    return (log_joint - log_prob).T, log_prob


def suff_stats_numpy(X, qs, shift):
    """M-step sums. X (N, D), qs (N, K) responsibilities, shift (K, D) the centres c_k.

    Returns nk (K,), sx (K, D), sxx (K, D, D) as in the module docstring."""
    diff = X - shift[:, None, :]  # (K, N, D)
    qdiff = qs.T[:, :, None] * diff  # (K, N, D)
    return qs.sum(axis=0), qdiff.sum(axis=1), qdiff.transpose(0, 2, 1) @ diff


def em_step_numpy(X, log_weights, means, prec_chols, shift):
    """One fused EM pass: the E-step at the given parameters, then the M-step sums about ``shift``.

    Returns (sum_n log p(x_n), nk (K,), sx (K, D), sxx (K, D, D))."""
    log_resp, log_prob = log_resp_numpy(X, log_weights, means, prec_chols)
    return (log_prob.sum(), *suff_stats_numpy(X, np.exp(log_resp), shift))


# ---- Numba kernels: same signatures, same results ---------------------------------------------


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


LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # ln 2 = HI + LO
INV_FACTORIALS = tuple(1.0 / np.prod(np.arange(1.0, k + 1)) for k in range(14))  # 1/k!, k <= 13


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _exp_shifted(a, top, out, bits, B):
    """out[b] = exp(a[b] - top[b]) for a <= top, as 2^n e^r: n = round((a - top) / ln 2),
    r = (a - top) - n ln 2 in [-ln2/2, ln2/2], e^r by its Taylor series to r^13 (relative error
    below 1e-16), 2^n written into the exponent bits (``bits`` (B,) int64 scratch). Arguments
    below -708 give exp(-708) ~ 3e-308 instead of less. Unlike np.exp (a libm call without SVML),
    these loops vectorise."""
    scale = bits.view(np.float64)
    for b in range(B):
        x = max(a[b] - top[b], -708.0)
        n = np.floor(x / np.log(2.0) + 0.5)
        r = (x - n * LN2_HI) - n * LN2_LO  # Cody and Waite: n ln 2 in two parts, no reassociation
        p = INV_FACTORIALS[13]
        for c in range(12, -1, -1):  # Horner
            p = p * r + INV_FACTORIALS[c]
        out[b] = p
        bits[b] = np.int64(n + 1023.0) << 52  # the float 2^n
    for b in range(B):
        out[b] *= scale[b]


@njit(cache=True, fastmath=FAST, error_model="numpy")
def _e_block(X, start, stop, const, means, prec_chols, xb, d, y, lj, qs, lse):
    """E-step for rows start:stop (at most BLOCK). Fills xb (D, B) with the rows transposed,
    lj (K, B) with log phi_k + log N(x_b; mu_k, Sigma_k), qs (K, B) with the responsibilities
    exp(lj - lse) and lse (B,) with log p(x_b). d (D, B) and y (B,) are scratch space."""
    B = stop - start
    K, D = means.shape
    for b in range(B):
        for i in range(D):
            xb[i, b] = X[start + b, i]
    for k in range(K):
        for i in range(D):
            for b in range(B):
                d[i, b] = xb[i, b] - means[k, i]
        for b in range(B):
            lj[k, b] = const[k]
        for j in range(D):  # y_j = sum_{i <= j} (x - mu_k)_i (P_k)_ij, P_k upper triangular
            for b in range(B):
                y[b] = 0.0
            i = 0
            while i + 4 <= j + 1:  # four terms per pass over the rows
                p0, p1 = prec_chols[k, i, j], prec_chols[k, i + 1, j]
                p2, p3 = prec_chols[k, i + 2, j], prec_chols[k, i + 3, j]
                for b in range(B):
                    y[b] += d[i, b] * p0 + d[i + 1, b] * p1 + d[i + 2, b] * p2 + d[i + 3, b] * p3
                i += 4
            while i <= j:
                p = prec_chols[k, i, j]
                for b in range(B):
                    y[b] += d[i, b] * p
                i += 1
            for b in range(B):
                lj[k, b] -= 0.5 * y[b] * y[b]
    # log-sum-exp over k, every loop over rows: lse = top + log sum_k exp(lj_k - top)
    for b in range(B):
        lse[b] = lj[0, b]
    for k in range(1, K):
        for b in range(B):
            lse[b] = max(lse[b], lj[k, b])
    for k in range(K):
        _exp_shifted(lj[k], lse, qs[k], y.view(np.int64), B)
    for b in range(B):
        y[b] = qs[0, b]
    for k in range(1, K):
        for b in range(B):
            y[b] += qs[k, b]
    for b in range(B):
        lse[b] += np.log(y[b])
        y[b] = 1.0 / y[b]
    for k in range(K):
        for b in range(B):
            qs[k, b] *= y[b]


@njit(cache=True, fastmath=FAST, error_model="numpy")
def _m_block(B, xb, qs, shift, d, qd, nk, sx, sxx):
    """Add block sums: nk[k] += sum_b q_bk, sx[k] += sum_b q_bk (x_b - c_k) and the upper triangle
    of sxx[k] += sum_b q_bk (x_b - c_k)(x_b - c_k)^T. xb (D, B) rows, qs (K, B); d (D, B) and
    qd (B,) are scratch space. Four sxx entries share each pass over the rows."""
    K, D = shift.shape
    for k in range(K):
        acc = 0.0
        for b in range(B):
            acc += qs[k, b]
        nk[k] += acc
        for i in range(D):
            for b in range(B):
                d[i, b] = xb[i, b] - shift[k, i]
        for i in range(D):
            acc = 0.0
            for b in range(B):
                qd[b] = qs[k, b] * d[i, b]
                acc += qd[b]
            sx[k, i] += acc
            j = i
            while j + 4 <= D:
                a0 = a1 = a2 = a3 = 0.0
                for b in range(B):
                    a0 += qd[b] * d[j, b]
                    a1 += qd[b] * d[j + 1, b]
                    a2 += qd[b] * d[j + 2, b]
                    a3 += qd[b] * d[j + 3, b]
                sxx[k, i, j] += a0
                sxx[k, i, j + 1] += a1
                sxx[k, i, j + 2] += a2
                sxx[k, i, j + 3] += a3
                j += 4
            while j < D:
                acc = 0.0
                for b in range(B):
                    acc += qd[b] * d[j, b]
                sxx[k, i, j] += acc
                j += 1


@njit(cache=True)
def _accumulators(n_chunks, K, D):
    """Zeroed per-chunk sums: log-likelihood (C,), nk (C, K), sx (C, K, D), sxx (C, K, D, D).
    (Allocated outside the parallel kernels, which would otherwise parallelise the zeroing.)"""
    return (np.zeros(n_chunks), np.zeros((n_chunks, K)), np.zeros((n_chunks, K, D)),
            np.zeros((n_chunks, K, D, D)))  # fmt: skip


@njit(cache=True)
def _reduce(ll_c, nk_c, sx_c, sxx_c):
    """Sum the chunks' accumulators; mirror sxx's upper triangle."""
    ll, nk, sx, sxx = ll_c.sum(), nk_c.sum(axis=0), sx_c.sum(axis=0), sxx_c.sum(axis=0)
    K, D = sx.shape
    for k in range(K):
        for i in range(D):
            for j in range(i):
                sxx[k, i, j] = sxx[k, j, i]
    return ll, nk, sx, sxx


@njit(cache=True)
def _block_buffers(K, D):
    """A chunk's scratch space: xb (D, B), d (D, B), y (B,), lj (K, B), qs (K, B), lse (B,)."""
    return (np.empty((D, BLOCK)), np.empty((D, BLOCK)), np.empty(BLOCK), np.empty((K, BLOCK)),
            np.empty((K, BLOCK)), np.empty(BLOCK))  # fmt: skip


@njit(cache=True)
def _outputs(N, K):
    return np.empty((N, K)), np.empty(N)


@njit(cache=True)
def _log_resp_chunk(X, c, const, means, prec_chols, out, log_prob):
    N, D = X.shape
    K = means.shape[0]
    xb, d, y, lj, qs, lse = _block_buffers(K, D)
    for start in range(c * CHUNK, min(N, (c + 1) * CHUNK), BLOCK):
        stop = min(N, start + BLOCK, (c + 1) * CHUNK)
        _e_block(X, start, stop, const, means, prec_chols, xb, d, y, lj, qs, lse)
        for b in range(stop - start):
            log_prob[start + b] = lse[b]
            for k in range(K):
                out[start + b, k] = lj[k, b] - lse[b]


@fast(log_resp_numpy)
@njit(parallel=True, cache=True)
def log_resp(X, log_weights, means, prec_chols):
    """log q_nk = log phi_k + log N(x_n; mu_k, Sigma_k) - log p(x_n), as :func:`log_resp_numpy`.
    Fast: row chunks run in parallel, BLOCK rows at a time transposed so that every inner loop runs
    over rows and vectorises, and no (N, K, D) temporary is formed."""
    N = X.shape[0]
    const = _log_joint_const(log_weights, prec_chols)
    out, log_prob = _outputs(N, means.shape[0])
    n_chunks = (N + CHUNK - 1) // CHUNK
    if n_chunks < PARALLEL_MIN:
        for c in range(n_chunks):
            _log_resp_chunk(X, c, const, means, prec_chols, out, log_prob)
    else:
        for c in prange(n_chunks):
            _log_resp_chunk(X, c, const, means, prec_chols, out, log_prob)
    return out, log_prob


@njit(cache=True)
def _suff_stats_chunk(X, qs, shift, c, nk, sx, sxx):
    N, D = X.shape
    K = shift.shape[0]
    xb, d, qd, _, qb, _ = _block_buffers(K, D)
    for start in range(c * CHUNK, min(N, (c + 1) * CHUNK), BLOCK):
        stop = min(N, start + BLOCK, (c + 1) * CHUNK)
        for b in range(stop - start):
            for i in range(D):
                xb[i, b] = X[start + b, i]
            for k in range(K):
                qb[k, b] = qs[start + b, k]
        _m_block(stop - start, xb, qb, shift, d, qd, nk, sx, sxx)


@fast(suff_stats_numpy)
@njit(parallel=True, cache=True)
def suff_stats(X, qs, shift):
    """nk, sx, sxx of the module docstring, as :func:`suff_stats_numpy`. Fast: row chunks run
    in parallel with their own accumulators, and four sxx entries share each pass over a block."""
    N, D = X.shape
    K = shift.shape[0]
    n_chunks = (N + CHUNK - 1) // CHUNK
    ll_c, nk_c, sx_c, sxx_c = _accumulators(n_chunks, K, D)  # ll_c stays 0: no E-step here
    if n_chunks < PARALLEL_MIN:
        for c in range(n_chunks):
            _suff_stats_chunk(X, qs, shift, c, nk_c[c], sx_c[c], sxx_c[c])
    else:
        for c in prange(n_chunks):
            _suff_stats_chunk(X, qs, shift, c, nk_c[c], sx_c[c], sxx_c[c])
    return _reduce(ll_c, nk_c, sx_c, sxx_c)[1:]


@njit(cache=True)
def _em_chunk(X, c, const, means, prec_chols, shift, nk, sx, sxx):
    """E-step and M-step sums over chunk c; returns the chunk's sum of log p(x_n)."""
    N, D = X.shape
    K = means.shape[0]
    xb, d, y, lj, qs, lse = _block_buffers(K, D)
    ll = 0.0
    for start in range(c * CHUNK, min(N, (c + 1) * CHUNK), BLOCK):
        stop = min(N, start + BLOCK, (c + 1) * CHUNK)
        _e_block(X, start, stop, const, means, prec_chols, xb, d, y, lj, qs, lse)
        _m_block(stop - start, xb, qs, shift, d, y, nk, sx, sxx)
        for b in range(stop - start):
            ll += lse[b]
    return ll


@fast(em_step_numpy)
@njit(parallel=True, cache=True)
def em_step(X, log_weights, means, prec_chols, shift):
    """(sum_n log p(x_n), nk, sx, sxx): the E-step, then the M-step sums about ``shift``, as
    :func:`em_step_numpy`. Fast: fused, so an EM iteration reads X once and each block's
    responsibilities are summed while still in cache."""
    N, D = X.shape
    K = means.shape[0]
    const = _log_joint_const(log_weights, prec_chols)
    n_chunks = (N + CHUNK - 1) // CHUNK
    ll_c, nk_c, sx_c, sxx_c = _accumulators(n_chunks, K, D)
    if n_chunks < PARALLEL_MIN:
        for c in range(n_chunks):
            ll_c[c] = _em_chunk(X, c, const, means, prec_chols, shift, nk_c[c], sx_c[c], sxx_c[c])
    else:
        for c in prange(n_chunks):
            ll_c[c] = _em_chunk(X, c, const, means, prec_chols, shift, nk_c[c], sx_c[c], sxx_c[c])
    return _reduce(ll_c, nk_c, sx_c, sxx_c)
