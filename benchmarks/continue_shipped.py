"""A resumable run folder from a shipped diffusion model's weights, for when the run's own
checkpoint is gone (``runs/`` is not committed, and the machine that held it was replaced).

    python benchmarks/continue_shipped.py unet_cond RUN
    scratch diffusion train --conditional --ema --seed 0 --out RUN --resume

The shipped file holds only the EMA's averaged weights (with their BatchNorm statistics). They
become both the model's weights and the EMA's; Adam starts with zero moments, and the rng that
draws t, the noise and the dropped labels is seeded anew with [seed, epoch]. The data order is
unchanged (the loader's shuffle depends only on the seed and the epoch). The manifest's loss
history is carried over, so the resumed run counts epochs from where the shipped model stopped.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from scratch import pretrained
from scratch.checkpoint import save_checkpoint
from scratch.eval.sampling import build
from scratch.models.ema import EMA
from scratch.optim import Adam
from scratch.train import CHECKPOINT


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=["unet", "unet_cond"])
    parser.add_argument("out", type=Path, help="the run folder to create")
    args = parser.parse_args(argv)
    info = pretrained.info(args.name)
    config = {k: v for k, v in info["run_config"].items() if k != "data"}
    model, _ = build(config, config["seed"])
    model.load_state_dict(pretrained.load(args.name).state_dict())
    model.train()
    optimizer = Adam(model.parameters(), lr=config["lr"])
    history = info["history"]["history"]
    epoch = history["epoch"][-1]
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state.update({f"optimizer.{k}": v for k, v in optimizer.state_dict().items()})
    state.update({f"optimizer.ema.{k}": v for k, v in EMA(model).state_dict().items()})
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([config["seed"], epoch])
    path = save_checkpoint(args.out / CHECKPOINT, state, epoch=epoch, step=0, step_loss=0.0,
                           step_seconds=0.0, history=history, config=config,
                           rng=rng.bit_generator.state)  # fmt: skip
    (args.out / "continued_from.json").write_text(
        json.dumps({"shipped": args.name, "sha256": info["sha256"], "epoch": epoch}, indent=2)
        + "\n"
    )
    print(f"wrote {path}: {args.name}'s shipped weights after epoch {epoch}, fresh Adam moments")


if __name__ == "__main__":
    main()
