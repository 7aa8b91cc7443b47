"""``scratch diffusion train|sample|eval``: steps 9-10 on MNIST, the book's U-Net diffusion model
(T = 1000, linear betas 1e-4..0.02, Adam 1e-3, batch 128, 10 epochs) and, with ``--conditional``,
the conditional U-Net trained for classifier-free guidance (labels dropped with p = 0.1).

``train`` minimises the book's loss, the mean of (eps - eps_theta(x_t, t[, label]))^2 with
t ~ U{1..T} and x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, through the shared loop
(checkpoint after every epoch, ``--resume``). With ``--ema`` the optimizer's step is followed by an
EMA update of the weights (decay 0.999, bias-corrected), saved in the checkpoint as
``optimizer.ema.<name>`` beside the BatchNorm statistics recomputed for the averaged weights
(``optimizer.ema_buffers.<name>``); ``sample`` and ``eval`` then use the averaged model.
``eval`` draws ``--n`` samples and reports their classifier-FID (scratch.eval) beside the
real-against-real floor, their class histogram and, for a conditional model, how often each
requested label is recognised.
"""

import time

import numpy as np

import scratch.nn.functional as F
from scratch import nn
from scratch.checkpoint import load_checkpoint, save_checkpoint
from scratch.data import MNIST, ArrayDataset, DataLoader
from scratch.kernels.memory import reuse_freed_memory
from scratch.models.diffusion import EMA, SAMPLERS, SCHEDULES, SPACINGS, Diffuser, drop_labels
from scratch.models.unet import UNet, UNetCond
from scratch.nn.norm import update_batchnorm
from scratch.optim import Adam
from scratch.train import CHECKPOINT, fit, split_state
from scratch.viz import image_grid

from ._common import have, make_parser, parse, write_json
from ._latent import stand_in_digits

MNIST_FILES = ("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz")
TEST_FILES = ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
NUM_LABELS = 10
DATA_RANGES = {"01": (0.0, 1.0), "pm1": (-1.0, 1.0)}
EMA_BN_BATCHES = 40  # batches for the averaged weights' BatchNorm statistics (5,120 images)
QUICK = {"channels": "8,16,32", "subset": 768, "batch_size": 32, "n": 10}  # 24 steps


class WithEMA:
    """An optimizer whose ``step()`` is followed by ``ema.update(model)``. Its state_dict holds the
    optimizer's entries, the EMA's as ``ema.<name>`` and, as ``ema_buffers.<name>``, the
    BatchNorm statistics of the averaged weights, recomputed on ``batches()`` (tuples of model
    arguments); so the shared loop checkpoints and resumes all of it, and the checkpoint holds a
    complete averaged model to sample with."""

    def __init__(self, optimizer, model, batches, decay: float = 0.999):
        self.optimizer, self.model, self.batches = optimizer, model, batches
        self.ema = EMA(model, decay)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def step(self) -> None:
        self.optimizer.step()
        self.ema.update(self.model)

    def averaged_buffers(self) -> dict:
        """The BatchNorm statistics that the averaged weights give; the model keeps its own."""
        own = {name: b.copy() for name, b in self.model.named_buffers()}
        with self.ema.applied_to(self.model):
            update_batchnorm(self.model, self.batches())
            averaged = {name: b.copy() for name, b in self.model.named_buffers()}
        for name, b in self.model.named_buffers():
            b[...] = own[name]
        return averaged

    def state_dict(self) -> dict:
        ema = {f"ema.{k}": v for k, v in self.ema.state_dict().items()}
        buffers = {f"ema_buffers.{k}": v for k, v in self.averaged_buffers().items()}
        return {**self.optimizer.state_dict(), **ema, **buffers}

    def load_state_dict(self, state: dict) -> None:
        ema, _, rest = split_ema(state)  # the buffers are recomputed at every save
        self.optimizer.load_state_dict(rest)
        self.ema.load_state_dict(ema)


def split_ema(optimizer_state: dict) -> tuple[dict, dict, dict]:
    """A checkpoint's optimizer entries as (EMA state, averaged BatchNorm buffers, the rest)."""
    parts = {"ema.": {}, "ema_buffers.": {}, "": {}}
    for k, v in optimizer_state.items():
        prefix = next(p for p in parts if k.startswith(p))
        parts[prefix][k[len(prefix) :]] = v
    return parts["ema."], parts["ema_buffers."], parts[""]


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


