"""What every step's command line shares: the parser (``--out``, ``--quick``, ``--seed``,
``--data-dir`` and, where data is read, ``--synthetic``), flag types that refuse bad numbers at
parse time, the real-data-or-stop rule, and where ``sample`` and ``eval`` find a checkpoint."""

import argparse
import json
import math
import os
import tempfile
from pathlib import Path

from scratch.data import DataNotFoundError, fetch
from scratch.errors import UserError

CHECKPOINT = "checkpoint.npz"
# model kind (a checkpoint's config["model"]) -> (what it is, the command that samples it)
KINDS = {
    "vae": ("a VAE", "scratch vae"),
    "hvae": ("an HVAE", "scratch hvae"),
    "diffusion": ("a diffusion U-Net", "scratch diffusion"),
    "toy2d": ("a 2-D toy diffusion", "scratch diffusion2d"),
    "classifier": ("an MNIST classifier", "scratch classifier"),
}
DEMO_RUNS = {"vae": "step07_vae", "hvae": "step08_hvae", "diffusion": "step10_diffusion"}


class Parser(argparse.ArgumentParser):
    """argparse, whose usage errors take two lines (a short usage, then the error)."""

    def error(self, message):
        self.exit(
            2, f"usage: {self.prog} [options] (--help lists them)\n{self.prog}: error: {message}\n"
        )


class Formatter(argparse.HelpFormatter):
    """Shows every flag's default, unless its help already names it."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = action.default is not None and action.default is not False
        if shown and action.default != argparse.SUPPRESS and "default" not in text:
            text += " (default: %(default)s)"
        return text


def describe(doc: str) -> str:
    """A module docstring's first paragraph, without rST's double backticks, for --help."""
    return " ".join(doc.split("\n\n")[0].replace("``", "").split())


def make_parser(prog: str, doc: str, synthetic: bool = False, common: bool = True) -> Parser:
    """The parser of ``scratch PROG``, described by the first paragraph of ``doc``, with the
    common flags (unless ``common`` is False: sub-commands then carry them, see add_actions)."""
    parser = Parser(prog=f"scratch {prog}", description=describe(doc), formatter_class=Formatter)
    if common:
        add_common(parser, synthetic)
    return parser


def add_actions(parser: Parser, helps: dict, synthetic: bool) -> dict:
    """Sub-commands (train, sample, eval) of ``parser``, each with the common flags."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    made = {}
    for name, text in helps.items():
        made[name] = actions.add_parser(
            name, help=text, description=f"{parser.description} {name}: {text}.",
            formatter_class=Formatter,
        )  # fmt: skip
        add_common(made[name], synthetic)
    return made


