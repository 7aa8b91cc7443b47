"""Convert a PyTorch state_dict (.pt) to a NumPy .npz of name -> array, loadable with
``model.load_state_dict(dict(np.load(path)))``. Needs torch; scratch itself never imports it.

    python benchmarks/torch2npz.py model.pt [model.npz]
"""

import argparse
from pathlib import Path

import numpy as np


def convert(src, dst=None) -> Path:
    """Write the tensors of the state_dict in ``src`` to ``dst`` (default: src with .npz)."""
    import torch

    state = torch.load(src, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{src} holds a {type(state).__name__}, expected a state_dict (a dict)")
    arrays = {k: v.detach().cpu().numpy() for k, v in state.items() if torch.is_tensor(v)}
    dst = Path(dst) if dst else Path(src).with_suffix(".npz")
    np.savez(dst, **arrays)
    return dst


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", help="a .pt file saved with torch.save(model.state_dict(), ...)")
    parser.add_argument("dst", nargs="?", help="output .npz (default: next to src)")
    args = parser.parse_args(argv)
    print(convert(args.src, args.dst))


if __name__ == "__main__":
    main()