def build(config: dict, seed: int):
    """(model, diffuser) for a config: the book's UNet, or UNetCond with 10 labels."""
    nn.init.manual_seed(seed)
    channels = tuple(config["channels"])
    if config["conditional"]:
        model = UNetCond(in_ch=1, num_labels=NUM_LABELS, channels=channels)
    else:
        model = UNet(in_ch=1, channels=channels)
    diffuser = Diffuser(schedule=config["schedule"], data_range=DATA_RANGES[config["data_range"]])
    return model, diffuser


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
    train.add_argument("--data-range", choices=tuple(DATA_RANGES), default="01")
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
            result.update(sample(args))
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
    per = args.drop.removeprefix("per-")
    T = diffuser.num_timesteps

    def model_inputs(batch, rng):
        """The model's arguments (x_t, t[, labels]) for a batch, t ~ U{1..T}, and the noise eps."""
        x_0 = diffuser.to_model(batch[0])  # (B, 1, 28, 28)
        t = rng.integers(1, T + 1, len(x_0))  # (B,) 1-based
        x_t, noise = diffuser.add_noise(x_0, t, rng)
        if not args.conditional:
            return (x_t, t), noise
        labels = drop_labels(batch[1], 0.1, rng, per=per)  # (B,), some NULL_LABEL
        return (x_t, t, labels), noise

    def loss_fn(batch):
        """mean (eps - eps_theta(x_t, t[, labels]))^2."""
        inputs, noise = model_inputs(batch, rng)
        return F.mse_loss(model(*inputs), noise)

    def calibration():
        """The same noised batches at every save, for the averaged weights' BatchNorm statistics."""
        fixed = np.random.default_rng([args.seed, 1])
        return (model_inputs(batch, fixed)[0] for batch in calibration_loader)

    optimizer = Adam(model.parameters(), lr=args.lr)
    if args.ema:
        chosen = np.random.default_rng([args.seed, 1]).permutation(len(x))
        chosen = chosen[: EMA_BN_BATCHES * args.batch_size]
        calibration_loader = DataLoader(ArrayDataset(x[chosen], y[chosen]), args.batch_size)
        optimizer = WithEMA(optimizer, model, calibration)
    loader = DataLoader(ArrayDataset(x, y), args.batch_size, shuffle=True, seed=args.seed)
    print(f"diffusion: {len(x)} images, {args.epochs} epochs, {config}")
    history = fit(
        loss_fn,
        model,
        optimizer,
        loader,
        args.epochs,
        args.out,
        rng=rng,
        resume=args.resume,
        config=config,
        desc="diffusion",
    )
    return {
        "epochs": len(history["loss"]),
        "loss_first": round(history["loss"][0], 4),
        "loss_last": round(history["loss"][-1], 4),
        "seconds_per_epoch": round(float(np.median(history["seconds"])), 2),
    }


def load(path, seed: int, ema: bool = True):
    """(model, diffuser, config, epoch) from a checkpoint, with the EMA's averaged weights and their
    BatchNorm statistics swapped in if saved (and ``ema``)."""
    state, meta = load_checkpoint(path)
    config = meta["config"]
    if config.get("model") != "diffusion":
        raise ValueError(f"{path}: not a diffusion checkpoint (config {config})")
    model, diffuser = build(config, seed)
    weights, opt_state = split_state(state)
    ema_state, buffers, _ = split_ema(opt_state)
    averaged = ema and bool(ema_state)
    model.load_state_dict({**weights, **buffers} if averaged else weights)
    if averaged:
        averages = EMA(model)
        try:
            averages.load_state_dict(ema_state)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        averages.copy_to(model)
    print(f"loaded {path} (epoch {meta['epoch']}, {'EMA weights, ' if averaged else ''}{config})")
    return model, diffuser, config, meta["epoch"]


