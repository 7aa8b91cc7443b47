"""``scratch diffusion train|sample|eval``: steps 9-10 on MNIST, the book's U-Net diffusion model
(T = 1000, linear betas 1e-4..0.02, Adam 1e-3, batch 128, 10 epochs) and, with ``--conditional``,
the conditional U-Net trained for classifier-free guidance (labels dropped with p = 0.1).

``train`` minimises the book's loss, the mean of (eps - eps_theta(x_t, t[, label]))^2 with
t ~ U{1..T} and x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, in the book's loop (a
Trainer checkpoints after every epoch, and ``--resume`` continues). With ``--ema`` the optimizer's step is followed by an
EMA update of the weights (decay 0.999, bias-corrected), saved in the checkpoint as
``optimizer.ema.<name>`` beside the BatchNorm statistics recomputed for the averaged weights
(``optimizer.ema_buffers.<name>``); ``sample`` and ``eval`` then use the averaged model.
``eval`` draws ``--n`` samples and reports their classifier-FID (scratch.eval.sampling) beside the
real-against-real floor, their class histogram and, for a conditional model, how often each
requested label is recognised.
"""

import time

import numpy as np

import scratch.nn.functional as F
from scratch import pretrained
from scratch.data import MNIST, ArrayDataset, DataLoader
from scratch.data.toy import stand_in_digits
from scratch.eval.sampling import NUM_LABELS, build, generate, load, quality
from scratch.kernels.memory import reuse_freed_memory
from scratch.models.diffusion import SAMPLERS, SCHEDULES, SPACINGS, Diffuser, drop_labels
from scratch.models.ema import UncorrectedEMA, WithEMA
from scratch.optim import Adam
from scratch.train import CHECKPOINT, Trainer
from scratch.viz import image_grid, quick_note

from . import _shipped
from ._common import have, make_parser, parse, write_json

MNIST_FILES = ("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz")
TEST_FILES = ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
DATA_RANGES = ("01", "pm1")
EMA_BN_BATCHES = 40  # batches for the averaged weights' BatchNorm statistics (5,120 images)
QUICK = {"channels": "8,16,32", "subset": 768, "batch_size": 32, "n": 10}  # 24 steps


def parse_channels(text: str) -> tuple[int, int, int]:
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        channels = ()
    if len(channels) != 3 or min(channels) < 1:
        raise ValueError(
            f"--channels must be three positive integers like 64,128,256, got {text!r}"
        )
    return channels


def parse_labels(text: str | None, n: int) -> np.ndarray | None:
    """``--labels``: 'a..b' (each of a..b in turn, repeated to n) or 'l1,l2,...' (repeated to n),
    every label in 0..9."""
    if text is None:
        return None
    try:
        if ".." in text:
            low, high = (int(v) for v in text.split(".."))
            values = np.arange(low, high + 1)
        else:
            values = np.array([int(v) for v in text.split(",")])
    except ValueError:
        values = np.array([])
    if values.size == 0:
        raise ValueError(f"--labels must look like 0..9 or 3,1,4, got {text!r}")
    if values.min() < 0 or values.max() >= NUM_LABELS:
        raise ValueError(
            f"--labels must lie in 0..{NUM_LABELS - 1}, got {values.min()}..{values.max()}"
        )
    return np.resize(values, n).astype(np.int64)  # (n,)


