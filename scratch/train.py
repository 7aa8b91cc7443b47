"""The training loop shared by the models: epochs of mini-batch steps with a progress bar, a
checkpoint after every epoch, exact resume, ``history.json`` and a loss-curve PNG.

A step shows the book's loop and lets a :class:`Trainer` keep the books::

    trainer = Trainer(model, optimizer, loader, epochs=30, out="runs/vae", rng=model.rng)
    for epoch in trainer.epochs():
        for (x,) in trainer.batches():
            optimizer.zero_grad()
            loss = model.get_loss(x)
            loss.backward()
            optimizer.step()
            trainer.log(loss)

and :func:`fit` is that loop for a given ``loss_fn(batch)``. The checkpoint ``out/checkpoint.npz``
holds the model's state_dict (``model.<name>``), the optimizer's (``optimizer.state.<i>.<name>``:
Adam's moments and step counts) and, as metadata, the finished epochs, the state of ``rng`` (the
model's noise) and the history. Since the loader's order of epoch e depends only on (seed, e), a
run resumed after epoch e continues exactly as the uninterrupted run would have: the parameters
agree bit for bit. Long epochs (the U-Net's) are also checkpointed mid-epoch every ``save_every``
seconds, with the number of batches done: a resume skips those batches of the epoch's order, so a
run cut off by a time limit loses at most ``save_every`` seconds and still continues bit for bit.
"""

import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scratch.checkpoint import load_checkpoint, save_checkpoint
from scratch.errors import UserError

CHECKPOINT = "checkpoint.npz"


class TrainingDiverged(UserError, RuntimeError):
    """The loss became NaN or infinite (a learning rate too large, most often)."""