def generate(args):
    """(images (n, 1, 28, 28) in [0, 1], labels or None, config, epoch): ``--n`` samples from the
    checkpoint in batches of ``--chunk``, labelled 0..9 in turn (or ``--labels``) when conditional.

    Chunk k draws its noise from the seed (seed, k), and every finished chunk is saved to
    OUT/samples_<sampler><steps>_n<n>.npz, so ``--resume`` continues an interrupted run (10,000
    DDPM samples take hours) and gives the images an uninterrupted run would."""
    path = args.checkpoint or args.out / CHECKPOINT
    model, diffuser, config, epoch = load(path, args.seed, ema=not args.no_ema)
    labels = parse_labels(args.labels, args.n)
    if labels is not None and not config["conditional"]:
        raise ValueError("--labels needs a conditional checkpoint (trained with --conditional)")
    if labels is None and config["conditional"]:
        labels = np.resize(np.arange(NUM_LABELS), args.n)  # one of each digit per row
    settings = {"checkpoint": str(path), **describe(args, labels, epoch), "n": args.n,
                "chunk": args.chunk, "seed": args.seed, "labels": args.labels}  # fmt: skip
    progress = args.out / f"samples_{run_name(args)}_n{args.n}.npz"
    images, done = np.empty((args.n, 1, 28, 28), dtype=np.float32), 0
    if args.resume and progress.exists():
        saved, meta = load_checkpoint(progress)
        if meta.get("settings") != settings:
            raise ValueError(
                f"{progress} holds samples drawn with {meta.get('settings')}, not {settings}: "
                "delete it, or run without --resume"
            )
        done = meta["done"]
        images[:done] = saved["images"]
        print(f"resuming from {progress}: {done} of {args.n} images done")
    for start in range(done, args.n, args.chunk):
        stop = min(start + args.chunk, args.n)
        x = diffuser.sample(
            model,
            (stop - start, 1, 28, 28),
            labels=None if labels is None else labels[start:stop],
            gamma=args.gamma,
            sampler=args.sampler,
            steps=args.steps,
            eta=args.eta,
            spacing=args.spacing,
            clip_x0=args.clip_x0,
            rng=np.random.default_rng([args.seed, start // args.chunk]),
        )
        images[start:stop] = diffuser.to_images(x)
        save_checkpoint(progress, {"images": images[:stop]}, settings=settings, done=stop)
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


def sample(args) -> dict:
    """Draw ``--n`` images and save them as a grid, titled with their labels when conditional."""
    images, labels, _, epoch = generate(args)
    name = f"samples_{run_name(args)}"
    titles = None if labels is None else [str(v) for v in labels]
    png = image_grid(images, args.out / f"{name}.png", ncols=10, titles=titles)
    result = {"samples": str(png), **describe(args, labels, epoch)}
    write_json(args.out / f"{name}.json", result)
    print(f"samples -> {png}")
    return result


def evaluate(args) -> dict:
    """Classifier-FID of ``--n`` samples against all MNIST test images, beside the floor (n
    training images against the same), the class histogram and per-label accuracy."""
    from scratch.eval import (
        class_histogram,
        fid_floor,
        fid_to_test,
        label_accuracy,
        load_classifier,
        reference_stats,
    )

    if not have(*TEST_FILES):
        raise ValueError(f"eval compares with MNIST test images: {', '.join(TEST_FILES)} needed")
    if not 2 <= args.n <= 60000:
        raise ValueError(
            f"--n must lie in 2..60000 (the floor's MNIST training images), got {args.n}"
        )
    tick = time.perf_counter()
    images, labels, config, epoch = generate(args)
    seconds = time.perf_counter() - tick
    classifier = load_classifier()
    reference = reference_stats(classifier)
    fid = fid_to_test(images, classifier, reference)
    floor = fid_floor(classifier, n=args.n, reference=reference)["fid"]
    result = {
        **describe(args, labels, epoch),
        "n": args.n,
        "conditional": config["conditional"],
        "fid": round(fid, 4),
        "fid_floor": round(floor, 4),
        "fid_over_floor": round(fid / floor, 3),
        "class_histogram": class_histogram(images, classifier).tolist(),
        "sample_seconds": round(seconds, 1),
    }
    if labels is not None:
        result["label_accuracy"] = {
            k: round(v, 4) for k, v in label_accuracy(images, labels, classifier).items()
        }
    print(
        f"classifier-FID {fid:.4f} (floor, train vs test: {floor:.4f}; ratio "
        f"{fid / floor:.2f}), class histogram {result['class_histogram']}"
    )
    if labels is not None:
        print(f"classified as the requested label: {result['label_accuracy']}")
    write_json(args.out / f"eval_{run_name(args)}.json", result)
    return result
