"""Sampling a trained diffusion checkpoint at scale: the model rebuilt from the checkpoint's
config (with the EMA's averaged weights when saved), thousands of images drawn in chunks that an
interrupted run resumes, and their classifier-FID beside the real-against-real floor."""

import numpy as np

from scratch import nn
from scratch.checkpoint import load_checkpoint, save_checkpoint
from scratch.errors import UserError
from scratch.models.diffusion import Diffuser
from scratch.models.ema import EMA, split_ema
from scratch.models.unet import UNet, UNetCond
from scratch.train import split_state

NUM_LABELS = 10
DATA_RANGES = {"01": (0.0, 1.0), "pm1": (-1.0, 1.0)}


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
        except ValueError as e:  # the class kept: an UncorrectedEMA stays one
            raise type(e)(f"{path}: {e}") from None
        averages.copy_to(model)
    print(f"loaded {path} (epoch {meta['epoch']}, {'EMA weights, ' if averaged else ''}{config})")
    return model, diffuser, config, meta["epoch"]


def generate(
    model,
    diffuser,
    n: int,
    labels=None,
    chunk: int = 500,
    seed: int = 0,
    progress=None,
    settings: dict | None = None,
    resume: bool = False,
    **options,
) -> np.ndarray:
    """n images (n, 1, 28, 28) in [0, 1] drawn with ``diffuser.sample(model, ..., **options)`` in
    batches of ``chunk``, with ``labels`` (n,) when conditional.

    Chunk k draws its noise from the seed (seed, k), and every finished chunk is saved to the
    ``progress`` file with ``settings``, so ``resume`` continues an interrupted run (10,000 DDPM
    samples take hours) and gives the images an uninterrupted run would."""
    images, done = np.empty((n, 1, 28, 28), dtype=np.float32), 0
    if resume and progress is not None and progress.exists():
        saved, meta = load_checkpoint(progress)
        if meta.get("settings") != settings:
            raise UserError(
                f"{progress} holds samples drawn with {meta.get('settings')}, not {settings}: "
                "delete it, or start afresh without resuming"
            )
        done = meta["done"]
        images[:done] = saved["images"]
        print(f"resuming from {progress}: {done} of {n} images done")
    for start in range(done, n, chunk):
        stop = min(start + chunk, n)
        x = diffuser.sample(
            model,
            (stop - start, 1, 28, 28),
            labels=None if labels is None else labels[start:stop],
            rng=np.random.default_rng([seed, start // chunk]),
            **options,
        )
        images[start:stop] = diffuser.to_images(x)
        if progress is not None:
            save_checkpoint(progress, {"images": images[:stop]}, settings=settings, done=stop)
    return images


def rms_distance(images: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(n,) per-image RMS distance sqrt(mean_pixels (x_i - r_i)^2) between paired images."""
    n = len(images)
    return np.sqrt(((images - reference) ** 2).reshape(n, -1).mean(axis=1))


def quality(images: np.ndarray, labels=None) -> dict:
    """Classifier-FID of ``images`` against all MNIST test images, beside the floor (as many
    training images against the same), the class histogram and, with ``labels``, how often each
    requested label is recognised."""
    from scratch.eval.classifier import load_classifier
    from scratch.eval.fid import (
        class_histogram,
        fid_floor,
        fid_to_test,
        label_accuracy,
        reference_stats,
    )

    classifier = load_classifier()
    reference = reference_stats(classifier)
    fid = fid_to_test(images, classifier, reference)
    floor = fid_floor(classifier, n=len(images), reference=reference)["fid"]
    result = {
        "fid": round(fid, 4),
        "fid_floor": round(floor, 4),
        "fid_over_floor": round(fid / floor, 3),
        "class_histogram": class_histogram(images, classifier).tolist(),
    }
    if labels is not None:
        result["label_accuracy"] = {
            k: round(v, 4) for k, v in label_accuracy(images, labels, classifier).items()
        }
    return result
