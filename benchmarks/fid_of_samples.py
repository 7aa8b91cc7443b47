"""Classifier-FID of saved samples at equal n, e.g. of the chunks a long sampling run has finished.

    SCRATCH_DATA=/work/shared/data python benchmarks/fid_of_samples.py --n 500 OUT/samples_*.npz

For each ``samples_*.npz`` written by ``scratch diffusion sample|eval`` that holds at least n
images: the FID of its first n against all 10,000 MNIST test images and its class histogram,
beside the floor at the same n (n training images against the same), so that samplers are
compared at equal n before a 10,000-image run is done.
"""

import argparse

from scratch.checkpoint import load_checkpoint
from scratch.eval import class_histogram, fid_floor, fid_to_test, load_classifier, reference_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", nargs="+", help="samples_*.npz files")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    classifier = load_classifier()
    reference = reference_stats(classifier)  # once for all
    print(f"floor at n={args.n}: {fid_floor(classifier, n=args.n, reference=reference)['fid']:.2f}")
    for path in args.samples:
        images = load_checkpoint(path)[0]["images"]
        if len(images) < args.n:
            print(f"{path}: {len(images)} images, fewer than {args.n}")
            continue
        x = images[: args.n]
        fid = fid_to_test(x, classifier, reference)
        print(f"{path}: FID {fid:.2f}, classes {class_histogram(x, classifier).tolist()}")


if __name__ == "__main__":
    main()
