"""Diffuser: schedules, q(x_t | x_0), the reverse steps, guidance, label dropping, EMA."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratch.models import samplers
from scratch.models.diffusion import NULL_LABEL, Diffuser, drop_labels
from scratch.models.ema import EMA
from scratch.models.unet import pos_encoding


@pytest.fixture(scope="module")
def diffuser():
    return Diffuser()


# -- the schedule --------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedule_identities(schedule):
    d = Diffuser(schedule=schedule)
    assert d.betas.shape == d.alphas.shape == d.alpha_bars.shape == (1000,)
    np.testing.assert_array_equal(d.alphas, 1 - d.betas)
    np.testing.assert_allclose(d.alpha_bars, np.cumprod(d.alphas), rtol=1e-15)
    assert np.all((d.betas > 0) & (d.betas <= 0.999))
    assert np.all(np.diff(d.alpha_bars) < 0) and 0 < d.alpha_bars[-1] < 1e-3
    assert d.alpha_bar(0) == 1.0  # x_0 is the data
    np.testing.assert_array_equal(d.alpha_bar(np.arange(1, 1001)), d.alpha_bars)


def test_linear_schedule_is_the_books():
    d = Diffuser(num_timesteps=1000, beta_start=1e-4, beta_end=0.02)
    assert d.betas[0] == 1e-4 and d.betas[-1] == pytest.approx(0.02, rel=1e-15)
    np.testing.assert_allclose(np.diff(d.betas), (0.02 - 1e-4) / 999, rtol=1e-9)


def test_cosine_schedule_follows_f_and_clips_the_last_beta():
    T, s = 1000, 0.008
    d = Diffuser(T, schedule="cosine")
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    # below the clip the cumulative product telescopes to f(t) / f(0)
    np.testing.assert_allclose(d.alpha_bars[:-1], f[1:-1] / f[0], rtol=1e-10)
    assert d.betas[-1] == 0.999  # 1 - f(T)/f(T-1) = 1 - 0 is clipped
    assert np.all(d.betas[:-1] < 0.999)


@given(steps=st.integers(1, 1000))
def test_timesteps_are_distinct_decreasing_from_T(steps, diffuser):
    ts = diffuser.timesteps(steps)
    assert len(ts) == steps and ts[0] == 1000 and np.all(np.diff(ts) < 0)
    assert ts[-1] == (1 if steps > 1 else 1000)
    np.testing.assert_array_equal(diffuser.timesteps(), np.arange(1000, 0, -1))


@given(steps=st.integers(2, 106))
def test_quadratic_timesteps_are_distinct_squares_denser_near_one(steps, diffuser):
    ts = diffuser.timesteps(steps, "quadratic")
    assert len(ts) == steps and ts[0] == 1000 and ts[-1] == 1 and np.all(np.diff(ts) < 0)
    root = np.linspace(np.sqrt(1000), 1, steps)
    assert np.all(np.abs(ts - root**2) <= 0.5)  # the rounded squares
    gaps = -np.diff(ts)
    assert np.all(np.diff(gaps) <= 1)  # the gaps shrink towards t = 1 (up to rounding)


def test_quadratic_spacing_refuses_repeated_timesteps_and_ddpm(diffuser):
    with pytest.raises(ValueError, match="repeats timesteps with 107 steps"):
        diffuser.timesteps(107, "quadratic")
    with pytest.raises(ValueError, match="spacing must be one of"):
        diffuser.timesteps(10, "cubic")
    with pytest.raises(ValueError, match="DDPM visits all 1000 steps, so takes no spacing"):
        diffuser.sample(lambda x, t: x, (1, 2), spacing="quadratic", progress=False)


# -- the forward process -------------------------------------------------------------------------


def test_add_noise_marginal_moments(diffuser):
    """x_t | x_0 ~ N(sqrt(ab_t) x_0, (1 - ab_t)): per-row t, M draws per row."""
    rng = np.random.default_rng(0)
    t = np.array([1, 2, 10, 100, 250, 500, 750, 1000])
    M = 20_000
    x_0 = np.repeat(rng.uniform(-1, 1, (len(t), 1)), M, axis=1)  # (K, M), each row one value
    x_t, noise = diffuser.add_noise(x_0, t, rng)
    ab = diffuser.alpha_bars[t - 1]
    np.testing.assert_allclose(x_t, np.sqrt(ab)[:, None] * x_0 + np.sqrt(1 - ab)[:, None] * noise)
    # sample moments within 5 standard errors of the truth
    mean_se = np.sqrt((1 - ab) / M)
    assert np.all(np.abs(x_t.mean(1) - np.sqrt(ab) * x_0[:, 0]) < 5 * mean_se)
    var_se = (1 - ab) * np.sqrt(2 / M)
    assert np.all(np.abs(x_t.var(1) - (1 - ab)) < 5 * var_se)


def test_add_noise_keeps_dtype_and_is_reproducible(diffuser):
    x_0 = np.zeros((3, 1, 4, 4), dtype=np.float32)
    a, na = diffuser.add_noise(x_0, np.array([1, 500, 1000]), rng=7)
    b, nb = diffuser.add_noise(x_0, np.array([1, 500, 1000]), rng=7)
    assert a.dtype == na.dtype == np.float32 and a.shape == x_0.shape
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(na, nb)


def test_closed_form_matches_sequential_noising():
    """q(x_t | x_0) in closed form has the moments of t steps of q(x_s | x_{s-1})."""
    d = Diffuser()
    rng = np.random.default_rng(1)
    M, x0 = 20_000, 0.8
    x = np.full(M, x0)
    checkpoints = {1, 10, 100, 300, 1000}
    for t in range(1, 1001):
        x = d.add_noise_step(x, t, rng)
        if t in checkpoints:
            ab = d.alpha_bar(t)
            closed, _ = d.add_noise(np.full(M, x0), t, rng)
            for draws in (x, closed):
                assert abs(draws.mean() - np.sqrt(ab) * x0) < 5 * np.sqrt((1 - ab) / M)
                assert abs(draws.var() - (1 - ab)) < 5 * (1 - ab) * np.sqrt(2 / M)


# -- the reverse step ----------------------------------------------------------------------------


def _fake_eps(x, t, labels=None):
    """A deterministic stand-in for a noise predictor; label -1 (or None) adds nothing."""
    shift = 0.0 if labels is None else 0.3 * (labels + 1).reshape(-1, *[1] * (x.ndim - 1))
    return np.sin(x + 1e-3 * t.reshape(-1, *[1] * (x.ndim - 1))) + shift


def test_denoise_is_the_books_step(diffuser):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 1, 3, 3))
    t = 400
    got = diffuser.denoise(_fake_eps, x, t, rng=np.random.default_rng(3))
    alpha, ab, ab_prev = (
        diffuser.alphas[t - 1],
        diffuser.alpha_bars[t - 1],
        diffuser.alpha_bars[t - 2],
    )
    eps = _fake_eps(x, np.full(5, t))
    mu = (x - (1 - alpha) / np.sqrt(1 - ab) * eps) / np.sqrt(alpha)
    std = np.sqrt((1 - alpha) * (1 - ab_prev) / (1 - ab))
    noise = np.random.default_rng(3).standard_normal((5, 9)).reshape(x.shape)
    np.testing.assert_allclose(got, mu + std * noise, rtol=1e-12, atol=1e-12)


def test_t1_uses_alpha_bar_prev_one_and_adds_no_noise(diffuser):
    """The book's alpha_bars[t_idx - 1] reads alpha_bars[-1] at t = 1; here alpha_bar_0 = 1."""
    assert diffuser.alpha_bar(0) == 1.0 != diffuser.alpha_bars[-1]
    x = np.random.default_rng(4).standard_normal((6, 2))
    a = diffuser.denoise(_fake_eps, x, 1, rng=1)
    b = diffuser.denoise(_fake_eps, x, 1, rng=2)
    np.testing.assert_array_equal(a, b)  # no noise at t = 1
    alpha = diffuser.alphas[0]
    eps = _fake_eps(x, np.ones(6, dtype=np.int64))
    np.testing.assert_allclose(a, (x - (1 - alpha) / np.sqrt(1 - alpha) * eps) / np.sqrt(alpha))
    # DDIM's last step to t = 0 returns its x0 estimate
    x0_hat = (x - np.sqrt(1 - diffuser.alpha_bars[9]) * eps) / np.sqrt(diffuser.alpha_bars[9])
    ab = diffuser._alpha_bars_from_0
    [(t, got)] = samplers.ddim(lambda x, t: eps, x, [10], ab, eta=1.0, rng=np.random.default_rng(5))
    assert t == 0
    np.testing.assert_allclose(got, x0_hat, rtol=1e-12)


