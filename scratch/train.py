"""The training loop shared by the models: epochs of mini-batch steps with a progress bar, a
checkpoint after every epoch, exact resume, ``history.json`` and a loss-curve PNG.

    history = fit(lambda batch: model.get_loss(batch[0]), model, optimizer, loader,
                  epochs=30, out="runs/vae", rng=model.rng, resume=True)

One step is ``optimizer.zero_grad(); loss = loss_fn(batch); loss.backward(); optimizer.step()``.
The checkpoint ``out/checkpoint.npz`` holds the model's state_dict (``model.<name>``), the
optimizer's (``optimizer.state.<i>.<name>``: Adam's moments and step counts) and, as metadata,
the finished epochs, the state of ``rng`` (the model's noise) and the history. Since the loader's
order of epoch e depends only on (seed, e), a run resumed after epoch e continues exactly as the
uninterrupted run would have: the parameters agree bit for bit.
"""

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
) -> dict:
    """Train for ``epochs`` epochs in all (counting those in a resumed checkpoint); return the
    history {'epoch': [...], 'loss': [...], 'seconds': [...]} (loss: the mean over the epoch's
    batches). ``config`` (JSON) is stored in the checkpoint and history so that ``sample`` and
    ``eval`` can rebuild the model. ``max_steps`` cuts every epoch short (quick runs)."""
    if epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CHECKPOINT
    history = {"epoch": [], "loss": [], "seconds": []}
    start = 0
    if resume and path.exists():
        start, history = restore(path, model, optimizer, rng)
        loader.epoch = start
        print(f"resumed from {path} after epoch {start}")
    elif resume:
        print(f"no checkpoint at {path}: starting from scratch")
    for epoch in range(start + 1, epochs + 1):
        loader.epoch = epoch - 1
        tick = time.perf_counter()
        total, count = 0.0, 0
        n = len(loader) if max_steps is None else min(len(loader), max_steps)
        with tqdm(total=n, desc=f"{desc} epoch {epoch}/{epochs}", mininterval=1.0) as bar:
            for batch in loader:
                optimizer.zero_grad()
                loss = loss_fn(batch)
                value = loss.item()
                if not math.isfinite(value):
                    saved = (
                        f"the last finished epoch is saved in {path}"
                        if path.exists()
                        else "no epoch finished, so there is no checkpoint"
                    )
                    raise TrainingDiverged(
                        f"the loss became {value} at epoch {epoch}, step {count + 1}; {saved}. "
                        "Try a smaller learning rate."
                    )
                loss.backward()
                optimizer.step()
                total += value
                count += 1
                bar.update()
                if count % 100 == 0:
                    bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
                if count == n:
                    break
        history["epoch"].append(epoch)
        history["loss"].append(total / count)
        history["seconds"].append(time.perf_counter() - tick)
        print(f"epoch {epoch}: loss {total / count:.4f} ({history['seconds'][-1]:.1f} s)")
        save(path, model, optimizer, rng, epoch, history, config)
        write_history(out, history, config)
    return history


def save(path, model, optimizer, rng, epoch: int, history: dict, config: dict | None) -> Path:
    """Write the checkpoint atomically (temporary file, then rename)."""
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state.update({f"optimizer.{k}": v for k, v in optimizer.state_dict().items()})
    return save_checkpoint(
        path,
        state,
        epoch=epoch,
        history=history,
        config=config or {},
        rng=None if rng is None else rng.bit_generator.state,
    )


def split_state(state: dict) -> tuple[dict, dict]:
    """A checkpoint's arrays as (model state_dict, optimizer state_dict)."""
    model = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
    opt = {k[len("optimizer.") :]: v for k, v in state.items() if k.startswith("optimizer.")}
    return model, opt


def restore(path, model, optimizer=None, rng=None) -> tuple[int, dict]:
    """Load a checkpoint into ``model`` (and ``optimizer``, ``rng`` when given):
    returns (finished epochs, history)."""
    state, meta = load_checkpoint(path)
    model_state, opt_state = split_state(state)
    model.load_state_dict(model_state)
    if optimizer is not None:
        optimizer.load_state_dict(opt_state)
    if rng is not None and meta.get("rng") is not None:
        rng.bit_generator.state = meta["rng"]
    return meta["epoch"], meta["history"]


def write_history(out: Path, history: dict, config: dict | None) -> None:
    """``history.json`` (loss and seconds per epoch, and the config) and ``loss.png``."""
    from scratch.viz import plt, save  # matplotlib only when a run writes its figures

    record = {"config": config or {}, **history}
    (out / "history.json").write_text(json.dumps(record, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(history["epoch"], history["loss"], marker="o")
    ax.set(xlabel="epoch", ylabel="training loss (mean over the epoch)", title=out.name)
    save(fig, out / "loss.png")
