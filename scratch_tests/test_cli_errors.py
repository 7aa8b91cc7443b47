"""The command line never lies and never crashes: every bad input is one short error line (no
traceback, nothing written under --out), a training run without its data stops instead of faking
it, sampling after ``scratch demo`` finds the demo's run, and the help of every command reads."""

import gzip
import math
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratch import cli
from scratch.checkpoint import save_checkpoint
from scratch.steps import _common

ACTIONS = {"vae": ("train", "sample", "eval"), "hvae": ("train", "sample", "eval")}
ACTIONS["diffusion"] = ACTIONS["vae"]


def run(argv, capsys):
    """(exit status, stderr lines) of ``scratch *argv``, run in-process."""
    status = cli.main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return status, err


def assert_clear_error(argv, out, capsys, status=None):
    got, err = run([*argv, "--out", str(out)], capsys)
    assert got != 0 and (status is None or got == status), (argv, got, err)
    assert 1 <= len(err) <= 3 and any("error" in line for line in err), (argv, err)
    assert not any("Traceback" in line for line in err), (argv, err)
    assert not [p for p in out.rglob("*") if p.is_file()], (argv, list(out.rglob("*")))
    return err


@pytest.fixture
def vae_run(tmp_path_factory):
    """A VAE checkpoint as `scratch vae train` writes it (untrained weights: only the kind and
    the config matter here)."""
    from scratch.steps._vae_commands import build
    from scratch.steps.step07_vae import VAE

    folder = tmp_path_factory.mktemp("vae_run")
    config = {"model": "vae", "likelihood": "gaussian", "hidden_dim": 8, "latent_dim": 2}
    model = build(VAE, config, 0)
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    save_checkpoint(folder / "checkpoint.npz", state, epoch=1, config=config, history={})
    return folder


# (argv, the words its message must hold); each runs with its own empty --out
BAD = [
    (["vae", "train", "--epochs", "-1"], "--epochs"),
    (["vae", "train", "--subset", "0"], "--subset"),
    (["vae", "train", "--quick", "--epochs", "-2"], "--epochs"),
    (["vae", "train", "--lr", "inf"], "--lr"),
    (["hvae", "train", "--hidden-dim", "x"], "--hidden-dim"),
    (["vae", "eval", "--eval-n", "10001"], "--eval-n"),
    (["vae", "fit"], "invalid choice"),
    (["normal", "--trials", "0"], "--trials"),
    (["noise", "--draws", "0"], "--draws"),
    (["diffusion2d", "--steps", "0"], "--steps"),
    (["em", "--tol", "nan"], "--tol"),
    (["em", "--max-iter", "-1"], "--max-iter"),
    (["gmm", "--samples", "abc"], "--samples"),
    (["regression", "--iters", "-3"], "--iters"),
    (["mle", "--seed", "-1"], "--seed"),
    (["diffusion", "train", "--quick", "--channels", "a,b"], "--channels"),
    (["diffusion", "sample", "--gamma", "nan"], "--gamma"),
    (["diffusion", "sample", "--gamma", "-100"], "--gamma"),
    (["diffusion", "sample", "--eta", "5"], "--eta"),
    (["diffusion", "sample", "--labels", "0..10"], "0..9"),
    (["diffusion", "sample", "--steps", "10"], "--sampler ddim"),
    (["diffusion", "eval", "--n", "1"], "--n"),
    (["classifier", "--epochs", "0"], "--epochs"),
    (["no-such-command"], "unknown command"),
]


