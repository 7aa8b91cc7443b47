"""Trained weights that ship with scratch, as torchvision's do: ``names()``, ``info(name)``,
``load(name)``.

Each model ``NAME`` is two files in this folder: ``NAME.npz``, its state_dict stored as float16
(computation stays float32), and ``NAME.json``, its manifest. The manifest records how the weights
were made (the exact command, seed, commit and data source), the loss per epoch, the measured
metrics, the sha256 of ``NAME.npz`` and, for a fixed input (``reference_input``), the float32
model's outputs before the weights were rounded to float16. Diffusion models also carry their
``Diffuser`` settings under ``"diffuser"``, so ``Diffuser(**info(name)["diffuser"])`` rebuilds it.

    >>> from scratch import pretrained
    >>> vae = pretrained.load("vae")          # in eval mode, sha256 checked
    >>> images = vae.sample(64)               # (64, 784) in [0, 1]
"""

import copy
import hashlib
import json
from pathlib import Path

import numpy as np

from scratch.errors import UserError

HERE = Path(__file__).parent


class PretrainedError(UserError, ValueError):
    """A shipped model that is unknown, missing or corrupt."""


def names() -> list[str]:
    """The shipped models, sorted by name."""
    return sorted(path.stem for path in HERE.glob("*.json"))


def info(name: str) -> dict:
    """The manifest of model ``name`` (a copy: changing it changes nothing here)."""
    return copy.deepcopy(_manifest(name))


def load(name: str):
    """Model ``name`` with its shipped weights, in eval mode.

    The weight file must match the manifest's sha256: a missing or corrupt file raises a
    PretrainedError, never a model with random weights."""
    manifest = _manifest(name)
    path = HERE / f"{name}.npz"
    if not path.is_file():
        raise PretrainedError(f"pretrained {name!r}: the weight file {path} is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != manifest["sha256"]:
        raise PretrainedError(
            f"pretrained {name!r}: {path} is corrupt (sha256 {digest[:12]}..., "
            f"the manifest says {manifest['sha256'][:12]}...)"
        )
    with np.load(path, allow_pickle=False) as npz:
        state = {key: npz[key].astype(np.float32) for key in npz.files}
    model = build(manifest["kind"], manifest["config"])
    model.load_state_dict(state)
    return model.eval()


def build(kind: str, config: dict):
    """An untrained model of ``kind`` ('vae', 'hvae', 'toy2d', 'unet', 'unet_cond') from the
    constructor settings in a manifest's ``config``."""
    from scratch.models.hvae import HVAE
    from scratch.models.toy import ToyDenoiser
    from scratch.models.unet import UNet, UNetCond
    from scratch.models.vae import VAE

    latent = {"hidden_dim": config.get("hidden_dim"), "latent_dim": config.get("latent_dim")}
    makers = {
        "vae": lambda: VAE(**latent, likelihood=config.get("likelihood", "gaussian")),
        "hvae": lambda: HVAE(**latent, likelihood=config.get("likelihood", "gaussian")),
        "toy2d": lambda: ToyDenoiser(hidden=config["hidden"]),
        "unet": lambda: UNet(channels=tuple(config["channels"])),
        "unet_cond": lambda: UNetCond(num_labels=10, channels=tuple(config["channels"])),
    }
    if kind not in makers:
        raise PretrainedError(f"unknown model kind {kind!r}: expected one of {sorted(makers)}")
    return makers[kind]()


def reference_input(kind: str, config: dict) -> dict:
    """The fixed input whose outputs a manifest records (seed 0): latent codes for the VAEs,
    a noisy batch with its timesteps (and labels) for the diffusion models."""
    rng = np.random.default_rng(0)
    if kind in ("vae", "hvae"):
        return {"z": rng.standard_normal((4, config["latent_dim"])).astype(np.float32)}
    t = np.array([1, 250, 500, 1000])
    if kind == "toy2d":
        return {"x": rng.standard_normal((4, 2)).astype(np.float32), "t": t}
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    return {"x": x, "t": t, **({"labels": np.array([0, 3, 7, 9])} if kind == "unet_cond" else {})}


def reference_output(model, kind: str, config: dict) -> np.ndarray:
    """The model's output on ``reference_input(kind, config)``, as float32."""
    from scratch.autograd import no_grad

    given = reference_input(kind, config)
    with no_grad():
        if kind in ("vae", "hvae"):
            out = model.decode_mean(given["z"])
        else:
            out = model(given.pop("x"), given.pop("t"), **given)
    return np.asarray(getattr(out, "data", out), dtype=np.float32)


def _manifest(name: str) -> dict:
    path = HERE / f"{name}.json"
    if name not in names() or not path.is_file():
        raise PretrainedError(f"no pretrained model {name!r}: the shipped ones are {names()}")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PretrainedError(
            f"pretrained {name!r}: its manifest {path} is unreadable: {error}"
        ) from None
