"""Diffusion (steps 9-10): the noise schedule, q(x_t | x_0), the book's reverse step and DDPM
sampler, classifier-free guidance and label dropping for its training. The few-step samplers are
in :mod:`scratch.models.samplers`, the weight EMA in :mod:`scratch.models.ema`.

``t`` is 1-based as in the book: t = 1..T, and t = 0 is the clean data (alpha_bar_0 = 1).

The model is any callable ``model(x, t)`` or ``model(x, t, labels)``: ``x`` (B, ...) an ndarray,
``t`` (B,) int64 timesteps, ``labels`` (B,) int64; it returns the predicted noise eps with x's
shape, as an ndarray or as anything with a ``.data`` ndarray (a scratch Tensor).

The null label. The book trains the unconditional model by calling ``model(x, t)`` (labels=None)
for a whole batch. Guidance needs conditional and unconditional predictions in ONE batched call,
so "no label" must be expressible per row: here it is the label ``NULL_LABEL = -1``, and a
conditional model must treat a row labelled -1 exactly as the book treats labels=None (it adds no
label embedding to that row). The label embedding keeps the book's shape (num_labels, dim), so the
book's weights load unchanged.
"""

from contextlib import contextmanager

import numpy as np
from tqdm import tqdm

from scratch.autograd import no_grad
from scratch.models import samplers
from scratch.models.unet import NULL_LABEL

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim", "dpm++2m", "dpm++2m-sde", "heun")
SPACINGS = ("linear", "quadratic", "logsnr", "karras")
# Each sampler's default spacing: DDIM the book's even spread, Heun EDM's; the DPM-Solver++ pair
# the squares, which beat uniform log-SNR on the book's U-Net at 10 and 20 steps, in FID and in
# distance to the ODE's limit (benchmarks/README.md; log-SNR wins on narrow Gaussian pixels).
DEFAULT_SPACING = {"ddim": "linear", "dpm++2m": "quadratic", "dpm++2m-sde": "quadratic",
                   "heun": "karras"}  # fmt: skip


def as_rng(rng=None) -> np.random.Generator:
    """A Generator from None (fresh entropy), an int seed, or a Generator (returned as is)."""
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise ValueError(
        f"rng must be None, an int seed or a numpy Generator, got {type(rng).__name__}"
    )


