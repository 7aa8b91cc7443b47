"""The sampler table of an ``eval_pretrained.py`` JSON, as Markdown: one row per sampler and step
count, ordered by model evaluations.

    python benchmarks/sampler_table.py benchmarks/results/pretrained_unet_samplers*.json

Several files of the same weights, n and ``clip_x0`` (runs that resumed each other's chunks) are
merged, a sampler, step count and spacing being one row: a row's seconds come from the file that
drew the most of its samples (a resumed row times only the images it drew).

Columns: model evaluations, classifier-FID, its ratio to the floor at the same n, to DDPM-1000's
FID and to the ODE limit's (DDIM with all 1000 steps, eta 0), when those are in the file, the
mean per-image RMS distance to the ODE limit's images (the same x_T), the fraction read as the
requested label (guided runs), and seconds per 100 images.
"""

import argparse
import json
from pathlib import Path

from scratch.models.samplers import evaluations as counted


def evaluations(name: str, row: dict) -> int:
    """The model evaluations of a row (files written before the rows counted them: by name)."""
    sampler, steps = name.split()
    return row.get("evals", counted(sampler, int(steps)))


def table(results: dict) -> str:
    rows = results["samplers"]  # (name, spacing) -> row
    ddpm = rows.get(("ddpm 1000", None), {}).get("fid")
    limit = rows.get(("ddim 1000", "linear"), {}).get("fid")
    head = [
        "sampler",
        "spacing",
        "evals",
        "FID",
        "/ floor",
        "/ DDPM-1000",
        "/ ODE limit",
        "RMS to limit",
    ]
    head += ["label accuracy", "s / 100 images"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = sorted(rows.items(), key=lambda item: (evaluations(item[0][0], item[1]), item[0][0]))
    for (name, spacing), row in order:
        accuracy = row.get("label_accuracy", {}).get("all")
        cells = [
            name,
            spacing or "",
            str(evaluations(name, row)),
            f"{row['fid']:.1f}",
            f"{row['fid'] / row['fid_floor']:.2f}",
            f"{row['fid'] / ddpm:.3f}" if ddpm else "",
            f"{row['fid'] / limit:.3f}" if limit else "",
            f"{row['rms_to_ode_limit']:.4f}" if "rms_to_ode_limit" in row else "",
            f"{accuracy:.1%}" if accuracy is not None else "",
            f"{row['seconds_per_100']:.1f}" if row["seconds_per_100"] is not None else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    floor = next(iter(rows.values()))["fid_floor"]
    clipped = ", every step aimed at x0_hat clipped to [0, 1]" if results.get("clip_x0") else ""
    return f"n = {results['n']}, floor {floor:.2f}{clipped}\n\n" + "\n".join(lines)


def key(result: dict) -> tuple:
    """What the merged files must share (files written before ``clip_x0`` existed had it off)."""
    return result["weights_sha256"], result["n"], result.get("clip_x0", False)


def merged(files: list[Path]) -> dict:
    """One result from eval_pretrained JSONs of the same weights and n; each row from the file
    that drew the most of its images (files written before rows counted them: the one that spent
    the most seconds per 100 on it)."""
    results = [json.loads(f.read_text()) for f in files]
    first = results[0]
    for f, r in zip(files, results, strict=True):
        if key(r) != key(first):
            raise SystemExit(
                f"{f}: other weights, n or clip_x0 than {files[0]}; tables merge one model's runs"
            )
    drawn = {}  # (name, spacing) -> its rows, one per file that has it
    for r in results:
        for name, row in r["samplers"].items():
            drawn.setdefault((name, row["spacing"]), []).append(row)
    rows = {
        name: {
            k: v
            for row in sorted(
                runs, key=lambda row: (row.get("drawn", 0), row["seconds_per_100"] or 0)
            )
            for k, v in row.items()
        }
        for name, runs in drawn.items()
    }  # later rows win: every key of the run that drew the samples, the rest from the others
    return first | {"samplers": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path, nargs="+", help="JSONs written by eval_pretrained.py")
    files = parser.parse_args(argv).json
    for f in files:
        if not f.is_file():
            parser.error(f"{f}: no such file (expected a JSON written by eval_pretrained.py)")
    print(table(merged(files)))


if __name__ == "__main__":
    main()