def test_per_row_timesteps(diffuser):
    x = np.random.default_rng(5).standard_normal((3, 4))
    t = np.array([1, 2, 700])
    rows = diffuser.denoise(_fake_eps, x, t, rng=0)
    assert np.all(rows[0] == diffuser.denoise(_fake_eps, x[:1], 1))  # t=1 row has no noise
    assert rows.shape == x.shape and np.all(np.isfinite(rows))


def test_ddim_eta1_with_every_step_is_ddpm(diffuser):
    x = np.random.default_rng(6).standard_normal((4, 3))
    for t in (1, 2, 500, 1000):  # one step from the same x and the same z
        ddpm = diffuser.denoise(_fake_eps, x, t, rng=1)
        ab, ab_prev = diffuser.alpha_bar(t), diffuser.alpha_bar(t - 1)
        sigma = samplers.ddim_sigma(ab, ab_prev, eta=1.0)
        z = np.random.default_rng(1).standard_normal(x.shape) if sigma > 0 else None
        ddim = samplers.ddim_step(x, _fake_eps(x, np.full(4, t)), ab, ab_prev, sigma, z)
        np.testing.assert_allclose(ddim, ddpm, rtol=1e-9, atol=1e-12)
    a = diffuser.sample(lambda x, t: 0.5 * x, (4, 3), sampler="ddpm", rng=3, progress=False)
    b = diffuser.sample(
        lambda x, t: 0.5 * x, (4, 3), sampler="ddim", eta=1.0, rng=3, progress=False
    )
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert x.shape == (4, 3)


