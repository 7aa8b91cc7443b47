"""The import rule that ports the book's PyTorch scripts onto scratch (issue 17), and a loader of a
ported script's definitions.

In a line that starts with ``import`` or ``from``, the module ``torchvision`` becomes
``scratch.vision`` and ``torch`` becomes ``scratch``; a plain ``import torch`` keeps the name the
body uses (``import scratch as torch``). No other line changes.
"""

import ast
import re
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1].parent / "shared" / "book-code"

_PLAIN = {"torch": "import scratch as torch", "torchvision": "import scratch.vision as torchvision"}


def port_line(line: str) -> str:
    if not line.startswith(("import ", "from ")):
        return line
    plain = re.fullmatch(r"import (torch|torchvision)\s*", line)
    if plain:
        return _PLAIN[plain.group(1)]
    line = re.sub(r"\btorchvision\b(?=[.\s]|$)", "scratch.vision", line)
    return re.sub(r"(?<![.\w])torch\b(?=[.\s]|$)", "scratch", line)


def port(source: str) -> str:
    return "\n".join(port_line(line) for line in source.split("\n"))


def definitions(name: str) -> dict:
    """The imports, functions, classes and constants of a ported book script, without running its
    top-level training: the namespace of the statements that define things."""
    path = BOOK / name
    tree = ast.parse(port(path.read_text()), str(path))
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    tree.body = [
        s
        for s in tree.body
        if isinstance(s, keep) or (isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant))
    ]
    namespace = {"__name__": "book", "__file__": str(path)}
    exec(compile(tree, str(path), "exec"), namespace)  # noqa: S102 - the book's own definitions
    return namespace
