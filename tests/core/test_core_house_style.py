"""House style, checked: no function over 80 lines anywhere in the package; `aflab --help` imports no system,
torch or model. (ruff and mypy on core/ run in `make lint`, part of `make test`.)"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "aflab"
MAX_LINES = 80


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]


def test_no_function_over_80_lines_in_the_package():
    """Every system, not only core: a reader sees one step of an algorithm per function."""
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 100  # the whole package was read
    assert [f for path in files for f in _long_functions(path)] == []


def test_the_line_count_rule_catches_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    long_one = tmp_path / "long.py"
    long_one.write_text(f"def too_long():\n{body}\n")
    assert _long_functions(long_one) == [f"long.py:1 too_long ({MAX_LINES + 1} lines)"]


def test_help_imports_no_system_and_no_torch():
    code = (
        "import sys; sys.argv=['aflab','--help']\n"
        "from aflab.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'ray')"
        " or (m.startswith('aflab.') and not m.startswith(('aflab.core', 'aflab.cli')))]\n"
        "print('LOADED', bad)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "LOADED []" in res.stdout, res.stdout[-2000:] + res.stderr[-2000:]
