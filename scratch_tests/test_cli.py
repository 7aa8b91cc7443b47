"""The command dispatcher."""

import subprocess
import sys

from scratch.cli import COMMANDS, main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_unknown_command(capsys):
    assert main(["no-such-step"]) == 2
    assert "unknown command 'no-such-step'" in capsys.readouterr().err


def test_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "scratch", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout
