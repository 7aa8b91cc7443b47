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

import argparse
import time

import numpy as np

import scratch.nn.functional as F
from scratch import pretrained
from scratch.checkpoint import load_checkpoint
from scratch.data import MNIST, ArrayDataset, DataLoader, fetch
from scratch.data.toy import stand_in_digits
from scratch.errors import UserError
from scratch.eval.sampling import NUM_LABELS, build, generate, load, quality
from scratch.kernels.memory import reuse_freed_memory
from scratch.models.diffusion import (
    DEFAULT_SPACING,
    SAMPLERS,
    SCHEDULES,
    SPACINGS,
    Diffuser,
    drop_labels,
)
from scratch.models.ema import UncorrectedEMA, WithEMA
from scratch.optim import Adam
from scratch.train import CHECKPOINT, Trainer
from scratch.viz import image_grid, quick_note

from . import _shipped
from ._common import (
    add_actions,
    check_kind,
    data_source,
    find_checkpoint,
    integer,
    make_parser,
    parse,
    quick_defaults,
    real,
    stand_in_label,
    write_json,
)

MNIST_FILES = ("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz")
TEST_FILES = ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
DATA_RANGES = ("01", "pm1")
EMA_BN_BATCHES = 40  # batches for the averaged weights' BatchNorm statistics (5,120 images)
QUICK = {"channels": "8,16,32", "subset": 768, "batch_size": 32, "n": 10}  # 24 steps


def parse_channels(text: str) -> tuple[int, int, int]:
    """``--channels``: three positive integers like 64,128,256 (an argparse type)."""
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        channels = ()
    if len(channels) != 3 or min(channels) < 1:
        raise argparse.ArgumentTypeError(
            f"expected three positive integers like 64,128,256, got {text!r}"
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
        raise argparse.ArgumentTypeError(f"expected labels like 0..9 or 3,1,4, got {text!r}")
    if values.min() < 0 or values.max() >= NUM_LABELS:
        raise argparse.ArgumentTypeError(
            f"labels must lie in 0..{NUM_LABELS - 1}, got {values.min()}..{values.max()}"
        )
    return np.resize(values, n).astype(np.int64)  # (n,)


def labels_flag(text: str) -> str:
    """``--labels`` checked at parse time (the text is kept: it is part of the settings)."""
    parse_labels(text, 1)
    return text


def load_digits(args) -> tuple[np.ndarray, np.ndarray, str]:
    """Training images (N, 1, 28, 28) in [0, 1], labels (N,) and their source: MNIST, or (only
    under --synthetic, or --quick when the files are missing) the generated stand-in of rings and
    bars whose shape and size the label sets."""
    source = data_source(args, MNIST_FILES, "MNIST training set")
    if source is not None:
        ds = MNIST(train=True)
        return ds.data, ds.targets, source
    rng = np.random.default_rng(args.seed)
    n = QUICK["subset"] if args.quick else 10000
    labels = rng.integers(0, NUM_LABELS, n)
    images = stand_in_digits(n, rng, labels).reshape(n, 1, 28, 28)
    return images, labels, stand_in_label("MNIST", None)


ACTIONS = {
    "train": "fit the U-Net (a checkpoint after every epoch)",
    "sample": "a grid of samples from a checkpoint",
    "eval": "classifier-FID of samples beside the real-vs-real floor, class histogram",
}


def make_parser_for():
    parser = make_parser("diffusion", __doc__, common=False)  # each action carries the common flags
    actions = add_actions(parser, ACTIONS, synthetic=True)
    train = actions["train"]
    train.add_argument("--conditional", action="store_true", help="UNetCond, labels dropped p=0.1")
    train.add_argument("--epochs", type=integer(1), help="epochs in all (default 10; --quick: 1)")
    train.add_argument(
        "--batch-size", type=integer(1), help="the book's 128 (default; --quick: 32)"
    )
    train.add_argument(
        "--lr", type=real(0, 1, open_low=True), default=1e-3, help="Adam's learning rate"
    )
    train.add_argument(
        "--channels",
        type=parse_channels,
        help="U-Net widths (default 64,128,256; --quick: 8,16,32)",
    )
    train.add_argument(
        "--subset", type=integer(1), help="train on the first N images (default all; --quick: 768)"
    )
    train.add_argument("--ema", action="store_true", help="keep an EMA of the weights (0.999)")
    train.add_argument(
        "--drop",
        choices=("per-example", "per-batch"),
        default="per-example",
        help="label dropping: each label (the paper) or the whole batch (the book), p=0.1",
    )
    train.add_argument("--schedule", choices=SCHEDULES, default="linear", help="the betas")
    train.add_argument(
        "--data-range", choices=DATA_RANGES, default="01", help="pixels in [0, 1] or [-1, 1]"
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    for action in ("sample", "eval"):
        sample = actions[action]
        sample.add_argument(
            "--checkpoint",
            default=None,
            help="the model to load (default: OUT/checkpoint.npz, else the demo's run "
            "OUT/step10_diffusion, else shipped pretrained weights)",
        )
        sample.add_argument(
            "--sampler",
            choices=SAMPLERS,
            default="ddpm",
            help="the reverse process: the book's ddpm (all T steps), ddim, DPM-Solver++(2M), "
            "its SDE form or EDM's Heun",
        )
        sample.add_argument(
            "--steps",
            type=integer(1, 1000),
            help="steps of ddim, dpm++2m, dpm++2m-sde (one model call each) or heun (2 steps - 1 "
            "calls); needed for all but ddim (default for ddim: all T)",
        )
        n = "default 20" if action == "sample" else "2..60000, default 10000"
        sample.add_argument("--n", type=integer(2 if action == "eval" else 1), help=f"images ({n})")
        sample.add_argument("--chunk", type=integer(1), default=500, help="images per batch")
        sample.add_argument(
            "--labels", type=labels_flag, help="conditional: 0..9 or 3,1,4 (cycled; default 0..9)"
        )
        sample.add_argument(
            "--gamma", type=real(0, 100), default=3.0, help="guidance scale, in [0, 100]"
        )
        sample.add_argument("--eta", type=real(0, 1), default=0.0, help="DDIM's eta in [0, 1]")
        sample.add_argument(
            "--spacing",
            choices=SPACINGS,
            default=None,
            help="how the steps are spread (default: linear for ddim, quadratic for dpm++2m and "
            "dpm++2m-sde, karras for heun; quadratic: <= 106 steps)",
        )
        sample.add_argument(
            "--clip-x0",
            action="store_true",
            help="aim every step at x0_hat clipped to the data range",
        )
        sample.add_argument(
            "--no-ema", action="store_true", help="sample with the last weights, not the EMA's"
        )
        sample.add_argument(
            "--resume", action="store_true", help="continue from the samples saved so far"
        )
    return parser


def check_sampler(args) -> None:
    """The sampler options that go together (the Diffuser's own checks, as usage errors)."""
    if args.sampler == "ddpm" and args.steps not in (None, 1000):
        problem = f"ddpm visits all 1000 steps, got --steps {args.steps}; use --sampler ddim"
    elif args.sampler in ("dpm++2m", "dpm++2m-sde", "heun") and args.steps is None:
        problem = f"--sampler {args.sampler} needs --steps (e.g. 10 or 20)"
    elif args.sampler == "ddpm" and args.spacing is not None:
        problem = f"ddpm visits all 1000 steps, so takes no --spacing, got {args.spacing}"
    elif args.sampler != "ddim" and args.eta != 0.0:
        problem = f"--eta is DDIM's option, not {args.sampler}'s"
    elif args.action == "eval" and args.n > 60000:
        problem = f"--n must lie in 2..60000 (the floor's MNIST training images), got {args.n}"
    else:
        return
    raise UserError(problem, status=2)


def main(argv=None) -> dict:
    argv = list(argv or [])
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "train")
    args = parse(make_parser_for(), argv)
    reuse_freed_memory()  # the U-Net's large arrays, re-mapped every step otherwise
    if args.action == "train":
        quick_defaults(
            args,
            epochs=(10, 1),
            batch_size=(128, QUICK["batch_size"]),
            channels=((64, 128, 256), parse_channels(QUICK["channels"])),
        )
        result = train(args)
        if args.quick:  # the demo's run also draws a few DDIM samples
            args.sampler, args.steps, args.n = "ddim", 10, QUICK["n"]
            args.labels = "0..9" if args.conditional else None
            args.checkpoint, args.chunk, args.gamma, args.eta = args.out / CHECKPOINT, 500, 3.0, 0.0
            args.spacing, args.clip_x0, args.no_ema, args.resume = None, False, False, False
            result.update(sample(args, note=quick_note(result["train_steps"])))
        return result
    quick_defaults(args, n=(20, 20) if args.action == "sample" else (10000, 10000))
    check_sampler(args)
    return sample(args) if args.action == "sample" else evaluate(args)


def train(args) -> dict:
    x, y, source = load_digits(args)
    if args.quick and args.subset is None:
        args.subset = QUICK["subset"]
    if args.subset is not None:
        if args.subset > len(x):
            raise UserError(f"--subset {args.subset}: there are only {len(x)} training images")
        x, y = x[: args.subset], y[: args.subset]
    config = {
        "model": "diffusion",
        "data": source,
        "conditional": args.conditional,
        "channels": list(args.channels),
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
        "data": source,
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
    # --labels asks for guided digits: the conditional model; otherwise the book's step 9 model
    kinds = ("unet_cond", "unet") if args.labels is not None else ("unet", "unet_cond")
    path, shipped = find_checkpoint(args, "diffusion", shipped_kinds=kinds)
    if shipped is not None:
        if args.no_ema:
            raise UserError(
                f"--no-ema needs a training checkpoint (--checkpoint): the shipped {shipped!r} "
                "holds only its EMA weights"
            )
        model, manifest = pretrained.load(shipped), pretrained.info(shipped)
        diffuser = Diffuser(**manifest["diffuser"])
        config, epoch = manifest["run_config"], manifest["history"]["history"]["epoch"][-1]
        path = f"pretrained:{shipped}"
    else:
        check_kind(path, load_checkpoint(path)[1], "diffusion", args.action)
        try:
            model, diffuser, config, epoch = load(path, args.seed, ema=not args.no_ema)
        except UncorrectedEMA as e:
            raise UserError(f"{e} (--no-ema)") from None
    labels = parse_labels(args.labels, args.n)
    if labels is not None and not config["conditional"]:
        raise UserError("--labels needs a conditional checkpoint (trained with --conditional)")
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
        progress=args.out / f"samples_{run_name(args)}_n{args.n}_seed{args.seed}.npz",
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
    spacing = {"quadratic": "_quad"}.get(args.spacing, f"_{args.spacing}")
    flags = spacing if args.spacing not in (None, DEFAULT_SPACING.get(args.sampler)) else ""
    flags += "_clip" if args.clip_x0 else ""
    flags += "_raw" if args.no_ema else ""
    return f"{args.sampler}{args.steps or ''}{eta}{flags}"


def describe(args, labels, epoch) -> dict:
    """The sampling settings, for the JSON files."""
    result = {"sampler": args.sampler, "steps": args.steps or 1000, "epoch": epoch}
    if args.sampler != "ddpm":
        result["spacing"] = args.spacing or DEFAULT_SPACING[args.sampler]
    if args.sampler == "ddim":
        result["eta"] = args.eta
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
    if args.spacing not in (None, DEFAULT_SPACING.get(args.sampler)):
        how += f" ({args.spacing} spacing)"
    how += f", eta {args.eta:g}" if args.sampler == "ddim" and args.eta else ""
    how += ", x0 clipped" if args.clip_x0 else ""
    how += ", last weights (no EMA)" if args.no_ema else ""
    if labels is not None:
        how += f", guided (gamma {args.gamma:g}); each image titled with its label"
    return f"diffusion samples: {model}\n{how}" + (f"\n{note}" if note else "")


SAMPLER_NAMES = {"ddpm": "DDPM", "ddim": "DDIM", "dpm++2m": "DPM-Solver++(2M)",
                 "dpm++2m-sde": "DPM-Solver++(2M) SDE", "heun": "Heun"}  # fmt: skip


def sample(args, note: str | None = None) -> dict:
    """Draw ``--n`` images and save them as a grid, titled with the model, the sampler and
    ``note``, each image with its label when conditional."""
    images, labels, config, epoch = generate_images(args)
    name = f"samples_{run_name(args)}_n{args.n}_seed{args.seed}"
    titles = None if labels is None else [str(v) for v in labels]
    title = samples_title(config, epoch, args, labels, note)
    png = image_grid(images, args.out / f"{name}.png", ncols=10, titles=titles, title=title)
    result = {"samples": str(png), **describe(args, labels, epoch)}
    print(f"wrote {png}")
    write_json(args.out / f"{name}.json", result)
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
    for name in (*TEST_FILES, *MNIST_FILES):  # the floor's training images, the test images
        fetch(name)  # through the data store: a missing or corrupt file stops here
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
    write_json(args.out / f"eval_{run_name(args)}_n{args.n}_seed{args.seed}.json", result)
    return result