def add_common(parser, synthetic: bool) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("scratch-out"), help="folder for figures and results"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run, as in scratch demo (smaller defaults)"
    )
    parser.add_argument("--seed", type=integer(0), default=0, help="random seed")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding mnist/*.gz and book/* (sets $SCRATCH_DATA)",
    )
    if synthetic:
        parser.add_argument(
            "--synthetic",
            action="store_true",
            help="use generated stand-in data instead of the real files (labelled as such)",
        )


def integer(low: int = 1, high: int | None = None):
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            span = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
            raise argparse.ArgumentTypeError(f"expected {span}, got {text!r}")
        return value

    return parse


def real(low: float | None = None, high: float | None = None, open_low: bool = False):
    """An argparse type: a finite float in [low, high] ((low, high] when ``open_low``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        bad = not math.isfinite(value)
        bad = bad or (low is not None and (value <= low if open_low else value < low))
        bad = bad or (high is not None and value > high)
        if bad:
            if low is None and high is None:
                span = "a finite number"
            elif high is None:
                span = f"a finite number {'>' if open_low else '>='} {low:g}"
            else:
                span = f"a number in {'(' if open_low else '['}{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"expected {span}, got {text!r}")
        return value

    return parse


def parse(parser: argparse.ArgumentParser, argv) -> argparse.Namespace:
    """Parse ``argv``; apply ``--data-dir``; create ``--out`` and check that it is writable,
    before any compute."""
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        if not args.data_dir.is_dir():
            raise UserError(f"--data-dir {args.data_dir} is not a folder", status=2)
        os.environ["SCRATCH_DATA"] = str(args.data_dir)
    prepare_out(args.out)
    return args


def prepare_out(out: Path) -> None:
    """Create the folder ``out``; a UserError if it is a file or cannot be written."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise UserError(f"--out {out} cannot be written: {error.strerror or error}") from None


def quick_defaults(args, **defaults) -> None:
    """Set each flag the user did not give (still None) to its (full, quick) default."""
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)


def data_source(args, names, what: str) -> str | None:
    """Where ``what`` comes from: the files ``names`` through the data store ($SCRATCH_DATA, the
    cache, then the checksummed download), or None for a generated stand-in, which is used only
    under ``--synthetic`` or, when a file is missing (never when it is corrupt), ``--quick``.
    Otherwise the store's error stops the run. The source is printed."""
    if getattr(args, "synthetic", False):
        print(f"[data] a generated stand-in for {what} (--synthetic)")
        return None
    try:
        paths = [fetch(name) for name in names]
    except DataNotFoundError as error:
        if not args.quick:
            raise
        print(f"[data] quick mode, a generated stand-in for {what}: {str(error).split(',')[0]}")
        return None
    print(f"[data] {what}: {', '.join(map(str, paths))}")
    return what


def stand_in_label(what: str, source: str | None) -> str:
    """The data source as recorded in results, checkpoints and summary.json."""
    return source if source is not None else f"generated stand-in for {what}"


def find_checkpoint(args, kind: str, shipped_kinds=None) -> tuple[Path | None, str | None]:
    """The checkpoint for ``sample`` and ``eval``: (path, None) or, as the last fallback, (None,
    the name of shipped pretrained weights). In order: ``--checkpoint``, OUT/checkpoint.npz, the
    demo's run OUT/stepNN_KIND/checkpoint.npz, the shipped weights of the first of ``shipped_kinds``
    that ships. Prints which."""
    from scratch import pretrained

    if args.checkpoint is not None:
        if not Path(args.checkpoint).is_file():
            raise UserError(f"--checkpoint {args.checkpoint}: no such file")
        print(f"checkpoint: {args.checkpoint}")
        return Path(args.checkpoint), None
    tried = [args.out / CHECKPOINT]
    if kind in DEMO_RUNS:
        tried.append(args.out / DEMO_RUNS[kind] / CHECKPOINT)
    for path, why in zip(tried, ("the run in --out", "scratch demo's run"), strict=False):
        if path.is_file():
            print(f"checkpoint: {path} ({why})")
            return path, None
    kinds = shipped_kinds or (kind,)
    shipped = [n for k in kinds for n in pretrained.names() if pretrained.info(n)["kind"] == k]
    if shipped:
        print(f"checkpoint: the shipped pretrained {shipped[0]!r} weights (no {tried[0]})")
        return None, shipped[0]
    raise UserError(
        f"no {kind} checkpoint in {' or '.join(map(str, tried))}: train one with "
        f"`scratch {kind} train --out {args.out}`, or pass --checkpoint FILE"
    )


def check_kind(path, meta: dict, expected: str, action: str = "sample") -> None:
    """A UserError unless the checkpoint's config says it holds an ``expected`` model."""
    kind = meta.get("config", {}).get("model")
    if kind == expected:
        return
    if kind in KINDS:
        what, command = KINDS[kind]
        use = f"`{command} {action}`" if kind in DEMO_RUNS else f"`{command}`"
        raise UserError(f"{path} is {what} checkpoint, not {KINDS[expected][0]} one; use {use}")
    raise UserError(
        f"{path} is not {KINDS[expected][0]} checkpoint (its config: {meta.get('config')})"
    )


def write_json(path: Path, obj) -> Path:
    """Write ``obj`` as indented JSON (to a temporary file, then renamed); print the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")
    return path
