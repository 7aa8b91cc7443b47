"""The training loop shared by the models: epochs of mini-batch steps with a progress bar, a
checkpoint after every epoch, exact resume, ``history.json`` and a loss-curve PNG.

    history = fit(lambda batch: model.get_loss(batch[0]), model, optimizer, loader,
                  epochs=30, out="runs/vae", rng=model.rng, resume=True)

One step is ``optimizer.zero_grad(); loss = loss_fn(batch); loss.backward(); optimizer.step()``.
The checkpoint ``out/checkpoint.npz`` holds the model's state_dict (``model.<name>``), the
optimizer's (``optimizer.state.<i>.<name>``: Adam's moments and step counts) and, as metadata,
the finished epochs, the state of ``rng`` (the model's noise) and the history. Since the loader's
order of epoch e depends only on (seed, e), a run resumed after epoch e continues exactly as the
uninterrupted run would have: the parameters agree bit for bit. Long epochs (the U-Net's) are
also checkpointed mid-epoch every ``save_every`` seconds, with the number of batches done: a
resume skips those batches of the epoch's order, so a run cut off by a time limit loses at most
``save_every`` seconds and still continues bit for bit.
"""

import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scratch.checkpoint import load_checkpoint, save_checkpoint

CHECKPOINT = "checkpoint.npz"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def fit(
    loss_fn,
    model,
    optimizer,
    loader,
    epochs: int,
    out,
    rng: np.random.Generator | None = None,
    resume: bool = False,
    config: dict | None = None,
    max_steps: int | None = None,
    desc: str = "train",
    save_every: float = 600.0,
    title: str | None = None,
) -> dict:
    """Train for ``epochs`` epochs in all (counting those in a resumed checkpoint); return the
    history {'epoch': [...], 'loss': [...], 'seconds': [...]} (loss: the mean over the epoch's
    batches). ``config`` (JSON) is stored in the checkpoint and history so that ``sample`` and
    ``eval`` can rebuild the model. ``max_steps`` cuts every epoch short (quick runs). ``title``
    heads the loss plot (default: ``desc``)."""
    if epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CHECKPOINT
    history = {"epoch": [], "loss": [], "seconds": []}
    start, done, done_loss, done_seconds = 0, 0, 0.0, 0.0  # a mid-epoch checkpoint's progress
    if resume and path.exists():
        meta = restore(path, model, optimizer, rng)
        start, history = meta["epoch"], meta["history"]
        done, done_loss, done_seconds = meta["step"], meta["step_loss"], meta["step_seconds"]
        print(f"resumed from {path} after epoch {start}" + (f", step {done}" if done else ""))
    elif resume:
        print(f"no checkpoint at {path}: starting from scratch")
    for epoch in range(start + 1, epochs + 1):
        loader.epoch = epoch - 1
        tick = last_save = time.perf_counter()
        total, count = done_loss, done  # nonzero only in an epoch resumed mid-way
        step_losses = []  # this epoch's, for the loss plot of a one-epoch run
        n = len(loader) if max_steps is None else min(len(loader), max_steps)
        with tqdm(
            total=n, initial=count, desc=f"{desc} epoch {epoch}/{epochs}", mininterval=1.0
        ) as bar:
            for batch in itertools.islice(loader, count, n):
                optimizer.zero_grad()
                loss = loss_fn(batch)
                value = loss.item()
                if not math.isfinite(value):
                    saved = (
                        f"the last checkpoint is saved in {path}"
                        if path.exists()
                        else "nothing was checkpointed yet"
                    )
                    raise TrainingDiverged(
                        f"the loss became {value} at epoch {epoch}, step {count + 1}; {saved}. "
                        "Try a smaller learning rate."
                    )
                loss.backward()
                optimizer.step()
                total += value
                count += 1
                step_losses.append(value)
                bar.update()
                if count % 100 == 0:
                    bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
                now = time.perf_counter()
                if now - last_save >= save_every and count < n:
                    progress = (count, total, done_seconds + now - tick)
                    save(path, model, optimizer, rng, epoch - 1, history, config, progress)
                    last_save = now
        history["epoch"].append(epoch)
        history["loss"].append(total / count)
        history["seconds"].append(done_seconds + time.perf_counter() - tick)
        done, done_loss, done_seconds = 0, 0.0, 0.0
        print(f"epoch {epoch}: loss {total / count:.4f} ({history['seconds'][-1]:.1f} s)")
        save(path, model, optimizer, rng, epoch, history, config)
        whole = len(step_losses) == count  # not resumed mid-way: every step's loss is here
        write_history(
            out, history, config, title or f"{desc}: training loss", step_losses if whole else None
        )
    return history


def save(
    path,
    model,
    optimizer,
    rng,
    epoch: int,
    history: dict,
    config: dict | None,
    progress=(0, 0.0, 0.0),
) -> Path:
    """Write the checkpoint atomically (temporary file, then rename). ``progress`` is (batches
    done, their summed loss, seconds) of the unfinished epoch ``epoch + 1``, for a mid-epoch save."""
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state.update({f"optimizer.{k}": v for k, v in optimizer.state_dict().items()})
    return save_checkpoint(
        path,
        state,
        epoch=epoch,
        step=progress[0],
        step_loss=progress[1],
        step_seconds=progress[2],
        history=history,
        config=config or {},
        rng=None if rng is None else rng.bit_generator.state,
    )


def split_state(state: dict) -> tuple[dict, dict]:
    """A checkpoint's arrays as (model state_dict, optimizer state_dict)."""
    model = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
    opt = {k[len("optimizer.") :]: v for k, v in state.items() if k.startswith("optimizer.")}
    return model, opt


def restore(path, model, optimizer=None, rng=None) -> dict:
    """Load a checkpoint into ``model`` (and ``optimizer``, ``rng`` when given); return its metadata:
    finished ``epoch``, ``history``, ``config`` and the unfinished epoch's ``step`` progress."""
    state, meta = load_checkpoint(path)
    model_state, opt_state = split_state(state)
    model.load_state_dict(model_state)
    if optimizer is not None:
        optimizer.load_state_dict(opt_state)
    if rng is not None and meta.get("rng") is not None:
        rng.bit_generator.state = meta["rng"]
    return {"step": 0, "step_loss": 0.0, "step_seconds": 0.0, **meta}


def write_history(
    out: Path, history: dict, config: dict | None, title: str | None = None, step_losses=None
) -> None:
    """``history.json`` (loss and seconds per epoch, and the config) and ``loss.png``: the loss per
    epoch, or per step when there is one epoch and ``step_losses`` holds its steps' losses."""
    from matplotlib.ticker import MaxNLocator

    from scratch.viz import plt, save  # matplotlib only when a run writes its figures

    record = {"config": config or {}, **history}
    (out / "history.json").write_text(json.dumps(record, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if len(history["epoch"]) == 1 and step_losses:
        ax.plot(np.arange(1, len(step_losses) + 1), step_losses, marker=".")
        ax.set(xlabel="step (one epoch)", ylabel="training loss (per batch)")
    else:
        ax.plot(history["epoch"], history["loss"], marker="o")
        ax.set(xlabel="epoch", ylabel="training loss (mean over the epoch)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title or out.name, fontsize=9)
    save(fig, out / "loss.png")
