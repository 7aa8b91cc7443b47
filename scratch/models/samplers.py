"""Few-step samplers for the book's discrete-time eps-model: DDIM, DPM-Solver++(2M) and Heun.

All three integrate (or, for DDIM with eta > 0, sample around) the probability-flow ODE of the
model trained at t = 1..T, with alpha_bar_t from the Diffuser's schedule (alpha_bar_0 = 1):

- DDIM (Song et al. 2021, eq. 12, with sigma from eq. 16): one model call per step.
- DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): multistep, second order, on
  the data prediction x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t), in the
  half log-SNR lambda_t = log(sqrt(alpha_bar_t) / sqrt(1 - alpha_bar_t)); one call per step.
  Its SDE form adds fresh noise at every step, on the same timesteps.
- Heun's 2nd-order method (Karras et al. 2022, "EDM", Algorithm 1) on the ODE in sigma form
  (their eq. 1 with sigma(t) = t): for x~ = x_t / sqrt(alpha_bar_t) and
  sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), dx~/dsigma = eps(x_t, t). Two calls per step,
  one for the last (2 steps - 1 in all).

Each sampler is a generator: from x_T at ts[0] it yields (t_prev, x_{t_prev}) after every step,
down to t_prev = 0. ``eps(x, t)`` is the noise prediction (guidance and clipping already applied
by ``Diffuser.predict_noise``); ``alpha_bar`` is the (T + 1,) array alpha_bar_0..alpha_bar_T.

Every sampler runs on any decreasing timesteps ``ts`` (``Diffuser.timesteps`` spreads them;
each sampler has its default there). The model knows only the integer t it was trained on, so
every sampler evaluates it at trained t (a continuous t would feed the time embedding values it
never saw). The spacings in lambda and sigma are built in their own variable and then snapped to
the nearest trained t, and the solver then uses that t's exact lambda or sigma (EDM's
``round_sigma`` for discretely trained models): the ODE is integrated on the very noise levels
the model is conditioned on, so snapping only moves the grid. Interpolating the schedule instead
would ask the model about noise levels between those it learned. The price: near t = 1 the
trained t lie up to 0.4 apart in lambda, which bounds how fine the last steps can be. (With the
exact predictor of Gaussian pixels, interpolating instead changes Heun's error by under 5%.)

Per model evaluation Heun is the less accurate of the two on narrow pixels (s = 0.05): a step of
about one e-fold in sigma straddles the bend of x~ = m + c sqrt(s^2 + sigma^2) at sigma ~ s, and
it needs about 4 times DPM-Solver++(2M)'s evaluations for the same error (see the tests).
"""

import numpy as np

# -- DDIM ------------------------------------------------------------------------------------------


def ddim_sigma(alpha_bar, alpha_bar_prev, eta: float):
    """eq. 16: sigma = eta sqrt((1 - ab_prev) / (1 - ab)) sqrt(1 - ab / ab_prev)."""
    return eta * np.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev))


def ddim_step(x, eps, alpha_bar, alpha_bar_prev, sigma=0.0, noise=None):
    """eq. 12: x_prev = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev - sigma^2) eps + sigma z."""
    x0_hat = (x - np.sqrt(1 - alpha_bar) * eps) / np.sqrt(alpha_bar)
    x_prev = np.sqrt(alpha_bar_prev) * x0_hat + np.sqrt(1 - alpha_bar_prev - sigma**2) * eps
    return x_prev if noise is None else x_prev + sigma * noise


def ddim(eps, x, ts, alpha_bar, eta: float = 0.0, rng=None):
    """DDIM from t = ts[0] through ts[1:] to 0; noise z is drawn only where sigma > 0."""
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must lie in [0, 1], got {eta}")
    for t, t_prev in zip(ts, [*ts[1:], 0], strict=True):
        sigma = ddim_sigma(alpha_bar[t], alpha_bar[t_prev], eta)
        noise = rng.standard_normal(x.shape, dtype=x.dtype) if sigma > 0 else None
        x = ddim_step(x, eps(x, t), alpha_bar[t], alpha_bar[t_prev], sigma, noise).astype(x.dtype)
        yield t_prev, x


