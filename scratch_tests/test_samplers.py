"""The few-step samplers against the exact answer.

For data whose pixels are independent N(m, s^2), x_t ~ N(sqrt(ab) m, ab s^2 + 1 - ab) per pixel,
the exact noise predictor is eps*(x_t, t) = sqrt(1 - ab) (x_t - sqrt(ab) m) / (ab s^2 + 1 - ab),
and the probability-flow ODE carries x_T to x_t = sqrt(ab_t) m + sqrt(v_t) (x_T - sqrt(ab_T) m)
/ sqrt(v_T), v = ab s^2 + 1 - ab (at t = 0: x_0 = m + s (x_T - sqrt(ab_T) m) / sqrt(v_T)). With
eps* the samplers' only error is their discretisation, measured against that map.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratch.models import samplers
from scratch.models.diffusion import DEFAULT_SPACING, NULL_LABEL, SAMPLERS, SPACINGS, Diffuser

BOOK = Diffuser()  # T = 1000, linear betas 1e-4..0.02
S = np.linspace(0.05, 0.3, 26)  # the pixels' standard deviations
M = np.linspace(-0.5, 0.8, 26)  # and means
X_T = np.random.default_rng(0).standard_normal((400, 26))  # one x_T for every sampler


def gaussian_eps(d, m=M, s=S):
    """eps*(x_t, t) for independent N(m, s^2) pixels; x (B, D), t (B,)."""
    ab_all = d._alpha_bars_from_0

    def model(x, t):
        ab = ab_all[t][:, None]  # (B, 1)
        return np.sqrt(1 - ab) * (x - np.sqrt(ab) * m) / (ab * s**2 + 1 - ab)

    return model


def ode_map(d, x_T, m=M, s=S):
    """The exact x_0 of the probability-flow ODE from x_T at t = T."""
    ab_T = d.alpha_bars[-1]
    return m + s * (x_T - np.sqrt(ab_T) * m) / np.sqrt(ab_T * s**2 + 1 - ab_T)


def error_over_s(d, sampler, steps, spacing=None):
    """(max over pixels of RMSE / s, model evaluations) of ``sampler`` from X_T."""
    calls = []

    def model(x, t):
        calls.append(len(x))
        return gaussian_eps(d)(x, t)

    x = d.sample(model, sampler=sampler, steps=steps, x_T=X_T, spacing=spacing, dtype=np.float64,
                 progress=False)  # fmt: skip
    rmse = np.sqrt(((x - ode_map(d, X_T)) ** 2).mean(0))  # (D,)
    return (rmse / S).max(), len(calls)


@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if s != "ddpm"])
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_evaluations_counts_the_model_calls(sampler, steps):
    assert error_over_s(BOOK, sampler, steps)[1] == samplers.evaluations(sampler, steps)


@pytest.mark.parametrize("steps, tolerance", [(20, 0.03), (10, 0.08)])
def test_dpm_solver_lands_on_the_ode_map(steps, tolerance):
    """Uniform in log-SNR. Measured: 0.016 s at 20 steps, 0.048 s at 10 (DDIM: 0.57 s and 0.69 s).

    Not with the default quadratic spacing: 0.065 s at 20, 0.16 s at 10. The narrow pixels bend
    at sigma ~ s (t ~ 20 for s = 0.05), where the squares place one step (t = 19 -> 1 at 10
    steps) and log-SNR three. The book's U-Net is the other way round, in FID and in distance to
    its ODE limit (benchmarks/README.md), so there the squares are the default."""
    error, evals = error_over_s(BOOK, "dpm++2m", steps, "logsnr")
    assert evals == steps
    assert error <= tolerance


# Heun misses the tolerances, and not through its set-up. Measured with the exact
# predictor (sigma_max = sigma_T = 157, sigma_min = sigma_1 = 0.01, an Euler step to 0 at the end,
# in EDM's x~ form): 0.47 s at 19 evaluations, 3.97 s at 9. Interpolating the schedule instead of
# the nearest trained t (continuous sigma, same predictor) gives 0.47 s too; sigma_min = 0.002,
# 0.02, 0.05 give 0.66, 0.38, 0.24 s; even steps uniform in log sigma (rho -> inf) give 0.21 s.
# The cause is the pixels: x~ - m = c sqrt(s^2 + sigma^2) turns from slope c to flat within
# sigma ~ s, and 10 steps over 157..0.01 take about one e-fold of sigma each, so a Heun step
# straddles the bend with a local error that is a fixed fraction of c s. DPM-Solver++(2M) spends
# its 20 evaluations on 20 steps, exact in the linear part, and passes.
@pytest.mark.xfail(
    strict=True,
    reason="measured: 0.47 s at 19 evaluations, 3.97 s at 9 (see above): one-step Heun across "
    "the bend at sigma ~ s = 0.05 needs about 4 times the evaluations",
)
@pytest.mark.parametrize("evals, tolerance", [(20, 0.03), (10, 0.08)])
def test_heun_lands_on_the_ode_map(evals, tolerance):
    error, used = error_over_s(BOOK, "heun", (evals + 1) // 2)
    assert used <= evals
    assert error <= tolerance


@pytest.mark.parametrize("evals, tolerance", [(79, 0.03), (41, 0.08)])
def test_heun_meets_the_tolerances_at_four_times_the_evaluations(evals, tolerance):
    """Measured: 0.014 s at 79 evaluations (40 steps), 0.070 s at 41 (21 steps)."""
    error, used = error_over_s(BOOK, "heun", (evals + 1) // 2)
    assert used == evals
    assert error <= tolerance


# The book's T = 1000 cannot show the order: near t = 1 its trained timesteps lie up to 0.4 apart
# in lambda, so doubling the steps no longer halves the last ones, and the final jump from t = 1
# to 0 (x0_hat itself) leaves a floor of 0.016 s. The same schedule 100 times finer in t
# (betas / 100) moves both out of the way, and the solver's own order shows.
FINE = Diffuser(100_000, beta_start=1e-6, beta_end=2e-4)


@pytest.mark.parametrize(
    "sampler, steps, spacing",
    [("dpm++2m", [40, 80, 160], "logsnr"), ("dpm++2m", [40, 80, 160], "quadratic"),
     ("heun", [20, 40, 80], "karras")],
)  # fmt: skip
def test_error_falls_at_second_order_in_model_evaluations(sampler, steps, spacing):
    """order = log(e_1 / e_2) / log(n_2 / n_1) for n model evaluations. Measured: dpm++2m 2.00,
    2.03 (log-SNR), 2.09, 2.22 (quadratic, whose larger error still settles); heun 2.15, 2.07
    (the next term of the error still shows at 39 evaluations). A first-order method gives 1, a
    third-order one 3: 0.25 either side of 2 tells them apart."""
    errors, evals = zip(*(error_over_s(FINE, sampler, n, spacing) for n in steps), strict=True)
    orders = np.log(np.divide(errors[:-1], errors[1:])) / np.log(np.divide(evals[1:], evals[:-1]))
    assert np.all(np.abs(orders - 2) < 0.25), orders


# The SDE form lands on no fixed x_0: its samples are held to the data's distribution instead.
N_SDE = 20_000


@pytest.mark.parametrize(
    "spacing, steps, discretisation",
    [("logsnr", 80, 0.0), ("logsnr", 20, 0.05), ("quadratic", 80, 0.0)],
)
def test_dpm_solver_sde_samples_have_the_data_distribution(spacing, steps, discretisation):
    """Per pixel, the mean within 4 standard errors (4 s / sqrt(N)) of m, and the standard
    deviation within 4 / sqrt(2N) of s, relative, plus ``discretisation``. Measured with
    N = 20,000, the std's largest error: log-SNR 1.1% at 80 steps (inside the sampling error),
    4.3% at 20 and 11% at 10; the default quadratic spacing 1.7% at 80, 5.4% at 40, 15% at 20 and
    25% at 10 (too wide: few steps near sigma ~ s, as for the ODE above). The "heun" form (see
    the sampler) about doubles each few-step figure: log-SNR 11% at 20, quadratic 30%. The mean
    is off by at most 0.03 s at every step count."""
    x_T = np.random.default_rng(1).standard_normal((N_SDE, len(S)))
    x = BOOK.sample(gaussian_eps(BOOK), sampler="dpm++2m-sde", steps=steps, x_T=x_T,
                    spacing=spacing, dtype=np.float64, progress=False, rng=2)  # fmt: skip
    assert np.all(np.abs(x.mean(0) - M) <= 4 * S / np.sqrt(N_SDE))
    assert np.all(np.abs(x.std(0) / S - 1) <= 4 / np.sqrt(2 * N_SDE) + discretisation)


# -- guidance, x_T, the calls -----------------------------------------------------------------------


def conditional_eps(x, t, labels):
    """eps* for pixel means shifted by 0.1 label; NULL_LABEL rows get the unshifted means."""
    shift = np.where(labels == NULL_LABEL, 0.0, 0.1 * labels)[:, None]  # (B, 1)
    ab = BOOK._alpha_bars_from_0[t][:, None]
    return np.sqrt(1 - ab) * (x - np.sqrt(ab) * (M + shift)) / (ab * S**2 + 1 - ab)


@pytest.mark.parametrize("sampler", ["dpm++2m", "dpm++2m-sde", "heun"])
def test_guidance_one_is_conditional_and_zero_unconditional(sampler):
    labels = np.arange(8) % 10
    x_T, calls = X_T[:8], []

    def model(x, t, labels):
        calls.append(len(x))
        return conditional_eps(x, t, labels)

    kw = dict(sampler=sampler, steps=6, x_T=x_T, dtype=np.float64, progress=False, rng=0)
    conditional = BOOK.sample(lambda x, t: conditional_eps(x, t, labels), **kw)
    unconditional = BOOK.sample(lambda x, t: conditional_eps(x, t, np.full(8, NULL_LABEL)), **kw)
    assert np.abs(conditional - unconditional).max() > 0.1
    np.testing.assert_allclose(BOOK.sample(model, labels=labels, gamma=1.0, **kw), conditional,
                               rtol=1e-12, atol=1e-12)  # fmt: skip
    assert calls == [16] * (11 if sampler == "heun" else 6)  # one 2B call per evaluation
    np.testing.assert_allclose(BOOK.sample(model, labels=labels, gamma=0.0, **kw), unconditional,
                               rtol=1e-12, atol=1e-12)  # fmt: skip


@settings(max_examples=20, deadline=None)
@given(
    sampler=st.sampled_from(SAMPLERS),
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 5)),
)
def test_x_T_is_honoured_by_every_sampler(sampler, seed, shape):
    """Given x_T, a sampler starts from it (its first call sees it) and gives what drawing that
    x_T from the seed would have given; x_T itself is left untouched."""
    d = Diffuser(num_timesteps=20)
    steps = None if sampler == "ddpm" else 5
    seen = []

    def model(x, t):
        seen.append(x.copy())
        return np.tanh(x) + 1e-2 * t.reshape(-1, 1, 1)

    drawn = d.sample(model, shape, sampler=sampler, steps=steps, rng=seed, progress=False)
    rng = np.random.default_rng(seed)
    x_T = rng.standard_normal(shape, dtype=np.float32)
    kept = x_T.copy()
    seen.clear()
    given_x_T = d.sample(model, sampler=sampler, steps=steps, x_T=x_T, rng=rng, progress=False)
    np.testing.assert_allclose(seen[0], x_T, rtol=1e-6)
    np.testing.assert_array_equal(given_x_T, drawn)
    np.testing.assert_array_equal(x_T, kept)
    other = d.sample(model, sampler=sampler, steps=steps, x_T=x_T + 1, rng=seed, progress=False)
    assert not np.allclose(other, given_x_T)


@pytest.mark.parametrize("sampler, calls", [("dpm++2m", 7), ("dpm++2m-sde", 7), ("heun", 13)])
def test_calls_callback_and_progress_bar(sampler, calls, capsys):
    d, seen, ts = Diffuser(num_timesteps=50), [], []

    def model(x, t):
        ts.append(int(t[0]))
        return 0.5 * x

    d.sample(model, (3, 2), sampler=sampler, steps=7, rng=0,
             callback=lambda t, x: seen.append((t, x.shape)))  # fmt: skip
    assert len(ts) == calls and ts[0] == 50 and min(ts) == 1
    assert [t for t, _ in seen] == sorted(set(ts[1:]) | {0}, reverse=True)
    assert all(shape == (3, 2) for _, shape in seen)
    err = capsys.readouterr().err  # tqdm's bar
    assert f"{sampler}: 100%" in err and "7/7" in err


@pytest.mark.parametrize("sampler", ["ddim", "dpm++2m", "dpm++2m-sde", "heun"])
@pytest.mark.parametrize("spacing", [None, *SPACINGS])
def test_every_sampler_visits_the_timesteps_of_the_spacing_asked(sampler, spacing):
    """Any spacing with any sampler; without one, the sampler's default (DEFAULT_SPACING)."""
    d, seen = Diffuser(num_timesteps=50), []

    def model(x, t):
        seen.append(int(t[0]))
        return 0.5 * x

    d.sample(model, (2, 3), sampler=sampler, steps=6, spacing=spacing, rng=0, progress=False)
    want = d.timesteps(6, spacing or DEFAULT_SPACING[sampler])
    np.testing.assert_array_equal(sorted(set(seen), reverse=True), want)
    if spacing is not None and spacing != DEFAULT_SPACING[sampler]:
        default = d.timesteps(6, DEFAULT_SPACING[sampler])
        assert not np.array_equal(want, default)  # the option changed what was visited


