"""Measure a shipped diffusion model (``unet_cond`` or ``unet``) with the project's classifier:
the numbers that go into its manifest.

    python benchmarks/eval_pretrained.py unet_cond [--n 1000] [--steps 10,20] [--ddim 50]
        [--gamma 3] [--speed-rounds 3] [--out benchmarks/results/pretrained_unet_cond.json]

For ``unet_cond``: guided samples (γ = ``--gamma``) of the labels 0..9 in turn, n of them per
sampler, from one x_T for every sampler: the fraction the classifier reads as the requested label
(overall and per label), and the classifier-FID against the whole test set beside the
train-vs-test floor at the same n. For ``unet``: the FID, the floor and the class histogram.
Samplers: DPM-Solver++(2M) at each of ``--steps``, and DDIM at ``--ddim`` steps. Speed: seconds
for 100 images at each ``--steps`` (the median of ``--speed-rounds`` runs).
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from scratch import pretrained
from scratch.eval.classifier import load_classifier
from scratch.eval.fid import (
    class_histogram,
    fid_floor,
    fid_to_test,
    label_accuracy,
    reference_stats,
)
from scratch.models.diffusion import Diffuser


def draw(diffuser, model, sampler, steps, x_T, labels, gamma, chunk=100):
    """Images in [0, 1] of shape (N, 1, 28, 28), drawn ``chunk`` at a time from ``x_T``."""
    out = []
    for start in range(0, len(x_T), chunk):
        part = slice(start, start + chunk)
        x_0 = diffuser.sample(
            model,
            labels=None if labels is None else labels[part],
            gamma=gamma if labels is not None else None,
            sampler=sampler,
            steps=steps,
            x_T=x_T[part],
            progress=False,
        )
        out.append(diffuser.to_images(x_0))
    return np.concatenate(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=["unet_cond", "unet"])
    parser.add_argument("--n", type=int, default=1000, help="samples per sampler (1000)")
    parser.add_argument("--steps", default="10,20", help="DPM-Solver++(2M) steps (10,20)")
    parser.add_argument("--ddim", type=int, default=50, help="DDIM steps, 0 for none (50)")
    parser.add_argument("--gamma", type=float, default=3.0, help="guidance scale (3)")
    parser.add_argument("--speed-rounds", type=int, default=3, help="timing runs, median (3)")
    parser.add_argument("--out", type=Path, default=None, help="the JSON written")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).parent / "results" / f"pretrained_{args.name}.json"
    model = pretrained.load(args.name)
    manifest = pretrained.info(args.name)
    diffuser = Diffuser(**manifest["diffuser"])
    classifier = load_classifier()
    reference = reference_stats(classifier)
    conditional = args.name == "unet_cond"
    x_T = np.random.default_rng(0).standard_normal((args.n, 1, 28, 28), dtype=np.float32)
    labels = np.arange(args.n) % 10 if conditional else None
    runs = [("dpm++2m", int(s)) for s in args.steps.split(",")]
    runs += [("ddim", args.ddim)] if args.ddim else []
    floor = fid_floor(classifier, n=args.n, reference=reference)["fid"]
    results = {
        "model": args.name,
        "weights_sha256": manifest["sha256"],
        "n": args.n,
        "gamma": args.gamma if conditional else None,
        "fid_floor_same_n": floor,
        "machine": platform.processor() or platform.machine(),
        "load_average": list(os.getloadavg()),
        "samplers": {},
    }
    for sampler, steps in runs:
        tick = time.perf_counter()
        images = draw(diffuser, model, sampler, steps, x_T, labels, args.gamma)
        row = {
            "seconds": time.perf_counter() - tick,
            "fid": fid_to_test(images, classifier, reference),
        }
        if conditional:
            row["label_accuracy"] = label_accuracy(images, labels, classifier)
        else:
            row["class_histogram"] = class_histogram(images, classifier).tolist()
        results["samplers"][f"{sampler} {steps}"] = row
        print(f"{sampler} {steps}: " + json.dumps(row))
    speed_labels = np.arange(100) % 10 if conditional else None
    for sampler, steps in runs[:-1] if args.ddim else runs:
        times = []
        for _ in range(args.speed_rounds):
            tick = time.perf_counter()
            draw(diffuser, model, sampler, steps, x_T[:100], speed_labels, args.gamma)
            times.append(time.perf_counter() - tick)
        results["samplers"][f"{sampler} {steps}"]["seconds_per_100"] = float(np.median(times))
        print(f"{sampler} {steps}: {np.median(times):.1f} s per 100 images")
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
