"""The ``scratch`` command: parses the command name, then calls ``scratch.steps.<module>.main``.

A user error (scratch.errors.UserError, which the data store's, the checkpoints' and the shipped
weights' errors are) prints one ``scratch COMMAND: error: ...`` line and exits with 1 (2 for a
usage error); ``--debug`` or ``SCRATCH_DEBUG=1`` shows its traceback instead. Any other exception
is a bug, and propagates with its traceback.
"""

import importlib
import os
import sys
from importlib.metadata import PackageNotFoundError, version

from scratch.errors import UserError

# command -> (module in scratch.steps, what it does)
COMMANDS = {
    "demo": ("demo", "every step in quick mode: figures and summary.json (the main job)"),
    "normal": ("step01_normal", "step 1: the normal distribution; central limit theorem"),
    "mle": ("step02_mle", "step 2: maximum-likelihood normal fitted to height.txt"),
    "mvn": ("step03_mvn", "step 3: multivariate normal fitted to height_weight.txt"),
    "gmm": ("step04_gmm", "step 4: samples and density of a Gaussian mixture"),
    "em": ("step05_em", "step 5: a Gaussian mixture fitted to Old Faithful by EM"),
    "regression": (
        "step06_regression",
        "step 6: linear regression and a sin fit by autograd + SGD",
    ),
    "vae": ("step07_vae", "step 7: the VAE on MNIST: train | sample | eval (ELBO, IWAE)"),
    "hvae": ("step08_hvae", "step 8: the hierarchical VAE on MNIST: train | sample | eval"),
    "noise": ("step09_noise", "step 9: forward noising of flower.png; closed form vs sequential"),
    "diffusion2d": ("step09_toy", "step 9 on 2-D toy data: ring and moons, DDPM and DDIM samples"),
    "classifier": ("step10_classifier", "the frozen MNIST CNN behind classifier-FID"),
    "diffusion": ("step10_diffusion", "steps 9-10: diffusion on MNIST: train | sample | eval"),
}


def usage() -> str:
    lines = ["usage: scratch [--version] [--debug] COMMAND [options]", ""]
    lines += [f"  {name:<12} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "scratch COMMAND --help lists the options of COMMAND."]
    return "\n".join(lines)


def package_version() -> str:
    try:
        return version("scratch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("SCRATCH_DEBUG", "") not in ("", "0")
    if "--debug" in argv:
        argv.remove("--debug")
        debug = True
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        print(f"scratch {package_version()}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(
            f"scratch: error: unknown command {name!r}; the commands are {', '.join(COMMANDS)}\n"
            "(scratch --help says what each does)",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"scratch.steps.{COMMANDS[name][0]}")
    try:
        module.main(rest)
    except UserError as error:
        if debug:
            raise
        print(f"scratch {name}: error: {error}", file=sys.stderr)
        return error.status
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2, already printed)
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0