@pytest.mark.parametrize("steps", [1, 10, 50, 1000])
def test_ddim_on_standard_normal_data_is_a_product_of_cosines(steps, diffuser):
    """For data N(0, I) the exact eps is sqrt(1 - ab) x, and one deterministic DDIM step scales x
    by sqrt(ab ab_prev) + sqrt((1 - ab)(1 - ab_prev)) = cos(theta - theta_prev), ab = cos^2 theta.
    Below 1, so few steps shrink the samples: the discretisation error, computed exactly."""
    ab_all = diffuser._alpha_bars_from_0
    exact_eps = lambda x, t: np.sqrt(1 - ab_all[t]) * x  # noqa: E731  (t: one int)
    x_T = np.random.default_rng(7).standard_normal((8, 2))
    ts = diffuser.timesteps(steps)
    ab, ab_prev = ab_all[ts], ab_all[np.append(ts[1:], 0)]
    scale = np.prod(np.sqrt(ab * ab_prev) + np.sqrt((1 - ab) * (1 - ab_prev)))
    *_, (_, x) = samplers.ddim(exact_eps, x_T, ts, ab_all)
    np.testing.assert_allclose(x, scale * x_T, rtol=1e-9)


@pytest.mark.parametrize("data_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_eps_of_clipped_x0_aims_at_x0_in_range(data_range):
    """eps' implies x0_hat' = clip(x0_hat): unchanged rows inside the range, clipped rows outside,
    and x_t = sqrt(ab) x0_hat' + sqrt(1 - ab) eps' still holds."""
    d = Diffuser(data_range=data_range)
    low, high = data_range
    rng = np.random.default_rng(12)
    t = np.array([1, 5, 300, 1000])
    ab = d.alpha_bar(t)[:, None]  # (4, 1)
    x0 = rng.uniform(low - 1.0, high + 1.0, (4, 50))  # half of it outside the range
    eps = rng.standard_normal((4, 50))
    x = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps
    got = d.eps_of_clipped_x0(x, eps, t)
    implied = (x - np.sqrt(1 - ab) * got) / np.sqrt(ab)
    np.testing.assert_allclose(implied, np.clip(x0, low, high), atol=1e-9)
    inside = (x0 >= low) & (x0 <= high)
    np.testing.assert_allclose(got[inside], eps[inside], rtol=1e-9)
    assert np.all(got[~inside] != eps[~inside])


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm++2m", "dpm++2m-sde", "heun"])
def test_clip_x0_keeps_samples_in_range_and_changes_nothing_inside_it(sampler):
    """A model whose x0_hat leaves the range ends in the range with clip_x0 (the last step returns
    x0_hat itself); a model whose x0_hat stays inside gives the same samples either way."""
    d = Diffuser(num_timesteps=50)
    wild = lambda x, t: -3.0 * x  # noqa: E731  x0_hat = 4 x / sqrt(ab) at t = 1: far outside
    kw = dict(sampler=sampler, steps=None if sampler == "ddpm" else 10, rng=3, progress=False)
    plain = d.sample(wild, (64, 2), **kw)
    clipped = d.sample(wild, (64, 2), clip_x0=True, **kw)
    assert plain.min() < -0.5 and plain.max() > 1.5
    assert clipped.min() > -1e-6 and clipped.max() < 1.0 + 1e-6  # float32 rounding

    def tame(x, t):
        """eps consistent with x0_hat = 0.5: always inside (0, 1)."""
        ab = d.alpha_bar(t)[:, None]
        return (x - np.sqrt(ab) * 0.5) / np.sqrt(1 - ab)

    np.testing.assert_allclose(
        d.sample(tame, (8, 2), clip_x0=True, **kw), d.sample(tame, (8, 2), **kw), atol=1e-6
    )


# -- the oracle: exact noise prediction for Gaussian data ---------------------------------------

MEAN = np.array([1.0, -0.5])
COV = np.array([[1.0, 0.5], [0.5, 0.8]])


def gaussian_oracle(diffuser, mean=MEAN, cov=COV):
    """eps*(x_t, t) = E[eps | x_t] = sqrt(1 - ab) S_t^-1 (x_t - sqrt(ab) m), S_t = ab S + (1 - ab) I,
    the exact noise predictor when the data is N(m, S)."""
    ab = diffuser.alpha_bars  # (T,)
    S_t = ab[:, None, None] * cov + (1 - ab)[:, None, None] * np.eye(len(mean))  # (T, d, d)
    P = np.sqrt(1 - ab)[:, None, None] * np.linalg.inv(S_t)  # (T, d, d)

    def model(x, t):
        i = t[0] - 1
        assert np.all(t == t[0])
        return (x - np.sqrt(ab[i]) * mean) @ P[i].T  # (N, d)

    return model


@pytest.mark.parametrize(
    "schedule, sampler",
    [("linear", "ddpm"), ("cosine", "ddpm"), ("linear", "ddim"), ("cosine", "ddim")],
)
def test_oracle_sampling_reproduces_the_gaussian(schedule, sampler):
    """With the exact eps, DDPM (1000 steps) and DDIM (1000 steps, eta=0) reproduce N(m, S).

    Tolerances: 5 standard errors of the sample mean sqrt(S_ii / N) and of the sample covariance
    sqrt((S_ii S_jj + S_ij^2) / N). The samplers' own bias for this S, computed exactly by pushing
    the mean and covariance through the (linear) steps, is below 1% of S (DDPM -0.9%, DDIM
    -0.4%), under the 2.2% that 5 standard errors allow at N = 50,000.
    """
    d = Diffuser(schedule=schedule)
    N = 50_000
    x = d.sample(
        gaussian_oracle(d), (N, 2), sampler=sampler, rng=11, progress=False, dtype=np.float64
    )
    mean_se = np.sqrt(np.diag(COV) / N)
    assert np.all(np.abs(x.mean(0) - MEAN) < 5 * mean_se)
    cov_se = np.sqrt((np.outer(np.diag(COV), np.diag(COV)) + COV**2) / N)
    assert np.all(np.abs(np.cov(x.T) - COV) < 5 * cov_se)


def pushed_forward(d, model, steps, spacing, eta):
    """The exact mean and covariance of DDIM's samples for Gaussian data and its exact (affine)
    noise predictor: every step is x_prev = A x + b + sigma z, from N(0, I) at t = T."""
    dim = len(MEAN)
    m, S = np.zeros(dim), np.eye(dim)
    ts = d.timesteps(steps, spacing)
    for t, t_prev in zip(ts, np.append(ts[1:], 0), strict=True):
        e = model(np.zeros((1, dim)), np.array([t]))[0]  # eps = E x + e
        E = (model(np.eye(dim), np.full(dim, t)) - e).T
        ab, ab_prev = d.alpha_bar(t), d.alpha_bar(t_prev)
        sigma = samplers.ddim_sigma(ab, ab_prev, eta)
        # the step without z is linear in (x, eps): x_prev = A x + c e
        A = samplers.ddim_step(np.eye(dim), E, ab, ab_prev, sigma).T
        c = samplers.ddim_step(0.0, 1.0, ab, ab_prev, sigma)
        m, S = A @ m + c * e, A @ S @ A.T + sigma**2 * np.eye(dim)
    return m, S


@pytest.mark.parametrize("spacing, eta", [("linear", 0.0), ("quadratic", 0.0), ("linear", 1.0)])
def test_ddim50_with_the_exact_predictor_shrinks_the_variance_as_computed(spacing, eta):
    """With 50 steps, even the exact noise predictor gives samples whose variance falls short of
    the data's: by 7% (linear, eta 0), 6% (quadratic) and 14% (eta 1) for this Gaussian, the
    discretisation's own bias (1000 steps: 0.4%). The sampler's moments match the exact push."""
    d = Diffuser()
    oracle = gaussian_oracle(d)
    m, S = pushed_forward(d, oracle, 50, spacing, eta)
    shortfall = 1 - np.diag(S) / np.diag(COV)
    assert np.all((0.05 < shortfall) & (shortfall < 0.16))
    N = 50_000
    x = d.sample(oracle, (N, 2), sampler="ddim", steps=50, eta=eta, spacing=spacing, rng=5,
                 progress=False, dtype=np.float64)  # fmt: skip
    assert np.all(np.abs(x.mean(0) - m) < 5 * np.sqrt(np.diag(S) / N))
    cov_se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / N)
    assert np.all(np.abs(np.cov(x.T) - S) < 5 * cov_se)


