"""What ``scratch vae`` and ``scratch hvae`` share: ``train | sample | eval`` on MNIST.

``train`` runs the step's loop (a Trainer checkpoints after every epoch, ``--resume`` continues), then
writes the loss curve, an 8x8 grid of samples, reconstructions and a latent traversal. ``sample``
and ``eval`` load ``OUT/checkpoint.npz``; ``eval`` reports the test ELBO, the IWAE estimate of
log p(x) with k draws and the active units, in ``eval.json``.
"""

import time

import numpy as np

from scratch import nn, pretrained
from scratch.data import MNIST, ArrayDataset, DataLoader, available
from scratch.data.toy import stand_in_digits
from scratch.optim import Adam
from scratch.train import CHECKPOINT, Trainer, restore
from scratch.viz import image_grid, quick_note

from . import _shipped
from ._common import have, make_parser, parse, write_json

MNIST_FILES = ("mnist/train-images-idx3-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz")
QUICK = {"epochs": 3, "subset": 3000, "k": 50, "eval_n": 200}


def load_images(train: bool, quick: bool, seed: int) -> np.ndarray:
    """MNIST images (N, 784) in [0, 1], or a generated stand-in when the files are absent."""
    if have(*MNIST_FILES):
        return MNIST(train=train, flatten=True).data
    return stand_in_digits(QUICK["subset"] if quick else 10000, np.random.default_rng(seed + train))


def make_parser_for(name: str, description: str, lr: float, hidden_dim: int):
    parser = make_parser(name, description)
    parser.add_argument("action", nargs="?", default="train", choices=("train", "sample", "eval"))
    parser.add_argument("--epochs", type=int, default=30, help="epochs in all (default 30)")
    parser.add_argument("--batch-size", type=int, default=32, help="default 32, the book's")
    parser.add_argument("--lr", type=float, default=lr, help=f"Adam's learning rate ({lr:g})")
    parser.add_argument("--hidden-dim", type=int, default=hidden_dim)
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument(
        "--likelihood",
        choices=("gaussian", "bernoulli"),
        default="gaussian",
        help="gaussian: the book's squared-error loss; bernoulli: binarised MNIST, loss in nats",
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images")
    parser.add_argument("--k", type=int, default=5000, help="IWAE draws per image (eval)")
    parser.add_argument("--eval-n", type=int, default=10000, help="test images to evaluate")
    return parser


def run(model_cls, name: str, description: str, lr: float, hidden_dim: int, loop, argv) -> dict:
    """Parse the command line and run ``train`` (the step's ``loop(model, optimizer, trainer)``),
    ``sample`` or ``eval``."""
    args = parse(make_parser_for(name, description, lr, hidden_dim), argv)
    if args.quick:
        args.epochs = min(args.epochs, QUICK["epochs"])
        args.subset = min(args.subset or QUICK["subset"], QUICK["subset"])
        args.k, args.eval_n = min(args.k, QUICK["k"]), min(args.eval_n, QUICK["eval_n"])
    for flag in ("epochs", "batch_size", "hidden_dim", "latent_dim", "k", "eval_n"):
        if getattr(args, flag) < 1:
            raise ValueError(
                f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}"
            )
    if args.action == "train":
        result = train(model_cls, name, loop, args)
        if args.quick:  # the demo's run also reports the bounds
            result.update(evaluate(model_cls, args))
        return result
    if args.action == "sample":
        model = load(model_cls, args)
        return {"samples": str(grid(model.sample(64), args.out / "samples.png"))}
    return evaluate(model_cls, args)


def build(model_cls, config: dict, seed: int):
    nn.init.manual_seed(seed)
    return model_cls(
        hidden_dim=config["hidden_dim"],
        latent_dim=config["latent_dim"],
        likelihood=config["likelihood"],
        rng=seed,
    )


def load(model_cls, args):
    """The model of ``OUT/checkpoint.npz`` (its config comes from the checkpoint)."""
    from scratch.checkpoint import load_checkpoint

    path = args.out / CHECKPOINT
    _, meta = load_checkpoint(path)
    model = build(model_cls, meta["config"], args.seed)
    restore(path, model)
    print(f"loaded {path} (epoch {meta['epoch']}, {meta['config']})")
    return model


def train(model_cls, name: str, loop, args) -> dict:
    x = load_images(True, args.quick, args.seed)
    if args.subset is not None:
        x = x[: args.subset]
    config = {
        "model": name,
        "likelihood": args.likelihood,
        "hidden_dim": args.hidden_dim,
        "latent_dim": args.latent_dim,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "images": len(x),
    }
    model = build(model_cls, config, args.seed)
    optimizer = Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(ArrayDataset(x), args.batch_size, shuffle=True, seed=args.seed)
    print(f"{name}: {len(x)} images, {args.epochs} epochs, {config}")
    trainer = Trainer(model, optimizer, loader, args.epochs, args.out, rng=model.rng,
                      resume=args.resume, config=config, desc=name,
                      title=loss_title(name, args, len(loader)))  # fmt: skip
    loop(model, optimizer, trainer)
    history = trainer.history
    test = load_images(False, args.quick, args.seed)[:64]
    what = f"{name} ({args.likelihood}), epoch {len(history['loss'])}"
    if not all(available(f) for f in MNIST_FILES):
        what += ", trained on generated rings and bars (no MNIST)"
    if args.quick:
        what += f"\n{quick_note(len(history['loss']) * len(loader))}"
    figures(model, test, args.out, what)
    return {
        "epochs": len(history["loss"]),
        "loss_first": round(history["loss"][0], 4),
        "loss_last": round(history["loss"][-1], 4),
        "seconds_per_epoch": round(float(np.median(history["seconds"])), 2),
    }


