"""What ``scratch vae`` and ``scratch hvae`` share: ``train | sample | eval`` on MNIST.

``train`` runs the step's loop (a Trainer checkpoints after every epoch, ``--resume`` continues), then
writes the loss curve, an 8x8 grid of samples, reconstructions and a latent traversal. ``sample``
and ``eval`` load ``--checkpoint``, else ``OUT/checkpoint.npz``, else the demo's run, else the
shipped weights; ``eval`` reports the test ELBO, the IWAE estimate of log p(x) with k draws and the
active units, in ``KIND_eval.json``.
"""

import time

import numpy as np

from scratch import nn, pretrained
from scratch.data import MNIST, ArrayDataset, DataLoader
from scratch.data.toy import stand_in_digits
from scratch.errors import UserError
from scratch.optim import Adam
from scratch.train import CHECKPOINT, Trainer, restore
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

MNIST_FILES = {
    True: ["mnist/train-images-idx3-ubyte.gz"],
    False: ["mnist/t10k-images-idx3-ubyte.gz"],
}
QUICK = {"epochs": 3, "subset": 3000, "k": 50, "eval_n": 200}


def load_images(args, train: bool) -> tuple[np.ndarray, str]:
    """MNIST images (N, 784) in [0, 1] and their source; a generated stand-in only under
    --synthetic, or under --quick when the files are missing."""
    what = f"MNIST {'training' if train else 'test'} images"
    source = data_source(args, MNIST_FILES[train], what)
    if source is not None:
        return MNIST(train=train, flatten=True).data, source
    n = QUICK["subset"] if args.quick else 10000
    return stand_in_digits(n, np.random.default_rng(args.seed + train)), stand_in_label(what, None)


def make_parser_for(name: str, doc: str, lr: float, hidden_dim: int):
    parser = make_parser(name, doc, common=False)  # each action carries the common flags
    actions = add_actions(
        parser,
        {
            "train": "fit the model (a checkpoint after every epoch), then draw its figures",
            "sample": "an 8x8 grid of samples from a checkpoint",
            "eval": f"test ELBO, IWAE estimate of log p(x) and active units, in {name}_eval.json",
        },
        synthetic=True,
    )
    train = actions["train"]
    train.add_argument("--epochs", type=integer(1), help="epochs in all (default 30; --quick: 3)")
    train.add_argument("--batch-size", type=integer(1), default=32, help="the book's batch size")
    train.add_argument(
        "--lr", type=real(0, 1, open_low=True), default=lr, help="Adam's learning rate"
    )
    train.add_argument("--hidden-dim", type=integer(1), default=hidden_dim, help="hidden units")
    train.add_argument("--latent-dim", type=integer(1), default=20, help="latent units")
    train.add_argument(
        "--likelihood",
        choices=("gaussian", "bernoulli"),
        default="gaussian",
        help="gaussian: the book's squared-error loss; bernoulli: binarised MNIST, loss in nats",
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    train.add_argument(
        "--subset", type=integer(1), help="train on the first N images (default all; --quick: 3000)"
    )
    for action in ("sample", "eval"):
        actions[action].add_argument(
            "--checkpoint",
            default=None,
            help="the model to load (default: OUT/checkpoint.npz, else the demo's run "
            f"OUT/step0{7 if name == 'vae' else 8}_{name}, else the shipped pretrained weights)",
        )
    actions["eval"].add_argument(
        "--k", type=integer(1), help="IWAE draws per image (default 5000; --quick: 50)"
    )
    actions["eval"].add_argument(
        "--eval-n", type=integer(1, 10000), help="test images (default 10000; --quick: 200)"
    )
    return parser


def run(model_cls, name: str, doc: str, lr: float, hidden_dim: int, loop, argv) -> dict:
    """Parse the command line and run ``train`` (the default: the step's ``loop(model,
    optimizer, trainer)``), ``sample`` or ``eval``."""
    argv = list(argv or [])
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "train")
    args = parse(make_parser_for(name, doc, lr, hidden_dim), argv)
    if args.action == "train":
        quick_defaults(args, epochs=(30, QUICK["epochs"]))
        result = train(model_cls, name, loop, args)
        if args.quick:  # the demo's run also reports the bounds
            args.checkpoint, args.k, args.eval_n = (
                args.out / CHECKPOINT,
                QUICK["k"],
                QUICK["eval_n"],
            )
            result.update(evaluate(model_cls, name, args))
        return result
    if args.action == "sample":
        model = load(model_cls, name, args)
        png = grid(model.sample(64), args.out / f"{name}_samples_seed{args.seed}.png")
        print(f"wrote {png}")
        return {"samples": str(png)}
    quick_defaults(args, k=(5000, QUICK["k"]), eval_n=(10000, QUICK["eval_n"]))
    return evaluate(model_cls, name, args)


def build(model_cls, config: dict, seed: int):
    nn.init.manual_seed(seed)
    return model_cls(
        hidden_dim=config["hidden_dim"],
        latent_dim=config["latent_dim"],
        likelihood=config["likelihood"],
        rng=seed,
    )


def load(model_cls, name: str, args):
    """The model to sample or evaluate (see find_checkpoint), its config from the checkpoint."""
    from scratch import pretrained
    from scratch.checkpoint import load_checkpoint

    path, shipped = find_checkpoint(args, name)
    if shipped is not None:
        model = pretrained.load(shipped)
        model.rng = np.random.default_rng(args.seed)
        return model
    _, meta = load_checkpoint(path)
    check_kind(path, meta, name, args.action)
    model = build(model_cls, meta["config"], args.seed)
    restore(path, model)
    print(f"loaded {path} (epoch {meta['epoch']}, {meta['config']})")
    return model


def train(model_cls, name: str, loop, args) -> dict:
    x, source = load_images(args, train=True)
    if args.quick and args.subset is None:
        args.subset = QUICK["subset"]
    if args.subset is not None:
        if args.subset > len(x):
            raise UserError(f"--subset {args.subset}: there are only {len(x)} training images")
        x = x[: args.subset]
    config = {
        "model": name,
        "data": source,
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
    test = load_images(args, train=False)[0][:64]
    what = f"{name} ({args.likelihood}), epoch {len(history['loss'])}"
    if source.startswith("generated"):
        what += ", trained on generated rings and bars (no MNIST)"
    if args.quick:
        what += f"\n{quick_note(len(history['loss']) * len(loader))}"
    figures(model, test, args.out, what)
    return {
        "data": source,
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


def evaluate(model_cls, name: str, args) -> dict:
    """Test ELBO and IWAE(k) in nats per image (mean and standard error), active units."""
    model = load(model_cls, name, args)
    model.rng = np.random.default_rng(args.seed)
    x, source = load_images(args, train=False)
    if args.eval_n > len(x):
        raise UserError(f"--eval-n {args.eval_n}: there are only {len(x)} test images")
    x = x[: args.eval_n]
    if model.likelihood == "bernoulli":  # one fixed random binarisation of the test set
        x = (np.random.default_rng(12345).random(x.shape, dtype=np.float32) < x).astype(np.float32)
    tick = time.perf_counter()
    elbo = model.elbo(x)
    iwae = model.iwae_bound(x, args.k)
    seconds = time.perf_counter() - tick
    result = {
        "test_data": source,
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
    write_json(args.out / f"{name}_eval.json", result)
    return result