# -- DPM-Solver++(2M) ------------------------------------------------------------------------------


def half_log_snr(alpha_bar):
    """lambda_t = log(sqrt(ab) / sqrt(1 - ab)) = log(alpha_t / sigma_t)."""
    return 0.5 * (np.log(alpha_bar) - np.log1p(-alpha_bar))


def logsnr_timesteps(alpha_bar, steps: int) -> np.ndarray:
    """``steps`` trained t from T down to 1, uniform in lambda (DPM-Solver's "logSNR")."""
    lam = half_log_snr(alpha_bar[1:])  # (T,) increasing as t falls
    targets = np.linspace(lam[-1], lam[0], steps)  # lambda_T .. lambda_1
    return _snap(lam, targets)


def dpm_solver_pp_2m(eps, x, ts, alpha_bar):
    """Algorithm 2, with signal a_t = sqrt(ab_t), noise s_t = sqrt(1 - ab_t), h = lambda_t - lambda_s:

    first order (= DDIM):  x_t = (s_t / s_s) x_s - a_t (e^-h - 1) x0_s
    second order:          D = (1 + 1 / (2 r)) x0_s - 1 / (2 r) x0_prev,  r = h_prev / h,
                           x_t = (s_t / s_s) x_s - a_t (e^-h - 1) D.

    D = x0_s + d / 2, with d = (x0_s - x0_prev) / r the change of x0 over the last step, scaled
    to this one's h. First order at the first step (no history yet, d = 0) and the last (to
    t = 0, where lambda = inf and the step returns x0_hat itself)."""

    def step(x, x0, d, s_s, a_t, s_t, h):
        return (s_t / s_s) * x - a_t * np.expm1(-h) * (x0 + d / 2)

    return _multistep_2m(eps, x, ts, alpha_bar, step)


def dpm_solver_pp_2m_sde(eps, x, ts, alpha_bar, rng):
    """The SDE form of DPM-Solver++(2M) (diffusers' "sde-dpmsolver++", k-diffusion's
    "dpmpp_2m_sde" at eta = 1, both in their default "midpoint" form): the reverse SDE's linear
    part solved exactly in lambda, with the same D = x0_s + d / 2 as above:

    x_t = (s_t / s_s) e^-h x_s + a_t (1 - e^-2h) D + s_t sqrt(1 - e^-2h) z,  z ~ N(0, I).

    For data of one point x0 the step keeps x_t ~ N(a_t x0, s_t^2): the fresh noise replaces
    part of x_s's, which lets the sampler correct errors of the model as it goes. (Integrating
    x0 linear in lambda exactly, the "heun" form, weighs d nearly twice as much at large h: it
    spreads Gaussian pixels about twice as far from their s at few steps; see the tests.)"""

    def step(x, x0, d, s_s, a_t, s_t, h):
        z = rng.standard_normal(x.shape, dtype=x.dtype)
        x = (s_t / s_s) * np.exp(-h) * x - a_t * np.expm1(-2 * h) * (x0 + d / 2)
        return x + s_t * np.sqrt(-np.expm1(-2 * h)) * z

    return _multistep_2m(eps, x, ts, alpha_bar, step)


def _multistep_2m(eps, x, ts, alpha_bar, step):
    """The loop both DPM-Solver++(2M) forms share: at each s -> t the data prediction
    x0_s = (x_s - s_s eps(x_s, s)) / a_s, the change d = (x0_s - x0_prev) h / h_prev of x0 over
    the last step scaled to this one (0 at the first step), and ``step(x_s, x0_s, d, s_s, a_t,
    s_t, h)``; the last step, to t = 0, returns x0_s."""
    x0_prev, h_prev = None, None
    for s, t in zip(ts, [*ts[1:], 0], strict=True):
        a_s, s_s = np.sqrt(alpha_bar[s]), np.sqrt(1 - alpha_bar[s])
        x0 = (x - s_s * eps(x, s)) / a_s  # the data prediction at s
        if t == 0:
            x = x0
        else:
            a_t, s_t = np.sqrt(alpha_bar[t]), np.sqrt(1 - alpha_bar[t])
            h = half_log_snr(alpha_bar[t]) - half_log_snr(alpha_bar[s])
            d = 0.0 if x0_prev is None else (x0 - x0_prev) * (h / h_prev)
            x = step(x, x0, d, s_s, a_t, s_t, h)
            x0_prev, h_prev = x0, h
        x = x.astype(x0.dtype)
        yield t, x