# -- classifier-free guidance ---------------------------------------------------------------------


class CountingModel:
    """Records every call's batch size, t and labels."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, t, labels=None):
        self.calls.append((len(x), t.copy(), None if labels is None else labels.copy()))
        return _fake_eps(x, t, labels)


def test_guidance_is_one_batched_call_of_2B(diffuser):
    model = CountingModel()
    x = np.random.default_rng(8).standard_normal((5, 1, 2, 2)).astype(np.float32)
    labels = np.array([0, 3, 9, 1, 1])
    eps = diffuser.predict_noise(model, x, 77, labels, gamma=3.0)
    assert len(model.calls) == 1
    n, t, lab = model.calls[0]
    assert n == 10 and np.all(t == 77)
    np.testing.assert_array_equal(lab, np.r_[labels, [NULL_LABEL] * 5])
    eps_c, eps_u = _fake_eps(x, t[:5], labels), _fake_eps(x, t[:5], np.full(5, NULL_LABEL))
    np.testing.assert_allclose(eps, eps_u + 3.0 * (eps_c - eps_u), rtol=1e-6, atol=1e-6)
    assert eps.dtype == np.float32


def test_guidance_gamma_one_is_conditional_gamma_zero_unconditional(diffuser):
    x = np.random.default_rng(9).standard_normal((4, 3))
    labels = np.array([2, 0, 5, 7])
    conditional = diffuser.predict_noise(_fake_eps, x, 10, labels, gamma=None)  # one B call
    unconditional = diffuser.predict_noise(_fake_eps, x, 10, np.full(4, NULL_LABEL), gamma=None)
    assert not np.allclose(conditional, unconditional)
    np.testing.assert_allclose(diffuser.predict_noise(_fake_eps, x, 10, labels, 1.0), conditional)
    np.testing.assert_allclose(
        diffuser.predict_noise(_fake_eps, x, 10, labels, 0.0), unconditional, rtol=1e-15
    )


def test_sample_calls_counted_and_callback(diffuser):
    d = Diffuser(num_timesteps=10)
    seen, model = [], CountingModel()
    x = d.sample(
        model, (3, 2), labels=np.array([1, 2, 3]), gamma=3.0, rng=0, progress=False,
        callback=lambda t, x: seen.append((t, x.shape)),
    )  # fmt: skip
    assert [n for n, _, _ in model.calls] == [6] * 10
    assert [int(t[0]) for _, t, _ in model.calls] == list(range(10, 0, -1))
    assert seen == [(t, (3, 2)) for t in range(9, -1, -1)]
    assert x.dtype == np.float32
    model = CountingModel()
    d.sample(model, (3, 2), sampler="ddim", steps=4, rng=0, progress=False)
    assert [int(t[0]) for _, t, _ in model.calls] == [10, 7, 4, 1]
    assert all(lab is None for _, _, lab in model.calls)


def test_sample_is_reproducible_from_a_seed():
    d = Diffuser(num_timesteps=20)
    a = d.sample(_fake_eps, (2, 3), rng=5, progress=False)
    b = d.sample(_fake_eps, (2, 3), rng=np.random.default_rng(5), progress=False)
    np.testing.assert_array_equal(a, b)


# -- label dropping, data scaling, EMA -------------------------------------------------------------


def test_drop_labels_per_example():
    labels = np.arange(100_000) % 10
    dropped = drop_labels(labels, 0.1, rng=0, per="example")
    frac = np.mean(dropped == NULL_LABEL)
    assert abs(frac - 0.1) < 5 * np.sqrt(0.1 * 0.9 / len(labels))
    kept = dropped != NULL_LABEL
    np.testing.assert_array_equal(dropped[kept], labels[kept])
    assert np.all(labels == np.arange(100_000) % 10)  # input untouched


def test_drop_labels_per_batch_is_all_or_nothing():
    rng = np.random.default_rng(1)
    n, dropped = 4000, 0
    for _ in range(n):
        out = drop_labels(np.arange(8), 0.1, rng=rng, per="batch")
        assert np.all(out == NULL_LABEL) or np.all(out == np.arange(8))
        dropped += out[0] == NULL_LABEL
    assert abs(dropped / n - 0.1) < 5 * np.sqrt(0.1 * 0.9 / n)


def test_data_range_round_trip():
    d = Diffuser(num_timesteps=10, data_range=(-1.0, 1.0))
    images = np.linspace(0, 1, 11)
    np.testing.assert_allclose(d.to_model(images), 2 * images - 1)
    np.testing.assert_allclose(d.to_images(d.to_model(images)), images)
    assert d.to_images(np.array([-3.0, 3.0])).tolist() == [0.0, 1.0]


class _Param:
    def __init__(self, data):
        self.data = data


def test_ema_is_the_bias_corrected_weighted_mean_and_swaps_back():
    """average_n = sum_k (1 - d) d^(n-k) param_k / (1 - d^n): the initial weights carry no weight."""
    rng = np.random.default_rng(0)
    params = {"w": _Param(np.zeros(3, dtype=np.float32)), "b": np.ones(2)}
    ema, d, seen = EMA(params, decay=0.9), 0.9, []
    for _ in range(5):
        params["w"].data[...] = rng.standard_normal(3)
        params["b"][...] = rng.standard_normal(2)
        seen.append({"w": params["w"].data.copy(), "b": params["b"].copy()})
        ema.update(params)
    weights = np.array([(1 - d) * d ** (5 - k) for k in range(1, 6)]) / (1 - d**5)
    assert np.isclose(weights.sum(), 1.0)
    for name in ("w", "b"):
        want = sum(wk * p[name] for wk, p in zip(weights, seen, strict=True))
        np.testing.assert_allclose(ema.averages()[name], want, rtol=1e-5)
    last = params["w"].data.copy()
    with ema.applied_to(params):
        np.testing.assert_allclose(params["w"].data, ema.averages()["w"], rtol=1e-6)
    np.testing.assert_array_equal(params["w"].data, last)
    state = ema.state_dict()
    assert int(state["num_updates"]) == 5
    ema2 = EMA(params, decay=0.9)
    ema2.load_state_dict(state)
    assert ema2.num_updates == 5
    np.testing.assert_array_equal(ema2.averages()["b"], ema.averages()["b"])


def test_ema_of_constant_weights_is_those_weights():
    params = {"w": np.full(4, 2.5)}
    ema = EMA(params, decay=0.999)
    for _ in range(3):
        ema.update(params)
    np.testing.assert_allclose(ema.averages()["w"], 2.5, rtol=1e-12)


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda d: d.add_noise(np.zeros((2, 3)), 0), "t must lie in 1..10"),
        (lambda d: d.add_noise(np.zeros((2, 3)), 11), "t must lie in 1..10"),
        (lambda d: d.add_noise(np.zeros((2, 3)), 2.5), "integer timesteps"),
        (lambda d: d.add_noise(np.zeros((2, 3)), np.array([1, 2, 3])), "one per row"),
        (lambda d: d.add_noise(np.zeros((2, 3), dtype=np.uint8), 1), "float array"),
        (lambda d: d.denoise(lambda x, t: x[:1], np.zeros((2, 3)), 5), "x's shape"),
        (lambda d: d.denoise(lambda x, t: x * np.nan, np.zeros((2, 3)), 5), "NaN"),
        (lambda d: d.denoise(_fake_eps, np.zeros((2, 3)), 5, labels=[1, 2, 3]), r"\(2,\) integers"),
        (lambda d: d.denoise(_fake_eps, np.zeros((2, 3)), 5, labels=[1.0, 2.0]), "integers"),
        (lambda d: d.sample(_fake_eps, (2, 3), steps=5, progress=False), "DDPM visits all"),
        (lambda d: d.sample(_fake_eps, (2, 3), sampler="plms", progress=False), "sampler must"),
        (
            lambda d: d.sample(_fake_eps, (2, 3), sampler="ddim", steps=0, progress=False),
            "steps must",
        ),
        (
            lambda d: d.sample(_fake_eps, (2, 3), sampler="ddim", eta=1.5, progress=False),
            "eta must",
        ),
        (lambda d: d.sample(_fake_eps, (2, 3), sampler="heun", progress=False), "needs steps"),
        (lambda d: d.sample(_fake_eps, (2, 3), eta=0.5, progress=False), "eta is DDIM's"),
        (lambda d: d.sample(_fake_eps, (2, 3), x_T=np.zeros((2, 4)), progress=False), "x_T has"),
        (
            lambda d: d.sample(_fake_eps, sampler="dpm++2m", steps=11, progress=False),
            "steps must be an integer in 1..10",
        ),
        (lambda d: d.sample(_fake_eps, (2, 3), rng="seed", progress=False), "rng must"),
        (lambda d: Diffuser(0), "num_timesteps"),
        (lambda d: Diffuser(10, beta_start=0.1, beta_end=0.01), "beta_start <= beta_end"),
        (lambda d: Diffuser(10, schedule="quadratic"), "schedule must"),
        (lambda d: Diffuser(10, data_range=(1, 0)), "low < high"),
        (lambda d: drop_labels([1, 2], p=1.5), "p must"),
        (lambda d: drop_labels([1, 2], per="row"), "per must"),
        (lambda d: EMA({"w": np.zeros(2)}, decay=1.0), "decay must"),
        (lambda d: EMA({"w": np.zeros(2)}).averages(), "no update yet"),
        (lambda d: EMA({"w": np.zeros(2)}).load_state_dict({"w": np.zeros(2)}), "num_updates"),
        (
            lambda d: EMA({"w": np.zeros(2)}).load_state_dict({"v": np.zeros(2), "num_updates": 1}),
            "names differ",
        ),
    ],
)
def test_bad_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(Diffuser(num_timesteps=10))


def test_pos_encoding_is_the_books():
    """v[i] = sin(t / 10000^(i/D)) for even i, cos(t / 10000^(i/D)) for odd i, row by row."""
    t, D = np.array([1, 500, 1000, 500]), 10
    want = np.array(
        [[(np.sin if i % 2 == 0 else np.cos)(s / 10000 ** (i / D)) for i in range(D)] for s in t]
    )
    got = pos_encoding(t, D)
    assert got.shape == (4, D) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