class Trainer:
    """The books of a training run: which epochs and batches are left (after ``resume``), the
    loss history, the checkpoints (after every epoch, and every ``save_every`` seconds mid-epoch)
    and the stop on a NaN loss. ``epochs`` counts the epochs in all, those in a resumed checkpoint
    included. ``config`` (JSON) is stored in the checkpoint and history so that ``sample`` and
    ``eval`` can rebuild the model. ``max_steps`` cuts every epoch short (quick runs). ``title``
    heads the loss plot (default: '<desc>: training loss')."""

    def __init__(
        self,
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
    ):
        if not isinstance(epochs, int | np.integer) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs}")
        self.model, self.optimizer, self.loader, self.rng = model, optimizer, loader, rng
        self.num_epochs, self.config, self.max_steps = int(epochs), config, max_steps
        self.desc, self.save_every = desc, save_every
        self.title = title or f"{desc}: training loss"
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.path = self.out / CHECKPOINT
        self.history = {"epoch": [], "loss": [], "seconds": []}
        self.start, self.epoch = 0, 0
        # the unfinished epoch's progress: batches done, their summed loss, seconds spent
        self.count, self.total, self.done_seconds = 0, 0.0, 0.0
        if resume and self.path.exists():
            check_settings(self.path, config)
            meta = restore(self.path, model, optimizer, rng)
            self.start, self.history = meta["epoch"], meta["history"]
            self.count, self.total = meta["step"], meta["step_loss"]
            self.done_seconds = meta["step_seconds"]
            step = f", step {self.count}" if self.count else ""
            print(f"resumed from {self.path} after epoch {self.start}{step}")
        elif resume:
            print(f"no checkpoint at {self.path}: starting from scratch")

    def epochs(self):
        """Yield the epochs left (1-based); after each, record it, checkpoint and write the history."""
        for epoch in range(self.start + 1, self.num_epochs + 1):
            self.epoch = epoch
            self.loader.epoch = epoch - 1
            self.tick = time.perf_counter()
            whole = self.count == 0  # not resumed mid-way: every step's loss will be logged
            self.step_losses = []  # this epoch's, for the loss plot of a one-epoch run
            yield epoch
            seconds = self.done_seconds + time.perf_counter() - self.tick
            mean = self.total / max(self.count, 1)
            self.history["epoch"].append(epoch)
            self.history["loss"].append(mean)
            self.history["seconds"].append(seconds)
            self.count, self.total, self.done_seconds = 0, 0.0, 0.0
            print(f"epoch {epoch}: loss {mean:.4f} ({seconds:.1f} s)")
            self.save(epoch)
            steps = self.step_losses if whole else None
            write_history(self.out, self.history, self.config, self.title, steps)
        print(f"wrote {self.path}, {self.out / 'history.json'}, {self.out / 'loss.png'}")

    def batches(self):
        """Yield the current epoch's batches not done yet, with a progress bar; after a batch's
        step, checkpoint mid-epoch when ``save_every`` seconds have passed since the last save."""
        n = len(self.loader) if self.max_steps is None else min(len(self.loader), self.max_steps)
        last_save = time.perf_counter()
        desc = f"{self.desc} epoch {self.epoch}/{self.num_epochs}"
        with tqdm(total=n, initial=self.count, desc=desc, mininterval=1.0) as self.bar:
            for batch in itertools.islice(self.loader, self.count, n):
                yield batch
                self.count += 1
                self.bar.update()
                now = time.perf_counter()
                if now - last_save >= self.save_every and self.count < n:
                    progress = (self.count, self.total, self.done_seconds + now - self.tick)
                    self.save(self.epoch - 1, progress)
                    last_save = now

    def log(self, loss) -> float:
        """Add a batch's loss (a Tensor) to the epoch's mean; stop if it is NaN or infinite."""
        value = loss.item()
        if not math.isfinite(value):
            saved = (
                f"the last checkpoint is saved in {self.path}"
                if self.path.exists()
                else "nothing was checkpointed yet"
            )
            raise TrainingDiverged(
                f"the loss became {value} at epoch {self.epoch}, step {self.count + 1}; {saved}. "
                "Try a smaller learning rate."
            )
        self.total += value
        self.step_losses.append(value)
        if (self.count + 1) % 100 == 0:
            self.bar.set_postfix(loss=f"{self.total / (self.count + 1):.4f}", refresh=False)
        return value

    def save(self, epoch: int, progress=(0, 0.0, 0.0)) -> Path:
        return save(self.path, self.model, self.optimizer, self.rng, epoch, self.history,
                    self.config, progress)  # fmt: skip


def fit(loss_fn, model, optimizer, loader, epochs: int, out, **options) -> dict:
    """Train with :class:`Trainer` (``options`` are its own) on the loss ``loss_fn(batch)``;
    return the history {'epoch': [...], 'loss': [...], 'seconds': [...]} (loss: the mean over the
    epoch's batches)."""
    trainer = Trainer(model, optimizer, loader, epochs, out, **options)
    for _ in trainer.epochs():
        for batch in trainer.batches():
            optimizer.zero_grad()
            loss = loss_fn(batch)
            loss.backward()
            optimizer.step()
            trainer.log(loss)
    return trainer.history


def check_settings(path, config: dict | None) -> None:
    """A UserError naming the saved settings when a resume asks for other ones (the number of
    epochs in all may differ: that is what a resume is for)."""
    saved = load_checkpoint(path)[1].get("config", {})
    given = config or {}
    differ = sorted(
        k for k in saved.keys() & given.keys() if k != "epochs" and saved[k] != given[k]
    )
    if differ:
        was = ", ".join(f"{k}={saved[k]!r}" for k in differ)
        now = ", ".join(f"{k}={given[k]!r}" for k in differ)
        raise UserError(
            f"{path} was trained with {was}, not {now}: resume with the saved settings, "
            "or train into a new --out"
        )


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
        ax.set(xlabel="step (of the one epoch)", ylabel="training loss (per batch)")
    else:
        ax.plot(history["epoch"], history["loss"], marker="o")
        ax.set(xlabel="epoch", ylabel="training loss (mean over the epoch)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title or f"{out.name}: training loss", fontsize=9)
    save(fig, out / "loss.png")
