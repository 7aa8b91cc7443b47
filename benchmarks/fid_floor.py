"""The classifier-FID floor: the shipped classifier's Fréchet distance between 10,000 MNIST
training images and the 10,000 test images, with its runtime, beside two reference points (test
against shuffled-pixel test images; train against train).

    SCRATCH_DATA=/work/shared/data python benchmarks/fid_floor.py [--n 10000] [--repeat 3]

Writes benchmarks/results/fid_floor.json.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from scratch.data import MNIST
from scratch.eval import class_histogram, classifier_fid, fid_floor, load_classifier

RESULTS = Path(__file__).with_name("results") / "fid_floor.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    clf = load_classifier()
    runs = [fid_floor(clf, n=args.n, seed=0) for _ in range(args.repeat)]
    floor = runs[0]["fid"]
    assert all(r["fid"] == floor for r in runs), "the floor must be deterministic"
    test = MNIST(train=False).data[: args.n]
    rng = np.random.default_rng(0)
    shuffled = rng.permuted(test.reshape(len(test), -1), axis=1)  # each image's pixels permuted
    tick = time.perf_counter()
    fid_shuffled = classifier_fid(test, shuffled, clf)
    result = {
        "n": args.n,
        "fid_floor_train_vs_test": floor,
        "fid_floor_seconds": sorted(r["seconds"] for r in runs),
        "fid_test_vs_shuffled_pixels": fid_shuffled,
        "fid_test_vs_shuffled_seconds": time.perf_counter() - tick,
        "test_class_histogram": class_histogram(test, clf).tolist(),
        "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
