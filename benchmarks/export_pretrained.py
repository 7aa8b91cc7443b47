"""Turn a finished training run into shipped weights: ``scratch/pretrained/NAME.npz`` (float16) and
its manifest ``NAME.json``.

    python benchmarks/export_pretrained.py vae RUN/checkpoint.npz \
        --command "scratch vae train --seed 0" --commit SHA --metrics RUN/vae_eval.json
    python benchmarks/export_pretrained.py unet --add-metrics RESULTS/pretrained_unet.json

The second form leaves the weights alone and merges metrics measured later (on the shipped
weights, by ``eval_pretrained.py``) into the manifest, after checking that each metric file names
the shipped file's sha256.

The manifest records the command, seed, commit and data source, the loss per epoch, the metrics
(merged from the ``--metrics`` JSON files), the sha256 of the weight file, and the float32 model's
outputs on ``scratch.pretrained.reference_input`` before rounding, so a test can hold the float16
weights to them.
"""

import argparse
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from scratch import pretrained
from scratch.checkpoint import load_checkpoint
from scratch.data.store import REGISTRY
from scratch.train import split_state

MNIST = ("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz")


def atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)  # package data: mkstemp's 0600 would hide it from other users
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def trained_model(kind: str, checkpoint: Path):
    """(float32 model in eval mode, constructor config, run metadata, diffuser settings or None)."""
    if kind in ("unet", "unet_cond"):
        from scratch.eval.sampling import load  # the EMA's weights, as `sample` uses

        model, diffuser, run_config, _ = load(checkpoint, seed=0)
        _, meta = load_checkpoint(checkpoint)
        settings = {
            "num_timesteps": diffuser.num_timesteps,
            "schedule": diffuser.schedule,
            "data_range": list(diffuser.data_range),
        }
        if diffuser.schedule == "linear":
            settings.update(beta_start=float(diffuser.betas[0]), beta_end=float(diffuser.betas[-1]))
        return model.eval(), {"channels": list(run_config["channels"])}, meta, settings
    state, meta = load_checkpoint(checkpoint)
    config = meta["config"]
    model = pretrained.build(kind, config)
    model.load_state_dict(split_state(state)[0])
    settings = {"num_timesteps": 1000, "schedule": "linear"} if kind == "toy2d" else None
    keep = ("hidden",) if kind == "toy2d" else ("hidden_dim", "latent_dim", "likelihood")
    return model.eval(), {k: config[k] for k in keep}, meta, settings


def add_metrics(name: str, paths: list[Path]) -> None:
    """Merge metric JSON files into ``NAME.json``, keyed by file stem; the weights stay as they are."""
    path = pretrained.HERE / f"{name}.json"
    manifest = json.loads(path.read_text())
    actual = hashlib.sha256((pretrained.HERE / f"{name}.npz").read_bytes()).hexdigest()
    if actual != manifest["sha256"]:
        raise SystemExit(f"{name}.npz has sha256 {actual}, its manifest says {manifest['sha256']}")
    for metric in paths:
        data = json.loads(metric.read_text())
        measured_on = data.get("weights_sha256")
        if measured_on not in (None, actual):
            raise SystemExit(
                f"{metric} was measured on weights {measured_on}, not {name}'s {actual}"
            )
        manifest["metrics"][metric.stem] = data
    text = json.dumps(manifest, indent=1) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))
    print(f"merged {', '.join(p.stem for p in paths)} into {path.name}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the shipped name (vae, hvae, toy2d, unet, unet_cond)")
    parser.add_argument("checkpoint", type=Path, nargs="?", help="the run's checkpoint to export")
    parser.add_argument("--add-metrics", type=Path, nargs="+", default=None, metavar="JSON",
                        help="only merge these metric files into the shipped manifest")  # fmt: skip
    parser.add_argument("--kind", default=None, help="model kind (default: the name)")
    parser.add_argument("--command", help="the exact training command (required to export)")
    parser.add_argument("--commit", help="the commit the training ran at (required to export)")
    parser.add_argument("--metrics", type=Path, nargs="*", default=[], help="JSON files to merge")
    parser.add_argument("--note", default="", help="anything a user should know")
    args = parser.parse_args(argv)
    if args.add_metrics is not None:
        return add_metrics(args.name, args.add_metrics)
    if args.checkpoint is None or args.command is None or args.commit is None:
        parser.error("exporting needs CHECKPOINT, --command and --commit (or use --add-metrics)")
    kind = args.kind or args.name
    model, config, meta, settings = trained_model(kind, args.checkpoint)
    outputs = pretrained.reference_output(model, kind, config)
    state = {k: np.asarray(v, dtype=np.float16) for k, v in model.state_dict().items()}
    weights = pretrained.HERE / f"{args.name}.npz"
    atomic_write(weights, lambda f: np.savez(f, **state))
    metrics = {}
    for path in args.metrics:
        metrics[path.stem] = json.loads(path.read_text())
    data = (
        {"dataset": "MNIST (training set)", "sha256": {n: REGISTRY[n].sha256 for n in MNIST}}
        if kind != "toy2d"
        else {"dataset": "generated: scratch.data.toy.ring, 20,000 points drawn from the seed"}
    )
    manifest = {
        "name": args.name,
        "kind": kind,
        "config": config,
        "command": args.command,
        "seed": meta["config"].get("seed", 0),
        "commit": args.commit,
        "data": data,
        "run_config": meta["config"],
        "history": {k: meta[k] for k in ("history", "loss") if k in meta},
        "metrics": metrics,
        "note": args.note,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "bytes": weights.stat().st_size,
        "reference_outputs_float32": np.round(outputs.astype(np.float64), 6).tolist(),
    }
    if settings is not None:
        manifest["diffuser"] = settings
    text = json.dumps(manifest, indent=1) + "\n"
    atomic_write(pretrained.HERE / f"{args.name}.json", lambda f: f.write(text.encode()))
    print(f"wrote {weights} ({manifest['bytes'] / 1e6:.2f} MB) and {args.name}.json")


if __name__ == "__main__":
    main()