@given(steps=st.integers(1, 1000))
def test_solver_timesteps_are_distinct_trained_t_from_T_to_1(steps):
    ab = BOOK._alpha_bars_from_0
    for ts in (samplers.logsnr_timesteps(ab, steps), samplers.karras_timesteps(ab, steps)):
        assert len(ts) == steps and ts[0] == 1000 and np.all(np.diff(ts) < 0)
        assert ts[-1] == (1 if steps > 1 else 1000)


@pytest.mark.parametrize("steps", [2, 5, 10, 20])
def test_solver_timesteps_are_the_nearest_to_their_spacing(steps):
    """Uniform in lambda, and Karras' sigma_i (rho = 7): each t the trained one nearest its target
    (in lambda, and in log sigma), none pushed aside at these step counts."""
    ab = BOOK._alpha_bars_from_0[1:]  # t = 1..T
    lam = samplers.half_log_snr(ab)
    targets = np.linspace(lam[-1], lam[0], steps)
    want = 1 + np.abs(lam[None, :] - targets[:, None]).argmin(1)
    np.testing.assert_array_equal(samplers.logsnr_timesteps(BOOK._alpha_bars_from_0, steps), want)
    sigma = np.sqrt((1 - ab) / ab)
    root = np.linspace(sigma[-1] ** (1 / 7), sigma[0] ** (1 / 7), steps)
    want = 1 + np.abs(np.log(sigma)[None, :] - 7 * np.log(root)[:, None]).argmin(1)
    np.testing.assert_array_equal(samplers.karras_timesteps(BOOK._alpha_bars_from_0, steps), want)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_model_sees_and_the_sampler_returns_the_sampling_dtype(sampler, dtype):
    """The solvers' float64 schedule coefficients must not promote what the model is fed: a
    float32 U-Net forward fed float64 runs about twice as slow."""
    d, seen = Diffuser(num_timesteps=30), []

    def model(x, t):
        seen.append(x.dtype)
        return 0.5 * x

    steps = None if sampler == "ddpm" else 6
    x = d.sample(model, (2, 3), sampler=sampler, steps=steps, rng=0, dtype=dtype, progress=False)
    assert set(seen) == {np.dtype(dtype)} and x.dtype == dtype