def loss_title(name: str, args, batches: int) -> str:
    """The loss plot's title; in --quick it says how many steps the model was trained for."""
    return f"{name}: training loss" + (
        f"\n{quick_note(args.epochs * batches)}" if args.quick else ""
    )


def grid(images: np.ndarray, path, **titles):
    """Save (N, 784) images as 28x28 tiles, 8 per row (``titles``: image_grid's)."""
    return image_grid(images.reshape(len(images), 28, 28), path, **titles)


def figures(model, x: np.ndarray, out, what: str) -> None:
    """samples.png (8x8), reconstructions.png (originals over their reconstructions) and
    traversal.png (each row moves one of the 8 most active latent units from -3 to 3), titled
    with ``what`` model they show."""
    grid(model.sample(64), out / "samples.png", title=f"{what}\n{sample_note(model)}")
    pairs = np.concatenate([x[:8], model.reconstruct(x[:8])])
    grid(pairs, out / "reconstructions.png", title=f"reconstructions: {what}",
         row_labels=["test image", "reconstructed"])  # fmt: skip
    mu = model.encode_mean(x)  # (N, Z)
    units = np.argsort(-mu.var(axis=0))[:8]
    z = np.repeat(mu[:1], 64, axis=0)  # (64, Z), all the first image's code
    for row, u in enumerate(units):
        z[row * 8 : row * 8 + 8, u] = np.linspace(-3, 3, 8)
    title = (
        f"latent traversal: each row moves one unit from -3 to 3 about a test image's code\n{what}"
    )
    grid(model.decode_mean(z), out / "traversal.png", title=title,
         row_labels=[f"{latent_name(model)}[{u}]" for u in units])  # fmt: skip
    print(f"figures: {out}/samples.png, reconstructions.png, traversal.png, loss.png")


def sample_note(model) -> str:
    """How ``model.sample`` draws its images."""
    if latent_name(model) == "z1":
        return "64 samples: z2 ~ N(0, I), z1 ~ N(z_hat(z2), I), x = E[x | z1]"
    return "64 samples: z ~ N(0, I), x = E[x | z]"


def latent_name(model) -> str:
    """'z1' for the hierarchical VAE (its images' latent), 'z' for the VAE."""
    return "z1" if hasattr(model, "decoder2") else "z"


def shipped_figures(name: str, out, seed: int) -> dict:
    """shipped_samples.png: 64 samples of the shipped model ``name`` (scratch.pretrained)."""
    model = pretrained.load(name)
    model.rng = np.random.default_rng(seed)
    what = f"{name} ({model.likelihood}), {_shipped.note(name)}"
    png = grid(model.sample(64), out / "shipped_samples.png", title=f"{what}\n{sample_note(model)}")
    print(f"shipped model {name}: samples -> {png}")
    return {"shipped_samples": str(png), "shipped": _shipped.note(name)}


def evaluate(model_cls, args) -> dict:
    """Test ELBO and IWAE(k) in nats per image (mean and standard error), active units."""
    model = load(model_cls, args)
    model.rng = np.random.default_rng(args.seed)
    x = load_images(False, args.quick, args.seed)[: args.eval_n]
    if model.likelihood == "bernoulli":  # one fixed random binarisation of the test set
        x = (np.random.default_rng(12345).random(x.shape, dtype=np.float32) < x).astype(np.float32)
    tick = time.perf_counter()
    elbo = model.elbo(x)
    iwae = model.iwae_bound(x, args.k)
    seconds = time.perf_counter() - tick
    result = {
        "likelihood": model.likelihood,
        "images": len(x),
        "k": args.k,
        "elbo": round(float(elbo.mean()), 3),
        "elbo_se": round(float(elbo.std() / np.sqrt(len(x))), 3),
        "iwae": round(float(iwae.mean()), 3),
        "iwae_se": round(float(iwae.std() / np.sqrt(len(x))), 3),
        "active_units": model.active_units(x),
        "eval_seconds": round(seconds, 1),
    }
    print(
        f"test ({len(x)} images): ELBO {result['elbo']:.3f} nats, IWAE(k={args.k}) "
        f"{result['iwae']:.3f} nats (so NLL <= {-result['iwae']:.3f}), active units "
        f"{result['active_units']}, {seconds:.1f} s"
    )
    write_json(args.out / "eval.json", result)
    return result