def load_digits(quick: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training images (N, 1, 28, 28) in [0, 1] and labels (N,): MNIST, or when its files are
    absent the generated stand-in of rings and bars with random labels (they carry no meaning)."""
    if have(*MNIST_FILES):
        ds = MNIST(train=True)
        return ds.data, ds.targets
    rng = np.random.default_rng(seed)
    n = QUICK["subset"] if quick else 10000
    return stand_in_digits(n, rng).reshape(n, 1, 28, 28), rng.integers(0, NUM_LABELS, n)


def make_parser_for():
    parser = make_parser("diffusion", __doc__.split("\n")[0].strip("`"))
    parser.add_argument("action", nargs="?", default="train", choices=("train", "sample", "eval"))
    train = parser.add_argument_group("train")
    train.add_argument("--conditional", action="store_true", help="UNetCond, labels dropped p=0.1")
    train.add_argument("--epochs", type=int, default=10, help="epochs in all (default 10)")
    train.add_argument("--batch-size", type=int, default=128, help="default 128, the book's")
    train.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (1e-3)")
    train.add_argument("--channels", default="64,128,256", help="U-Net widths (64,128,256)")
    train.add_argument("--subset", type=int, default=None, help="train on the first N images")
    train.add_argument("--ema", action="store_true", help="keep an EMA of the weights (0.999)")
    train.add_argument(
        "--drop",
        choices=("per-example", "per-batch"),
        default="per-example",
        help="label dropping: each label (the paper) or the whole batch (the book), p=0.1",
    )
    train.add_argument("--schedule", choices=SCHEDULES, default="linear")
    train.add_argument("--data-range", choices=DATA_RANGES, default="01")
    train.add_argument(
        "--resume",
        action="store_true",
        help="train: continue from OUT/checkpoint.npz; sample, eval: from the samples saved so far",
    )
    sample = parser.add_argument_group("sample")
    sample.add_argument("--checkpoint", default=None, help="default OUT/checkpoint.npz")
    sample.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default="ddpm",
        help="The reverse process: the book's ddpm (all T steps), ddim, DPM-Solver++(2M) or "
        "EDM's Heun. Default: ddpm.",
    )
    sample.add_argument(
        "--steps",
        type=int,
        default=None,
        help="Steps of ddim, dpm++2m (one model call each) or heun (2 steps - 1 calls). "
        "Needed for dpm++2m and heun; default for ddim: all T.",
    )
    sample.add_argument("--n", type=int, default=None, help="images (sample 20, eval 10000)")
    sample.add_argument("--chunk", type=int, default=500, help="images per sampling batch")
    sample.add_argument("--labels", default=None, help="conditional: 0..9 or 3,1,4 (cycled)")
    sample.add_argument("--gamma", type=float, default=3.0, help="guidance scale (default 3)")
    sample.add_argument("--eta", type=float, default=0.0, help="DDIM's eta in [0, 1]")
    sample.add_argument(
        "--spacing", choices=SPACINGS, default="linear", help="DDIM's timesteps (quadratic: <= 106)"
    )
    sample.add_argument(
        "--clip-x0", action="store_true", help="aim every step at x0_hat clipped to the data range"
    )
    sample.add_argument(
        "--no-ema", action="store_true", help="sample with the last weights, not the EMA's"
    )
    return parser


def main(argv=None) -> dict:
    args = parse(make_parser_for(), argv)
    reuse_freed_memory()  # the U-Net's large arrays, re-mapped every step otherwise
    if args.quick:
        args.channels = QUICK["channels"]
        args.subset = min(args.subset or QUICK["subset"], QUICK["subset"])
        args.batch_size = min(args.batch_size, QUICK["batch_size"])
        args.epochs = 1
    if args.n is None:
        args.n = 10000 if args.action == "eval" else 20
    for flag in ("epochs", "batch_size", "n", "chunk"):
        if getattr(args, flag) < 1:
            raise ValueError(
                f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}"
            )
    if not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    if args.subset is not None and args.subset < 1:
        raise ValueError(f"--subset must be positive, got {args.subset}")
    if args.action == "train":
        result = train(args)
        if args.quick:  # the demo's run also draws a few DDIM samples
            args.sampler, args.steps, args.n = "ddim", 10, QUICK["n"]
            args.labels = "0..9" if args.conditional else None
            result.update(sample(args, note=quick_note(result["train_steps"])))
        return result
    return sample(args) if args.action == "sample" else evaluate(args)


def train(args) -> dict:
    x, y = load_digits(args.quick, args.seed)
    if args.subset is not None:
        x, y = x[: args.subset], y[: args.subset]
    config = {
        "model": "diffusion",
        "conditional": args.conditional,
        "channels": list(parse_channels(args.channels)),
        "schedule": args.schedule,
        "data_range": args.data_range,
        "ema": args.ema,
        "drop": args.drop,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "images": len(x),
    }
    model, diffuser = build(config, args.seed)
    rng = np.random.default_rng(args.seed)  # t, the noise and the dropped labels
    optimizer = Adam(model.parameters(), lr=args.lr)
    if args.ema:  # optimizer.step() then also updates the EMA of the weights
        optimizer = WithEMA(optimizer, model, calibration(x, y, diffuser, args))
    loader = DataLoader(ArrayDataset(x, y), args.batch_size, shuffle=True, seed=args.seed)
    trainer = Trainer(model, optimizer, loader, args.epochs, args.out, rng=rng,
                      resume=args.resume, config=config, desc="diffusion",
                      title=loss_title(args, len(loader)))  # fmt: skip
    print(f"diffusion: {len(x)} images, {args.epochs} epochs, {config}")
    T = diffuser.num_timesteps
    for _epoch in trainer.epochs():  # the book's loop; the trainer checkpoints and resumes
        for images, labels in trainer.batches():
            optimizer.zero_grad()
            x_0 = diffuser.to_model(images)  # (B, 1, 28, 28)
            t = rng.integers(1, T + 1, len(x_0))  # (B,) 1-based
            x_noisy, noise = diffuser.add_noise(x_0, t, rng)
            if args.conditional:  # classifier-free guidance learns both: some labels dropped
                labels = drop_labels(labels, 0.1, rng, per=args.drop.removeprefix("per-"))
                noise_pred = model(x_noisy, t, labels)
            else:
                noise_pred = model(x_noisy, t)
            loss = F.mse_loss(noise_pred, noise)
            loss.backward()
            optimizer.step()
            trainer.log(loss)
    history = trainer.history
    return {
        "epochs": len(history["loss"]),
        "train_steps": len(history["loss"]) * len(loader),
        "loss_first": round(history["loss"][0], 4),
        "loss_last": round(history["loss"][-1], 4),
        "seconds_per_epoch": round(float(np.median(history["seconds"])), 2),
    }


def calibration(x, y, diffuser, args):
    """The batches that the averaged weights' BatchNorm statistics are computed on: the same
    noised images at every save, drawn as in training from their own seed."""
    chosen = np.random.default_rng([args.seed, 1]).permutation(len(x))
    chosen = chosen[: EMA_BN_BATCHES * args.batch_size]
    loader = DataLoader(ArrayDataset(x[chosen], y[chosen]), args.batch_size)
    T = diffuser.num_timesteps

    def batches():
        rng = np.random.default_rng([args.seed, 1])
        for images, labels in loader:
            x_0 = diffuser.to_model(images)
            t = rng.integers(1, T + 1, len(x_0))
            x_noisy, _ = diffuser.add_noise(x_0, t, rng)
            if args.conditional:
                labels = drop_labels(labels, 0.1, rng, per=args.drop.removeprefix("per-"))
                yield x_noisy, t, labels
            else:
                yield x_noisy, t

    return batches


def generate_images(args):
    """(images (n, 1, 28, 28) in [0, 1], labels or None, config, epoch): ``--n`` samples from the
    checkpoint in batches of ``--chunk``, labelled 0..9 in turn (or ``--labels``) when
    conditional, saved chunk by chunk to OUT/samples_<run name>_n<n>.npz for ``--resume``."""
    path = args.checkpoint or args.out / CHECKPOINT
    try:
        model, diffuser, config, epoch = load(path, args.seed, ema=not args.no_ema)
    except UncorrectedEMA as e:
        raise ValueError(f"{e} (--no-ema)") from None
    labels = parse_labels(args.labels, args.n)
    if labels is not None and not config["conditional"]:
        raise ValueError("--labels needs a conditional checkpoint (trained with --conditional)")
    if labels is None and config["conditional"]:
        labels = np.resize(np.arange(NUM_LABELS), args.n)  # one of each digit per row
    settings = {"checkpoint": str(path), **describe(args, labels, epoch), "n": args.n,
                "chunk": args.chunk, "seed": args.seed, "labels": args.labels}  # fmt: skip
    images = generate(
        model,
        diffuser,
        args.n,
        labels,
        chunk=args.chunk,
        seed=args.seed,
        progress=args.out / f"samples_{run_name(args)}_n{args.n}.npz",
        settings=settings,
        resume=args.resume,
        gamma=args.gamma,
        sampler=args.sampler,
        steps=args.steps,
        eta=args.eta,
        spacing=args.spacing,
        clip_x0=args.clip_x0,
    )
    return images, labels, config, epoch


def run_name(args) -> str:
    """The files' stem for these sampling settings: ddpm, ddim50, ddim50_eta0.5_clip_raw, ..."""
    eta = f"_eta{args.eta:g}" if args.sampler == "ddim" and args.eta else ""
    flags = ("_quad" if args.spacing == "quadratic" else "") + ("_clip" if args.clip_x0 else "")
    flags += "_raw" if args.no_ema else ""
    return f"{args.sampler}{args.steps or ''}{eta}{flags}"


def describe(args, labels, epoch) -> dict:
    """The sampling settings, for the JSON files."""
    result = {"sampler": args.sampler, "steps": args.steps or 1000, "epoch": epoch}
    if args.sampler == "ddim":
        result["eta"], result["spacing"] = args.eta, args.spacing
    if args.clip_x0:
        result["clip_x0"] = True
    if args.no_ema:
        result["ema"] = False
    if labels is not None:
        result["gamma"] = args.gamma
    return result


def loss_title(args, batches: int) -> str:
    """The loss plot's title; in --quick it says how many steps the model was trained for."""
    what = "conditional U-Net" if args.conditional else "U-Net"
    note = f"\n{quick_note(args.epochs * batches)}" if args.quick else ""
    return f"diffusion ({what}, channels {args.channels}): training loss{note}"


def samples_title(config: dict, epoch: int, args, labels, note: str | None = None) -> str:
    """Which model, sampler, steps and epoch a grid of samples shows (and ``note``)."""
    channels = ",".join(map(str, config["channels"]))
    model = f"{'conditional ' if config['conditional'] else ''}U-Net ({channels}), epoch {epoch}"
    how = f"{SAMPLER_NAMES[args.sampler]}, {args.steps or 1000} steps"
    if labels is not None:
        how += f", guided (gamma {args.gamma:g}); each image titled with its label"
    return f"diffusion samples: {model}\n{how}" + (f"\n{note}" if note else "")


SAMPLER_NAMES = {"ddpm": "DDPM", "ddim": "DDIM", "dpm++2m": "DPM-Solver++(2M)", "heun": "Heun"}


def sample(args, note: str | None = None) -> dict:
    """Draw ``--n`` images and save them as a grid, titled with the model, the sampler and
    ``note``, each image with its label when conditional."""
    images, labels, config, epoch = generate_images(args)
    name = f"samples_{run_name(args)}"
    titles = None if labels is None else [str(v) for v in labels]
    title = samples_title(config, epoch, args, labels, note)
    png = image_grid(images, args.out / f"{name}.png", ncols=10, titles=titles, title=title)
    result = {"samples": str(png), **describe(args, labels, epoch)}
    write_json(args.out / f"{name}.json", result)
    print(f"samples -> {png}")
    return result


def shipped_figures(out, seed: int, steps: int = 10, gamma: float = 3.0) -> dict:
    """shipped_samples.png: 20 guided digits, 0..9 twice, from the shipped ``unet_cond`` with
    DPM-Solver++(2M) at ``steps`` steps; nothing but a printed line when it does not ship."""
    if not _shipped.available("unet_cond"):
        print(_shipped.missing_note("unet_cond"))
        return {"shipped": None}
    model = pretrained.load("unet_cond")
    diffuser = Diffuser(**pretrained.info("unet_cond")["diffuser"])
    labels = np.arange(20) % NUM_LABELS
    x_0 = diffuser.sample(model, (20, 1, 28, 28), labels, gamma=gamma, sampler="dpm++2m",
                          steps=steps, rng=seed, progress=False)  # fmt: skip
    title = (f"conditional U-Net, {_shipped.note('unet_cond')}\nguided (gamma {gamma:g}), "
             f"DPM-Solver++(2M), {steps} steps; each image titled with its label")  # fmt: skip
    png = image_grid(diffuser.to_images(x_0), out / "shipped_samples.png", ncols=10,
                     titles=[str(v) for v in labels], title=title)  # fmt: skip
    print(f"shipped model unet_cond: samples -> {png}")
    return {"shipped_samples": str(png), "shipped": _shipped.note("unet_cond")}


def evaluate(args) -> dict:
    """Classifier-FID of ``--n`` samples against all MNIST test images, beside the floor (n
    training images against the same), the class histogram and per-label accuracy."""
    if not have(*TEST_FILES):
        raise ValueError(f"eval compares with MNIST test images: {', '.join(TEST_FILES)} needed")
    if not 2 <= args.n <= 60000:
        raise ValueError(
            f"--n must lie in 2..60000 (the floor's MNIST training images), got {args.n}"
        )
    tick = time.perf_counter()
    images, labels, config, epoch = generate_images(args)
    seconds = time.perf_counter() - tick
    scores = quality(images, labels)
    accuracy = scores.pop("label_accuracy", None)
    result = {**describe(args, labels, epoch), "n": args.n, "conditional": config["conditional"],
              **scores, "sample_seconds": round(seconds, 1)}  # fmt: skip
    if accuracy is not None:
        result["label_accuracy"] = accuracy
    print(
        f"classifier-FID {scores['fid']:.4f} (floor, train vs test: {scores['fid_floor']:.4f}; "
        f"ratio {scores['fid'] / scores['fid_floor']:.2f}), class histogram "
        f"{result['class_histogram']}"
    )
    if accuracy is not None:
        print(f"classified as the requested label: {accuracy}")
    write_json(args.out / f"eval_{run_name(args)}.json", result)
    return result
