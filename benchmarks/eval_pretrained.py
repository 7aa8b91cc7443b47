"""Measure a shipped diffusion model (``unet_cond`` or ``unet``) with the project's classifier:
the numbers that go into its manifest.

    python benchmarks/eval_pretrained.py unet_cond [--n 1000] [--steps 10,20] [--ddim 50]
        [--heun 5,10] [--sde 10,20] [--ddpm] [--gamma 3] [--clip-x0]
        [--out benchmarks/results/pretrained_unet_cond.json] [--work DIR]

n samples per sampler, from the same noise for every sampler, scored by
:func:`scratch.eval.sampling.quality`: the classifier-FID against the whole test set beside the
train-vs-test floor at the same n, and the class histogram; for ``unet_cond``, guided samples
(γ = ``--gamma``) of the labels 0..9 in turn, and the fraction the classifier reads as the
requested label (overall and per label).
Samplers: DPM-Solver++(2M) at each of ``--steps``, DDIM (eta 0) at each of ``--ddim``, EDM's
Heun at each of ``--heun`` (2 steps - 1 model evaluations), DPM-Solver++(2M)'s SDE form at each
of ``--sde``, and with ``--ddpm`` the book's DDPM (all 1000 steps). ``--clip-x0`` aims every
sampler's every step at x0_hat clipped to [0, 1] (``Diffuser.sample``'s ``clip_x0``; off in the
book). DDIM with all 1000 steps is the probability-flow ODE's limit: when it is among the runs,
every run also reports its mean per-image RMS distance to the limit's images (the same x_T).
Speed: seconds per 100 images, from the run itself (drawn 100 at a time). With ``--work DIR``
every finished chunk is saved there, and a rerun resumes (1,000 DDPM samples take over an hour);
a row's ``drawn`` then counts the images this run drew, and its seconds per 100 are theirs (none
when every chunk was already done).
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
from scratch.checkpoint import load_checkpoint
from scratch.eval.sampling import generate, quality, rms_distance
from scratch.models.diffusion import DEFAULT_SPACING, Diffuser
from scratch.models.samplers import evaluations
from scratch.steps._common import integer, real

CHUNK = 100  # images per sampling batch: a chunk's time is the seconds per 100 images


def steps_list(text: str) -> list[int]:
    """Positive integers like 10,20 (an argparse type)."""
    return [integer(1)(part) for part in text.split(",")]


def steps_list0(text: str) -> list[int]:
    """``--steps``, ``--ddim``, ``--heun``, ``--sde``: like 10,20, or 0 for none."""
    return [] if text == "0" else steps_list(text)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=["unet_cond", "unet"])
    parser.add_argument("--n", type=integer(2), default=1000, help="samples per sampler (1000)")
    parser.add_argument("--steps", type=steps_list0, default="10,20",
                        help="DPM-Solver++(2M) steps, 0 for none (10,20)")  # fmt: skip
    parser.add_argument(
        "--ddim", type=steps_list0, default="50", help="DDIM steps, 0 for none (50)"
    )
    parser.add_argument("--heun", type=steps_list0, default="0", help="Heun steps, 0 for none (0)")
    parser.add_argument("--sde", type=steps_list0, default="0", help="dpm++2m-sde steps (0: none)")
    parser.add_argument("--ddpm", action="store_true", help="also the book's DDPM, 1000 steps")
    parser.add_argument("--gamma", type=real(0, 100), default=3.0, help="guidance scale (3)")
    parser.add_argument("--clip-x0", action="store_true", help="aim each step at clipped x0_hat")
    parser.add_argument("--work", type=Path, default=None, help="resumable chunks go here")
    parser.add_argument("--out", type=Path, default=None, help="the JSON written")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).parent / "results" / f"pretrained_{args.name}.json"
    model = pretrained.load(args.name)
    manifest = pretrained.info(args.name)
    diffuser = Diffuser(**manifest["diffuser"])
    conditional = args.name == "unet_cond"
    labels = np.arange(args.n) % 10 if conditional else None
    runs = [("dpm++2m", s) for s in args.steps]
    runs += [("ddim", s) for s in args.ddim] + [("heun", s) for s in args.heun]
    runs += [("dpm++2m-sde", s) for s in args.sde]
    runs += [("ddpm", None)] if args.ddpm else []
    results = {
        "model": args.name,
        "weights_sha256": manifest["sha256"],
        "n": args.n,
        "gamma": args.gamma if conditional else None,
        "clip_x0": args.clip_x0,
        "machine": platform.processor() or platform.machine(),
        "load_average": list(os.getloadavg()),
        "samplers": {},
    }
    drawn = {}
    for sampler, steps in runs:
        # the same seed for every sampler: deterministic samplers start from the same x_T
        name = f"{sampler} {steps or diffuser.num_timesteps}"
        gamma = args.gamma if conditional else None
        spacing = DEFAULT_SPACING.get(sampler)  # each sampler's own (None for DDPM)
        settings = {"model": args.name, "sha256": manifest["sha256"], "sampler": name,
                    "spacing": spacing, "n": args.n, "gamma": gamma,
                    "clip_x0": args.clip_x0}  # fmt: skip
        progress = None
        if args.work is not None:
            args.work.mkdir(parents=True, exist_ok=True)
            progress = args.work / f"{args.name}_{sampler}{steps or ''}_n{args.n}.npz"
        before = load_checkpoint(progress)[1]["done"] if progress and progress.exists() else 0
        tick = time.perf_counter()
        images = generate(model, diffuser, args.n, labels, chunk=CHUNK, seed=0,
                          progress=progress, settings=settings, resume=progress is not None,
                          sampler=sampler, steps=steps, gamma=gamma,
                          clip_x0=args.clip_x0)  # fmt: skip
        seconds = time.perf_counter() - tick
        evals = evaluations(sampler, steps or diffuser.num_timesteps)
        drawn_now = args.n - before
        row = {"evals": evals, "spacing": spacing, "drawn": drawn_now, "seconds": seconds,
               "seconds_per_100": seconds * CHUNK / drawn_now if drawn_now else None}  # fmt: skip
        row.update(quality(images, labels))
        results["samplers"][name] = row
        drawn[name] = images
        print(f"{name}: " + json.dumps(row))
    limit = drawn.get(f"ddim {diffuser.num_timesteps}")
    if limit is not None:
        for name, images in drawn.items():
            rms = rms_distance(images, limit).mean()
            results["samplers"][name]["rms_to_ode_limit"] = float(rms)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
