"""scikit-learn's own mixture tests, run against scratch's GaussianMixture.

The files ship inside the installed sklearn package; each is read at test time, its
``GaussianMixture`` import (only that line) switched to scratch's, and executed here, so pytest
collects its tests. Tests of sklearn's private helpers are skipped, each with its reason."""

import pathlib

import pytest

sklearn = pytest.importorskip("sklearn")
pytest.importorskip("scipy")

HERE = pathlib.Path(sklearn.__file__).parent / "mixture" / "tests"
IMPORTS = {
    "from sklearn.mixture import GaussianMixture\n": (
        "from scratch.probability import GaussianMixture\n"
    ),
    "from sklearn.mixture import BayesianGaussianMixture, GaussianMixture\n": (
        "from sklearn.mixture import BayesianGaussianMixture\n"
        "from scratch.probability import GaussianMixture\n"
    ),
}
PRIVATE = "tests sklearn's private helper "
SKIPPED = {
    "test_suffstat_sk_full": PRIVATE + "_estimate_gaussian_covariances_full",
    "test_suffstat_sk_tied": PRIVATE + "_estimate_gaussian_covariances_tied",
    "test_suffstat_sk_diag": PRIVATE + "_estimate_gaussian_covariances_diag",
    "test_gaussian_suffstat_sk_spherical": PRIVATE + "_estimate_gaussian_covariances_spherical",
    "test_compute_log_det_cholesky": PRIVATE + "_compute_log_det_cholesky",
    "test_gaussian_mixture_log_probabilities": PRIVATE + "_estimate_log_gaussian_prob",
    "test_gaussian_mixture_estimate_log_prob_resp": PRIVATE + "_estimate_log_prob_resp",
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
        "mocks sklearn's private _estimate_gaussian_parameters and counts its calls"
    ),
    "test_gaussian_mixture_array_api_compliance": "array API dispatch: scratch is NumPy only",
    "test_gaussian_mixture_raises_where_array_api_not_implemented": (
        "array API dispatch: scratch is NumPy only"
    ),
}
# a known failure, kept visible: strict, so that it is noticed when it starts to pass
XFAILED = {
    "test_gaussian_mixture_precisions_init_diag": (
        "starts from sklearn's own KMeans labels and expects scratch's k-means start to give the "
        "same n_iter_; scratch's k-means draws and numbers its clusters differently"
    ),
}


def _load(filename):
    path = HERE / filename
    source = path.read_text()
    switched = 0
    for old, new in IMPORTS.items():
        switched += source.count(old)
        source = source.replace(old, new)
    assert switched == 1, f"{path}: expected one GaussianMixture import, found {switched}"
    exec(compile(source, str(path), "exec"), globals())  # noqa: S102 - sklearn's own test file


_load("test_gaussian_mixture.py")
_load("test_mixture.py")
for _name, _reason in SKIPPED.items():
    if _name in globals():
        globals()[_name] = pytest.mark.skip(reason=_reason)(globals()[_name])
for _name, _reason in XFAILED.items():
    globals()[_name] = pytest.mark.xfail(reason=_reason, strict=True)(globals()[_name])


def _estimator_checks():
    from sklearn.utils.estimator_checks import parametrize_with_checks

    from scratch.probability import GaussianMixture as ScratchGaussianMixture

    return parametrize_with_checks([ScratchGaussianMixture()])


@_estimator_checks()
def test_sklearn_estimator_checks(estimator, check):
    """Every check scikit-learn runs on its own GaussianMixture (check_estimator's list)."""
    check(estimator)
