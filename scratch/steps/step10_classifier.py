"""``scratch classifier``: train the small MNIST CNN whose penultimate features define the
classifier-FID (Adam 1e-3, batch 128, 8 epochs, seed 0: 99.13% test accuracy); writes
history.json, loss.png and the float16 weights ``mnist_classifier.npz`` (copy it to scratch/eval/
to ship it)."""

import numpy as np

from scratch.autograd import Tensor
from scratch.data import MNIST, ArrayDataset, DataLoader
from scratch.data.toy import stand_in_digits
from scratch.eval.classifier import MNISTClassifier, load_classifier, save_classifier
from scratch.nn import functional as F
from scratch.nn import init
from scratch.optim import Adam
from scratch.train import fit

from ._common import (
    data_source,
    integer,
    make_parser,
    parse,
    quick_defaults,
    real,
    stand_in_label,
    write_json,
)

MNIST_FILES = [
    f"mnist/{s}-{k}-idx{d}-ubyte.gz"
    for s in ("train", "t10k")
    for k, d in (("images", 3), ("labels", 1))
]


def stand_in(n: int, seed: int) -> ArrayDataset:
    """Generated digits (:func:`scratch.data.toy.stand_in_digits`): rings and bars whose shape and
    size the label sets."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    x = stand_in_digits(n, rng, labels).reshape(n, 1, 28, 28)
    return ArrayDataset(x, labels.astype(np.int64))


def main(argv=None) -> dict:
    parser = make_parser("classifier", __doc__, synthetic=True)
    parser.add_argument("--epochs", type=integer(1), help="epochs in all (default 8; --quick: 1)")
    parser.add_argument("--batch-size", type=integer(1), default=128, help="images per step")
    parser.add_argument(
        "--lr", type=real(0, open_low=True), default=1e-3, help="Adam's learning rate"
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    args = parse(parser, argv)
    quick_defaults(args, epochs=(8, 1))
    source = data_source(args, MNIST_FILES, "MNIST")
    if source is not None:
        train, test = MNIST(train=True), MNIST(train=False)
    else:
        train, test = stand_in(2000, args.seed), stand_in(500, args.seed + 1)
    if args.quick:  # 1,000 images
        train = ArrayDataset(*(a[:1000] for a in train.arrays))
        test = ArrayDataset(*(a[:1000] for a in test.arrays))
    init.manual_seed(args.seed)
    model = MNISTClassifier()
    optimizer = Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    config = {
        "model": "classifier",
        "data": stand_in_label("MNIST", source),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "n_train": len(train),
    }

    def loss_fn(batch):
        x, t = batch
        return F.cross_entropy(model(Tensor(x)), t)

    history = fit(
        loss_fn,
        model,
        optimizer,
        loader,
        epochs=args.epochs,
        out=args.out,
        resume=args.resume,
        config=config,
        desc="classifier",
    )
    x_test, t_test = test.arrays
    accuracy = float((model.predict(x_test) == t_test).mean())
    path = save_classifier(model, args.out / "mnist_classifier.npz")
    shipped = float((load_classifier(path).predict(x_test) == t_test).mean())
    print(f"test accuracy {accuracy:.4f} (float32), {shipped:.4f} (float16 weights in {path})")
    result = {
        "test_accuracy": accuracy,
        "test_accuracy_float16": shipped,
        "n_test": len(t_test),
        "final_loss": history["loss"][-1],
        "epochs": args.epochs,
    }
    write_json(args.out / "classifier.json", {**result, "config": config, **history})
    return result