@pytest.mark.parametrize("argv, words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_clear_line(argv, words, tmp_path, capsys):
    err = assert_clear_error(argv, tmp_path / "out", capsys, status=2)
    assert words in "\n".join(err)


# numeric flags with the values they accept: (low, high, type); a float type's low bound is
# excluded when it is 0 and the flag is a rate or tolerance (OPEN)
OPEN = {"--lr", "--tol"}
NUMERIC = {
    ("vae", "train", "--epochs"): (1, None, int),
    ("vae", "train", "--lr"): (0, 1, float),
    ("vae", "eval", "--k"): (1, None, int),
    ("hvae", "train", "--latent-dim"): (1, None, int),
    ("normal", None, "--trials"): (2, None, int),
    ("noise", None, "--draws"): (2, None, int),
    ("em", None, "--tol"): (0, None, float),
    ("diffusion2d", None, "--lr"): (0, None, float),
    ("diffusion", "sample", "--eta"): (0, 1, float),
    ("diffusion", "sample", "--gamma"): (0, 100, float),
    ("diffusion", "sample", "--steps"): (1, 1000, int),
    ("classifier", None, "--batch-size"): (1, None, int),
}


def rejected(value, low, high, kind, name) -> bool:
    if kind is int and (not float(value).is_integer() or isinstance(value, float)):
        return True
    if not math.isfinite(value):
        return True
    too_low = value <= low if name in OPEN else value < low
    return too_low or (high is not None and value > high)


@pytest.mark.parametrize("flag", list(NUMERIC), ids=lambda f: " ".join(x for x in f if x))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.integers(-(10**6), 0), st.floats(allow_nan=True), st.just(-1e300)))
def test_numeric_flags_refuse_bad_numbers(flag, value, tmp_path_factory, capsys):
    low, high, kind = NUMERIC[flag]
    if not rejected(value, low, high, kind, flag[2]):
        return  # a valid value: the table above is for the bad ones
    command, action, name = flag
    argv = [command, *([action] if action else []), name, repr(value)]
    assert_clear_error(argv, tmp_path_factory.mktemp("out"), capsys, status=2)


def test_out_is_checked_before_any_compute(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile, afile / "below"):
        status, err = run(["vae", "train", "--out", str(out)], capsys)
        assert status == 1 and len(err) == 1 and "--out" in err[0] and "error" in err[0]


def test_wrong_kind_and_missing_checkpoints_say_so(vae_run, tmp_path, capsys):
    ckpt = ["--checkpoint", str(vae_run / "checkpoint.npz")]
    err = assert_clear_error(["hvae", "sample", *ckpt], tmp_path / "a", capsys, status=1)
    assert "is a VAE checkpoint" in err[0] and "use `scratch vae sample`" in err[0]
    err = assert_clear_error(["diffusion", "sample", *ckpt], tmp_path / "b", capsys, status=1)
    assert "is a VAE checkpoint" in err[0]
    missing = ["--checkpoint", str(tmp_path / "none.npz")]
    err = assert_clear_error(["vae", "sample", *missing], tmp_path / "c", capsys, status=1)
    assert "no such file" in err[0]


