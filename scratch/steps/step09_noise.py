"""``scratch noise``: step 9's forward process. flower.png noised step by step,
x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps, shown every 100 steps (the book's ten panels);
then the closed form q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) checked against
t sequential steps by their moments over many draws."""

import matplotlib.pyplot as plt
import numpy as np

from scratch.data import fetch
from scratch.data.toy import flower
from scratch.models.diffusion import Diffuser
from scratch.viz import save

from ._common import (
    data_source,
    integer,
    make_parser,
    parse,
    quick_defaults,
    stand_in_label,
    write_json,
)


def load_image(args) -> tuple[np.ndarray, str]:
    """book/flower.png (64, 64, 3) in [0, 1]; the drawn stand-in under --synthetic, or under
    --quick when the file is absent."""
    source = data_source(args, ["book/flower.png"], "book/flower.png")
    if source is None:
        return flower(), stand_in_label("book/flower.png", None)
    return plt.imread(fetch("book/flower.png"))[..., :3].astype(np.float32), source


def noising_panels(diffuser: Diffuser, image: np.ndarray, rng, every: int = 100) -> dict:
    """Sequential forward noising of ``image``; {t: x_t} for t = 0, every, 2 every, ... < T."""
    x, panels = image, {0: image}
    for t in range(1, diffuser.num_timesteps):
        x = diffuser.add_noise_step(x, t, rng)
        if t % every == 0:
            panels[t] = x
    return panels


def moments_by_t(diffuser: Diffuser, x_0: np.ndarray, draws: int, rng):
    """Mean and variance over ``draws`` of x_t from t sequential steps, for every t, beside the
    closed form's. x_0: (P,) pixel values. Returns (mean, var) of shape (T, P), and the closed
    form's (T, P) mean and variance."""
    T = diffuser.num_timesteps
    x = np.repeat(x_0[:, None], draws, axis=1)  # (P, draws)
    mean, var = np.empty((T, len(x_0))), np.empty((T, len(x_0)))
    for t in range(1, T + 1):
        x = diffuser.add_noise_step(x, t, rng)
        mean[t - 1], var[t - 1] = x.mean(axis=1), x.var(axis=1)
    ab = diffuser.alpha_bars[:, None]  # (T, 1)
    return mean, var, np.sqrt(ab) * x_0, np.broadcast_to(1 - ab, mean.shape)


def main(argv=None) -> dict:
    parser = make_parser("noise", __doc__, synthetic=True)
    parser.add_argument(
        "--draws", type=integer(2), help="draws per pixel (default 20000; --quick: 4000)"
    )
    args = parse(parser, argv)
    quick_defaults(args, draws=(20000, 4000))
    draws = args.draws
    rng = np.random.default_rng(args.seed)
    diffuser = Diffuser()
    image, source = load_image(args)

    # the book's figure: ten panels, noise added step by step
    panels = noising_panels(diffuser, image, rng)
    fig, axes = plt.subplots(2, 5, figsize=(12, 5.5))
    for ax, (t, x) in zip(axes.ravel(), panels.items(), strict=True):
        ax.imshow(np.clip(x, 0, 1))
        ax.set_title(f"t = {t}")
        ax.axis("off")
    fig.suptitle(f"forward noising of {source}, x_t = sqrt(1-beta_t) x_(t-1) + sqrt(beta_t) eps")
    noising_png = save(fig, args.out / "noising.png")

    # closed form against sequential steps: three pixels (dark, middle, bright)
    x_0 = np.quantile(image.ravel(), [0.05, 0.5, 0.95])  # (3,)
    mean, var, mean_cf, var_cf = moments_by_t(diffuser, x_0, draws, rng)
    mean_z = np.abs(mean - mean_cf) / np.sqrt(var_cf / draws)  # (T, 3) standard errors
    var_z = np.abs(var - var_cf) / (var_cf * np.sqrt(2 / draws))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.5))
    ts = np.arange(1, diffuser.num_timesteps + 1)
    for p, colour in zip(range(3), ("C0", "C1", "C2"), strict=True):
        ax0.plot(ts, mean_cf[:, p], color=colour, label=f"x_0 = {x_0[p]:.2f}: closed form")
        ax0.plot(ts[::25], mean[::25, p], "o", ms=3, color=colour, label="sequential")
    ax0.plot(ts, np.sqrt(var_cf[:, 0]), "k-", label="std: closed form sqrt(1 - alpha_bar_t)")
    ax0.plot(ts[::25], np.sqrt(var[::25]).mean(axis=1), "ks", ms=3, label="std: sequential")
    ax0.set(
        xlabel="t",
        ylabel="mean, std of x_t",
        title=f"mean and std of x_t over {draws} draws",
        ylim=(-0.05, 1.05),
    )
    ax0.legend(fontsize=7)
    t_hist = 100
    closed, _ = diffuser.add_noise(np.full(draws, x_0[1]), t_hist, rng)
    sequential = np.full(draws, x_0[1])
    for t in range(1, t_hist + 1):
        sequential = diffuser.add_noise_step(sequential, t, rng)
    bins = np.linspace(-1.5, 2.5, 60)
    ax1.hist(closed, bins, alpha=0.5, density=True, label="closed form q(x_t | x_0)")
    ax1.hist(sequential, bins, alpha=0.5, density=True, label=f"{t_hist} sequential steps")
    ax1.set(xlabel=f"x_{t_hist}", ylabel="density", title=f"x_0 = {x_0[1]:.2f}, t = {t_hist}")
    ax1.legend(fontsize=8)
    moments_png = save(fig, args.out / "closed_form.png")

    result = {
        "image": source,
        "draws": draws,
        "max_mean_error_in_se": round(float(mean_z.max()), 2),
        "max_var_error_in_se": round(float(var_z.max()), 2),
    }
    print(
        f"{source}: ten panels -> {noising_png}; closed form vs sequential over {draws} draws and "
        f"t = 1..{diffuser.num_timesteps}: largest mean error {result['max_mean_error_in_se']} "
        f"standard errors, largest variance error {result['max_var_error_in_se']} -> {moments_png}"
    )
    write_json(args.out / "noise.json", result)
    return result
