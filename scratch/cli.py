"""The ``scratch`` command: parses the command name, then calls ``scratch.steps.<module>.main``."""

import importlib
import sys

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
    lines = ["usage: scratch COMMAND [options]   (scratch COMMAND --help for its options)", ""]
    lines += [f"  {name:<12} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"scratch: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"scratch.steps.{COMMANDS[name][0]}")
    module.main(rest)
    return 0