def linear_betas(num_timesteps: int, beta_start: float, beta_end: float) -> np.ndarray:
    """The book's schedule: beta_t evenly spaced from beta_start (t=1) to beta_end (t=T)."""
    if not 0.0 < beta_start <= beta_end < 1.0:
        raise ValueError(
            f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}"
        )
    return np.linspace(beta_start, beta_end, num_timesteps)


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol & Dhariwal (2021): alpha_bar_t = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi/2),
    and beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}, clipped to max_beta (f(T) = 0 would give 1)."""
    t = np.arange(num_timesteps + 1) / num_timesteps  # t/T for t = 0..T
    f = np.cos((t + s) / (1 + s) * np.pi / 2) ** 2
    return np.minimum(1.0 - f[1:] / f[:-1], max_beta)


class Diffuser:
    """The forward process q and the reverse steps of a diffusion model with T = num_timesteps.

    ``betas``, ``alphas = 1 - betas`` and ``alpha_bars = cumprod(alphas)`` are (T,) float64 arrays
    indexed by t - 1, as in the book. ``schedule`` is ``'linear'`` (the book's, from beta_start to
    beta_end) or ``'cosine'`` (Nichol & Dhariwal; beta_start and beta_end are then unused).
    ``data_range`` is the interval the model sees images in: the book's (0, 1) or (-1, 1).
    """

    def __init__(
        self,
        num_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        schedule: str = "linear",
        data_range: tuple[float, float] = (0.0, 1.0),
    ):
        if not isinstance(num_timesteps, int | np.integer) or num_timesteps < 1:
            raise ValueError(f"num_timesteps must be a positive integer, got {num_timesteps!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        low, high = data_range
        if not low < high:
            raise ValueError(f"data_range must be (low, high) with low < high, got {data_range}")
        self.num_timesteps = int(num_timesteps)
        self.schedule = schedule
        self.data_range = (float(low), float(high))
        if schedule == "linear":
            self.betas = linear_betas(self.num_timesteps, beta_start, beta_end)  # (T,)
        else:
            self.betas = cosine_betas(self.num_timesteps)
        self.alphas = 1.0 - self.betas  # (T,)
        self.alpha_bars = np.cumprod(self.alphas)  # (T,)
        # alpha_bar_t for t = 0..T: index t directly, and alpha_bar_0 = 1 (the book's wrap fixed)
        self._alpha_bars_from_0 = np.concatenate(([1.0], self.alpha_bars))  # (T + 1,)

    # -- timesteps and schedule values ------------------------------------------------------------

    def check_t(self, t, low: int = 1) -> np.ndarray:
        """``t`` as int64, after checking that every value is an integer in low..T."""
        t_arr = np.asarray(t)
        if t_arr.dtype.kind not in "iu" or t_arr.size == 0:
            raise ValueError(f"t must be integer timesteps, got {t!r}")
        if t_arr.min() < low or t_arr.max() > self.num_timesteps:
            raise ValueError(
                f"t must lie in {low}..{self.num_timesteps} (1-based, as in the book), "
                f"got values from {t_arr.min()} to {t_arr.max()}"
            )
        return t_arr.astype(np.int64)

    def alpha_bar(self, t) -> np.ndarray:
        """alpha_bar_t for t in 0..T (alpha_bar_0 = 1: nothing added yet)."""
        return self._alpha_bars_from_0[self.check_t(t, low=0)]

    def _batch_t(self, t, B: int) -> np.ndarray:
        """t (one int, or one per row) as (B,) int64."""
        t = self.check_t(t)
        if t.ndim == 0 or t.shape == (B,):
            return np.broadcast_to(t, (B,))
        raise ValueError(f"t must be one int or one per row of x ({B}), got shape {t.shape}")

    def timesteps(self, steps: int | None = None, spacing: str = "linear") -> np.ndarray:
        """The decreasing timesteps a sampler visits: all of T..1, or ``steps`` of them from T
        down to 1 (DDIM's sub-sequence tau), spread

        - ``linear``: evenly in t (distinct, since the spacing is >= 1);
        - ``quadratic``: as the squares of evenly spread numbers, t_i = round(u_i^2) for u from
          sqrt(T) to 1 (the DDIM paper's choice for CIFAR-10): denser near t = 1, where the
          details form;
        - ``logsnr``: evenly in lambda = log(sqrt(ab) / sqrt(1 - ab)) (DPM-Solver's);
        - ``karras``: EDM's sigma ramp, rho = 7 (:func:`samplers.karras_timesteps`).

        The last two are snapped to the nearest trained t (:mod:`scratch.models.samplers`)."""
        T = self.num_timesteps
        steps = T if steps is None else steps
        if not isinstance(steps, int | np.integer) or not 1 <= steps <= T:
            raise ValueError(f"steps must be an integer in 1..{T}, got {steps!r}")
        if spacing not in SPACINGS:
            raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
        if spacing == "linear":
            return np.floor(np.linspace(T, 1, steps) + 0.5).astype(np.int64)  # (steps,)
        if spacing == "logsnr":
            return samplers.logsnr_timesteps(self._alpha_bars_from_0, steps)
        if spacing == "karras":
            return samplers.karras_timesteps(self._alpha_bars_from_0, steps)
        ts = np.floor(np.linspace(np.sqrt(T), 1, steps) ** 2 + 0.5).astype(np.int64)
        if np.any(np.diff(ts) >= 0):  # squares closer than 1 apart near t = 1
            raise ValueError(
                f"quadratic spacing repeats timesteps with {steps} steps of T={T}; "
                f"use fewer steps or another spacing"
            )
        return ts

    # -- data scaling -----------------------------------------------------------------------------

    def to_model(self, images: np.ndarray) -> np.ndarray:
        """Images in [0, 1] to the model's data_range: low + (high - low) * images."""
        low, high = self.data_range
        return low + (high - low) * np.asarray(images)

    def to_images(self, x: np.ndarray) -> np.ndarray:
        """Samples in the model's data_range back to images in [0, 1] (clipped)."""
        low, high = self.data_range
        return np.clip((np.asarray(x) - low) / (high - low), 0.0, 1.0)

    # -- the forward process q --------------------------------------------------------------------

    def add_noise(self, x_0: np.ndarray, t, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """Sample q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) in closed form.

        ``t`` is an int or (N,) ints in 1..T, one per row of x_0 (N, ...). Returns (x_t, noise).
        """
        x_0 = _float_array(x_0, "x_0")
        alpha_bar = _per_row(self.alpha_bar(self.check_t(t)), x_0)  # (N, 1, ..., 1) or ()
        noise = as_rng(rng).standard_normal(x_0.shape, dtype=x_0.dtype)
        x_t = np.sqrt(alpha_bar) * x_0 + np.sqrt(1.0 - alpha_bar) * noise
        return x_t.astype(x_0.dtype, copy=False), noise

    def add_noise_step(self, x_prev: np.ndarray, t, rng=None) -> np.ndarray:
        """One forward step q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)."""
        x_prev = _float_array(x_prev, "x_prev")
        beta = _per_row(self.betas[self.check_t(t) - 1], x_prev)
        noise = as_rng(rng).standard_normal(x_prev.shape, dtype=x_prev.dtype)
        x_t = np.sqrt(1.0 - beta) * x_prev + np.sqrt(beta) * noise
        return x_t.astype(x_prev.dtype, copy=False)

    # -- the reverse process ----------------------------------------------------------------------

    def predict_noise(self, model, x, t, labels=None, gamma=None, clip_x0=False) -> np.ndarray:
        """eps from the model, with classifier-free guidance when ``gamma`` is a number.

        labels None: unconditional, ``model(x, t)``. ``gamma`` None: conditional without guidance,
        ``model(x, t, labels)``. Otherwise ONE call on 2B rows, the second half labelled
        NULL_LABEL, and eps = eps_uncond + gamma (eps_cond - eps_uncond).
        ``clip_x0``: return :meth:`eps_of_clipped_x0` of that eps.
        """
        x = _float_array(x, "x")
        B = len(x)
        t = self._batch_t(t, B)  # (B,)
        if labels is None:
            eps = _call(model, x, t)
        elif gamma is None:
            eps = _call(model, x, t, _check_labels(labels, B))
        else:
            x2 = np.concatenate([x, x])  # (2B, ...)
            labels2 = np.concatenate([_check_labels(labels, B), np.full(B, NULL_LABEL)])
            eps2 = _call(model, x2, np.concatenate([t, t]), labels2)
            eps_cond, eps_uncond = eps2[:B], eps2[B:]
            eps = eps_uncond + gamma * (eps_cond - eps_uncond)
        return self.eps_of_clipped_x0(x, eps, t) if clip_x0 else eps

    def eps_of_clipped_x0(self, x, eps, t) -> np.ndarray:
        """eps re-derived from the prediction of x_0 clipped to ``data_range`` (Ho et al.'s
        ``clip_denoised``), so that every step aims at an image in the data's range:

        x0_hat = clip((x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t), low, high),
        eps' = (x_t - sqrt(alpha_bar_t) x0_hat) / sqrt(1 - alpha_bar_t).

        eps' = eps wherever x0_hat was already in range.
        """
        alpha_bar = _per_row(self.alpha_bar(self._batch_t(t, len(x))), x)  # (B, 1, ..., 1)
        signal, noise = np.sqrt(alpha_bar), np.sqrt(1.0 - alpha_bar)
        x0_hat = np.clip((x - noise * eps) / signal, *self.data_range)
        return ((x - signal * x0_hat) / noise).astype(eps.dtype)

    def denoise(self, model, x, t, labels=None, gamma=3.0, rng=None, clip_x0=False):
        """One DDPM reverse step x_t -> x_{t-1}, the book's mean and standard deviation (no noise
        at t = 1). Guidance and ``clip_x0`` as in :meth:`predict_noise` (gamma=None: plain
        conditional)."""
        x = _float_array(x, "x")
        t = self._batch_t(t, len(x))  # (B,)
        alpha = _per_row(self.alphas[t - 1], x)  # (B, 1, ..., 1)
        alpha_bar = _per_row(self.alpha_bar(t), x)
        alpha_bar_prev = _per_row(self.alpha_bar(t - 1), x)
        # eps_uncond + gamma (eps_cond - eps_uncond), from one model call on 2B rows
        eps = self.predict_noise(model, x, t, labels, gamma, clip_x0)
        mu = (x - (1 - alpha) / np.sqrt(1 - alpha_bar) * eps) / np.sqrt(alpha)
        std = np.sqrt((1 - alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar))  # 0 at t = 1
        noise = 0.0
        if np.any(std > 0):
            noise = as_rng(rng).standard_normal(x.shape, dtype=x.dtype)
        return (mu + noise * std).astype(x.dtype)

    def sample(
        self,
        model,
        x_shape=None,
        labels=None,
        gamma=3.0,
        sampler: str = "ddpm",
        steps: int | None = None,
        eta: float = 0.0,
        spacing: str | None = None,
        clip_x0: bool = False,
        rng=None,
        callback=None,
        progress: bool = True,
        dtype=np.float32,
        x_T=None,
    ) -> np.ndarray:
        """Run the reverse process from x_T down to x_0.

        ``x_T``: the starting noise (its shape is the samples'); without it x_T ~ N(0, I) of
        ``x_shape`` (default (20, 1, 28, 28)) is drawn from ``rng``, so the same noise can be
        given to several samplers. ``sampler`` (see :mod:`scratch.models.samplers`):

        - 'ddpm': all T steps, the book's :meth:`denoise`;
        - 'ddim': ``steps`` timesteps (default T), and ``eta``;
        - 'dpm++2m': DPM-Solver++(2M), ``steps`` model calls;
        - 'dpm++2m-sde': its stochastic form, noise drawn from ``rng``;
        - 'heun': EDM's Heun, ``steps`` timesteps, 2 steps - 1 model calls.

        ``spacing`` (:meth:`timesteps`) spreads the steps; by default each sampler's own
        (``DEFAULT_SPACING``: linear for DDIM, quadratic for the DPM-Solver++ pair, karras for
        Heun). DDPM visits every t and takes none.

        ``clip_x0``: every step aims at x0_hat clipped to data_range
        (:meth:`eps_of_clipped_x0`; off in the book). ``labels`` (B,): conditional sampling,
        guided with ``gamma`` (None: no guidance); the book's random labels are
        ``labels=rng.integers(0, 10, B)``. ``rng``: a Generator or a seed. ``callback(t, x)`` is
        called after every step with the x_t just reached (t = 0 last). Returns x_0 in the
        model's data_range (see :meth:`to_images`).
        """
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        T = self.num_timesteps
        if sampler == "ddpm" and steps not in (None, T):
            raise ValueError(
                f"DDPM visits all {T} steps, got steps={steps}; "
                "use sampler='ddim' (eta=1 is DDPM-like) for fewer"
            )
        if sampler in ("dpm++2m", "dpm++2m-sde", "heun") and steps is None:
            raise ValueError(f"sampler {sampler!r} needs steps (e.g. 10 or 20)")
        if sampler == "ddpm" and spacing is not None:
            raise ValueError(f"DDPM visits all {T} steps, so takes no spacing, got {spacing!r}")
        if sampler != "ddim" and eta != 0.0:
            raise ValueError(f"eta is DDIM's option, got eta={eta} with sampler {sampler!r}")
        rng = as_rng(rng)
        if x_T is None:
            x = rng.standard_normal(tuple(x_shape or (20, 1, 28, 28)), dtype=dtype)
        else:
            x = np.array(_float_array(x_T, "x_T"), dtype=dtype)  # a copy: x_T stays as given
            if x_shape is not None and tuple(x_shape) != x.shape:
                raise ValueError(f"x_T has shape {x.shape}, but x_shape is {tuple(x_shape)}")

        def eps(x, t):  # the solvers' float64 coefficients promote x: the model runs in dtype
            return self.predict_noise(model, x.astype(dtype, copy=False), t, labels, gamma, clip_x0)

        def ddpm(x):
            for t in range(T, 0, -1):
                x = self.denoise(model, x, t, labels, gamma, rng, clip_x0)
                yield t - 1, x

        alpha_bar = self._alpha_bars_from_0  # (T + 1,)
        if sampler == "ddpm":
            ts, run = np.arange(T, 0, -1), ddpm(x)
        else:
            ts = self.timesteps(steps, spacing or DEFAULT_SPACING[sampler])
        if sampler == "ddim":
            run = samplers.ddim(eps, x, ts, alpha_bar, eta, rng)
        elif sampler == "dpm++2m":
            run = samplers.dpm_solver_pp_2m(eps, x, ts, alpha_bar)
        elif sampler == "dpm++2m-sde":
            run = samplers.dpm_solver_pp_2m_sde(eps, x, ts, alpha_bar, rng)
        elif sampler == "heun":
            run = samplers.heun(eps, x, ts, alpha_bar)
        for t, x in tqdm(run, total=len(ts), desc=sampler, disable=not progress):
            if callback is not None:
                callback(int(t), x)
        return x.astype(dtype, copy=False)


# -- helpers ---------------------------------------------------------------------------------------


def _float_array(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f" or x.ndim == 0:
        raise ValueError(
            f"{name} must be a float array with a batch axis (scale images to floats first), "
            f"got dtype {x.dtype} and shape {x.shape}"
        )
    return x


def _per_row(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Schedule values for t (scalar or (N,)) shaped to broadcast over x (N, ...)."""
    if values.ndim == 0:
        return values
    if values.shape != (len(x),):
        raise ValueError(
            f"t must be one int or one per row of x ({len(x)}), got shape {values.shape}"
        )
    return values.reshape(-1, *([1] * (x.ndim - 1)))  # (N, 1, ..., 1)


def _check_labels(labels, B: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.shape != (B,):
        raise ValueError(
            f"labels must be ({B},) integers (one per sample), got dtype {labels.dtype} "
            f"and shape {labels.shape}"
        )
    if labels.min() < NULL_LABEL:
        raise ValueError(f"labels must be >= 0 (or NULL_LABEL = -1 for none), got {labels.min()}")
    return labels.astype(np.int64)


def _call(model, x, t, labels=None) -> np.ndarray:
    """eps = model(x, t[, labels]) as an ndarray with x's shape and dtype; refuses NaN or inf.
    As in the book's denoise, a Module runs in eval mode and without a graph."""
    with _evaluating(model):
        y = model(x, t) if labels is None else model(x, t, labels)
    eps = _ndarray(y)
    if eps.shape != x.shape:
        raise ValueError(f"the model must return eps of x's shape {x.shape}, got {eps.shape}")
    if not np.all(np.isfinite(eps)):
        raise ValueError(f"the model returned NaN or inf at t={t[0]}")
    return eps.astype(x.dtype, copy=False)


@contextmanager
def _evaluating(model):
    """Run the model without recording a graph, and a Module in eval mode (its mode is restored
    after); a plain callable is only called."""
    training = getattr(model, "training", None)
    if training is not None and hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad():
            yield
    finally:
        if training and hasattr(model, "train"):
            model.train()


def drop_labels(labels, p: float = 0.1, rng=None, per: str = "example") -> np.ndarray:
    """Labels for classifier-free guidance training: a copy with some set to NULL_LABEL.

    per='example' (the paper, Ho & Salimans 2022): each label is dropped independently with
    probability p. per='batch' (the book): with probability p the whole batch is unlabelled.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    labels = np.array(labels, dtype=np.int64)  # a copy
    rng = as_rng(rng)
    if per == "example":
        labels[rng.random(labels.shape) < p] = NULL_LABEL
    elif per == "batch":
        if rng.random() < p:
            labels[...] = NULL_LABEL
    else:
        raise ValueError(f"per must be 'example' or 'batch', got {per!r}")
    return labels


def _ndarray(a) -> np.ndarray:
    """An ndarray as is; a scratch Tensor or Parameter as its ``.data`` ndarray (not a copy)."""
    return a if isinstance(a, np.ndarray) else np.asarray(getattr(a, "data", a))
