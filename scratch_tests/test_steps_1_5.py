"""Steps 1-5 as commands: each runs in --quick mode into tmp_path, writes its PNGs and a small
JSON-serialisable result, with the real data and with the generated stand-ins."""

import json

import pytest

from scratch import cli
from scratch.data import DataNotFoundError
from scratch.steps import step01_normal, step02_mle, step03_mvn, step04_gmm, step05_em
from scratch_tests.conftest import need

FIGURES = {
    step01_normal: ["normal_pdf.png", "clt.png"],
    step02_mle: ["fit.png", "samples.png"],
    step03_mvn: ["contour.png", "surface.png"],
    step04_gmm: ["samples.png", "contour.png", "surface.png"],
    step05_em: ["log_likelihood.png", "fit.png"],
}


@pytest.fixture
def no_data(monkeypatch):
    """Pretend that no data file is present (nor downloadable), so that --quick runs use their
    generated stand-ins."""

    def missing(name):
        raise DataNotFoundError(f"data file {name!r} not found in the test's empty folders")

    monkeypatch.setattr("scratch.steps._common.fetch", missing)


@pytest.mark.parametrize("step", list(FIGURES), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_quick_run_with_generated_data_writes_its_figures(step, tmp_path, no_data, capsys):
    result = step.main(["--quick", "--out", str(tmp_path)])
    json.dumps(result)  # a small JSON-serialisable summary
    for name in FIGURES[step]:
        assert (tmp_path / name).stat().st_size > 1000, name
    out = capsys.readouterr().out
    if step in (step02_mle, step03_mvn, step05_em):
        assert "quick mode, a generated stand-in" in out


@need("book/height.txt")
def test_mle_step_reports_the_books_figures(tmp_path):
    result = step02_mle.main(["--quick", "--out", str(tmp_path)])
    assert result["data"] == "book/height.txt"
    assert result["mu"] == pytest.approx(172.7025, abs=5e-5)
    assert result["sigma"] == pytest.approx(4.83017, abs=5e-6)


@need("book/height_weight.txt")
def test_mvn_step_fits_height_weight(tmp_path):
    result = step03_mvn.main(["--quick", "--out", str(tmp_path)])
    assert result["data"] == "book/height_weight.txt"
    assert result["mu"][0] == pytest.approx(172.7025, abs=5e-5)
    assert (tmp_path / "surface.png").exists()


@need("book/old_faithful.txt")
def test_em_step_reaches_the_books_log_likelihood(tmp_path, capsys):
    result = step05_em.main(["--quick", "--out", str(tmp_path)])
    assert result["converged"]
    assert result["mean_log_likelihood"] == pytest.approx(-4.155382, abs=1e-5)
    assert capsys.readouterr().out.count("mean log-likelihood") == result["n_iter"] + 1


def test_gmm_samples_follow_the_weights(tmp_path):
    result = step04_gmm.main(["--quick", "--samples", "4000", "--out", str(tmp_path)])
    assert result["fraction_per_component"][0] == pytest.approx(0.35, abs=0.04)


@pytest.mark.parametrize("command", ["normal", "mle", "mvn", "gmm", "em"])
def test_cli_dispatches_each_command(command, tmp_path, no_data):
    assert cli.main([command, "--quick", "--out", str(tmp_path)]) == 0
    assert any(tmp_path.glob("*.png"))
