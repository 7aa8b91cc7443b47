"""What every step's command line shares: ``--out``, ``--quick``, ``--seed`` and ``--data-dir``."""

import argparse
import json
import os
from pathlib import Path

from scratch.data import available


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"scratch {prog}", description=description)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("scratch-out"),
        help="folder for figures and results (default: ./scratch-out)",
    )
    parser.add_argument("--quick", action="store_true", help="a short run, as in `scratch demo`")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding mnist/*.gz and book/* (sets $SCRATCH_DATA)",
    )
    return parser


def parse(parser: argparse.ArgumentParser, argv) -> argparse.Namespace:
    """Parse ``argv``; apply ``--data-dir``; create ``--out``."""
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        os.environ["SCRATCH_DATA"] = str(args.data_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def have(*names: str) -> bool:
    """True when every named data file is present locally; prints the fallback when not."""
    if all(available(name) for name in names):
        return True
    print(f"[data] {', '.join(names)} not found locally: using generated stand-in data")
    return False


def write_json(path: Path, obj) -> Path:
    """Write ``obj`` as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")
    return path
