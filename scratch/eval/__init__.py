"""Measured sample quality: a frozen MNIST CNN classifier and the Fréchet distance between its
penultimate features ("classifier-FID"), beside the real-against-real floor."""

from .classifier import MNISTClassifier, load_classifier
from .fid import (
    class_histogram,
    classifier_fid,
    feature_stats,
    fid_floor,
    fid_to_test,
    frechet_distance,
    label_accuracy,
    reference_stats,
)

__all__ = [
    "MNISTClassifier",
    "class_histogram",
    "classifier_fid",
    "feature_stats",
    "fid_floor",
    "fid_to_test",
    "frechet_distance",
    "label_accuracy",
    "load_classifier",
    "reference_stats",
]
