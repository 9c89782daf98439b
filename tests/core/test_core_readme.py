"""The README's five-line Python API example must run as written (a doc test of our own README)."""

from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs(capsys):
    text = README.read_text()
    start = text.index("```python\n") + len("```python\n")
    code = text[start : text.index("```", start)]
    assert len(code.strip().splitlines()) == 5
    pytest.importorskip("aflab.waluigi")
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "-> supported" in out and "[" in out  # the verdict and its interval