# -- Heun (EDM) ------------------------------------------------------------------------------------


def karras_timesteps(alpha_bar, steps: int, rho: float = 7.0) -> np.ndarray:
    """EDM's eq. 5, sigma_i = (sigma_max^(1/rho) + i / (N - 1) (sigma_min^(1/rho) -
    sigma_max^(1/rho)))^rho from sigma_T to sigma_1, as ``steps`` trained t."""
    sigma = np.sqrt((1 - alpha_bar[1:]) / alpha_bar[1:])  # (T,) sigma_1..sigma_T
    ramp = np.linspace(0, 1, steps)
    targets = sigma[-1] ** (1 / rho) + ramp * (sigma[0] ** (1 / rho) - sigma[-1] ** (1 / rho))
    return _snap(-np.log(sigma), -rho * np.log(targets))  # nearest in log sigma


def heun(eps, x, ts, alpha_bar):
    """Algorithm 1 (deterministic), with x~ = x_t / sqrt(ab_t) and d = eps(x_t, t):

    x~' = x~_i + (sigma_{i+1} - sigma_i) d_i                        (Euler)
    x~_{i+1} = x~_i + (sigma_{i+1} - sigma_i) (d_i + d'_{i+1}) / 2  (Heun's correction)

    with no correction on the last step, to sigma = 0 (t = 0, where x~ = x_0)."""
    sigma = np.sqrt((1 - alpha_bar) / alpha_bar)  # (T + 1,) sigma_0 = 0

    def d(x_tilde, t):  # dx~/dsigma: the model sees x_t = x~ / sqrt(1 + sigma^2)
        return eps((x_tilde * np.sqrt(alpha_bar[t])).astype(x.dtype), t)

    x_tilde = x / np.sqrt(alpha_bar[ts[0]])
    for s, t in zip(ts, [*ts[1:], 0], strict=True):
        d_s = d(x_tilde, s)
        x_next = x_tilde + (sigma[t] - sigma[s]) * d_s
        if t > 0:
            x_next = x_tilde + (sigma[t] - sigma[s]) * (d_s + d(x_next, t)) / 2
        x_tilde = x_next
        yield t, (x_tilde * np.sqrt(alpha_bar[t])).astype(x.dtype)


# -- helpers ---------------------------------------------------------------------------------------


def evaluations(sampler: str, steps: int) -> int:
    """The model evaluations of ``steps`` steps: Heun's 2 steps - 1, one a step for the rest."""
    return 2 * steps - 1 if sampler == "heun" else steps


def _snap(grid, targets) -> np.ndarray:
    """The trained t (decreasing, T..1) nearest each target of ``grid`` (values at t = 1..T,
    decreasing in t), then made distinct: where the targets are denser than the trained t (with
    many steps, near t = 1), each t is pushed to one above the next, and any pushed past T is
    capped at one below the one before."""
    T = len(grid)
    if not 1 <= len(targets) <= T:
        raise ValueError(f"steps must be an integer in 1..{T}, got {len(targets)}")
    ts = T - np.abs(grid[::-1][None, :] - targets[:, None]).argmin(1)  # (steps,), grid by T..1
    for i in range(len(ts) - 2, -1, -1):  # from t = 1 upwards
        ts[i] = max(ts[i], ts[i + 1] + 1)
    ts[0] = min(ts[0], T)
    for i in range(1, len(ts)):  # from t = T downwards
        ts[i] = min(ts[i], ts[i - 1] - 1)
    return ts.astype(np.int64)