def test_resume_with_other_settings_names_the_saved_ones(vae_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(vae_run, out)
    argv = ["vae", "train", "--resume", "--hidden-dim", "50", "--latent-dim", "2", "--synthetic"]
    status, err = run([*argv, "--out", str(out)], capsys)
    assert status == 1 and len(err) == 1
    assert "trained with hidden_dim=8, not hidden_dim=50" in err[0]


def test_debug_shows_the_traceback_and_a_bug_always_does(monkeypatch):
    from scratch.errors import UserError
    from scratch.steps import step04_gmm

    with pytest.raises(UserError, match="is a file"):
        cli.main(["--debug", "vae", "train", "--out", __file__])
    monkeypatch.setenv("SCRATCH_DEBUG", "1")
    with pytest.raises(UserError, match="is a file"):
        cli.main(["vae", "train", "--out", __file__])
    monkeypatch.delenv("SCRATCH_DEBUG")

    def bug(argv):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(step04_gmm, "main", bug)
    with pytest.raises(ZeroDivisionError):  # not a user error: its traceback is kept
        cli.main(["gmm"])


# ---- real data or a clear stop ---------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data folder and cache (downloads are off in the tests: conftest). --data-dir sets
    $SCRATCH_DATA: setting it here too restores it after the test."""
    folder = tmp_path / "data"
    (folder / "mnist").mkdir(parents=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SCRATCH_DATA", str(folder))
    return folder


@pytest.mark.parametrize("command", ["vae", "hvae", "diffusion"])
def test_training_without_mnist_stops_and_names_the_file(command, data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [command, "train", "--epochs", "1", "--data-dir", str(data_dir), "--out", str(out)]
    status, err = run(argv, capsys)
    assert status == 1 and len(err) == 1 and "error" in err[0]
    assert "mnist/train-images-idx3-ubyte.gz" in err[0] and "--data-dir" in err[0]
    assert not (out / "checkpoint.npz").exists()


def test_truncated_mnist_is_corrupt_even_in_quick_mode(data_dir, tmp_path, capsys):
    name = data_dir / "mnist/train-images-idx3-ubyte.gz"
    name.write_bytes(gzip.compress(b"\0" * 1000)[:100])
    for quick in ([], ["--quick"]):
        argv = ["vae", "train", *quick, "--data-dir", str(data_dir), "--out", str(tmp_path)]
        status, err = run(argv, capsys)
        assert status == 1 and len(err) == 1 and "corrupt" in err[0] and "not found" not in err[0]
        assert not (tmp_path / "checkpoint.npz").exists()


def test_quick_without_data_says_it_uses_a_stand_in(data_dir, tmp_path, capsys):
    argv = ["mle", "--quick", "--data-dir", str(data_dir), "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "quick mode, a generated stand-in for book/height.txt" in out
    assert '"data": "generated stand-in for book/height.txt"' in (tmp_path / "mle.json").read_text()


# ---- sampling after the demo -----------------------------------------------------------------


def test_sample_finds_the_demo_run_then_the_shipped_weights(vae_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["vae", "sample"]) == 0  # no run yet: the shipped weights
    out = capsys.readouterr().out
    assert "shipped pretrained 'vae' weights" in out
    assert "wrote scratch-out/vae_samples_seed0.png" in out
    shutil.copytree(vae_run, tmp_path / "scratch-out" / "step07_vae")  # as scratch demo leaves it
    assert cli.main(["vae", "sample", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "scratch-out/step07_vae/checkpoint.npz (scratch demo's run)" in out
    assert (tmp_path / "scratch-out/vae_samples_seed1.png").is_file()
    assert not (tmp_path / "scratch-out/step07_vae/vae_samples_seed1.png").exists()


# ---- help --------------------------------------------------------------------------------------


HELP = [[name] for name in cli.COMMANDS if name not in ACTIONS]
HELP += [[name, action] for name, actions in ACTIONS.items() for action in actions]


@pytest.mark.parametrize("argv", HELP, ids=" ".join)
def test_help_reads(argv, capsys):
    assert cli.main([*argv, "--help"]) == 0
    text = capsys.readouterr().out
    assert "``" not in text and "`" not in text
    description = text.split("\n\n")[1]  # usage, description, options
    assert re.search(r"[.)]$", description.strip()), description
    if argv[0] not in ACTIONS:  # the whole first paragraph of the module's docstring
        import importlib

        module = importlib.import_module(f"scratch.steps.{cli.COMMANDS[argv[0]][0]}")
        assert _common.describe(module.__doc__).split()[-1] in description
    lines = text.split("options:")[1].splitlines()
    for i, line in enumerate(lines):  # every flag has a help text, on its line or the next
        if re.match(r"^  -", line) and not re.search(r"\S  +\S", line.strip()):
            assert i + 1 < len(lines) and re.match(r"^ {10,}\S", lines[i + 1]), (argv, line)


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert re.fullmatch(r"scratch \S+\n", capsys.readouterr().out)


def test_every_flag_has_help_and_shows_its_default():
    from scratch.steps import step01_normal

    parser = _common.make_parser("normal", step01_normal.__doc__)
    parser.add_argument("--x", type=int, default=3, help="a flag")
    text = parser.format_help()
    assert "a flag (default: 3)" in text and "random seed (default: 0)" in text


def test_ci_runs_exactly_the_readmes_commands():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    block = (root / "README.md").read_text().split("```bash\n")[1].split("```")[0]
    commands = [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    ci = [line.strip() for line in (root / ".ci/run").read_text().splitlines()]
    assert commands and all(command in ci for command in commands), commands
