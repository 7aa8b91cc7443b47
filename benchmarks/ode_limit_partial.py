"""Every n = 1,000 run of eval_pretrained.py against the ODE limit's finished chunks, on the first
k images of each (the same x_T): classifier-FID at n = k, its ratio to the limit's, and the mean
per-image RMS distance to the limit's images. For when DDIM-1000 (about 75 minutes) is part-way.

    SCRATCH_DATA=... python benchmarks/ode_limit_partial.py --work DIR [--name unet]
"""

import argparse
import json
from pathlib import Path

from scratch.checkpoint import load_checkpoint
from scratch.eval.sampling import quality, rms_distance


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="eval_pretrained.py's --work")
    parser.add_argument("--name", default="unet")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    saved, meta = load_checkpoint(args.work / f"{args.name}_ddim1000_n1000.npz")
    k = meta["done"]
    limit = saved["images"][:k]
    rows = {"ddim 1000": quality(limit) | {"rms_to_ode_limit": 0.0}}
    for f in sorted(args.work.glob(f"{args.name}_*_n1000.npz")):
        run = f.stem.removeprefix(f"{args.name}_").removesuffix("_n1000")
        if run == "ddim1000":
            continue
        sampler = run.rstrip("0123456789")
        x = load_checkpoint(f)[0]["images"][:k]
        rms = float(rms_distance(x, limit).mean())
        rows[f"{sampler} {run[len(sampler) :] or 1000}"] = quality(x) | {"rms_to_ode_limit": rms}
    fid_limit = rows["ddim 1000"]["fid"]
    print(f"the first {k} images of every run; floor at n = {k}: {rows['ddim 1000']['fid_floor']}")
    for name, row in rows.items():
        print(f"| {name} | {row['fid']:.1f} | {row['fid'] / fid_limit:.3f} | "
              f"{row['rms_to_ode_limit']:.4f} |")  # fmt: skip
    out = args.out or Path(__file__).parent / "results" / f"{args.name}_ode_limit_k{k}.json"
    out.write_text(json.dumps({"model": args.name, "k": k, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
