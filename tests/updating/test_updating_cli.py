"""`aflab updating ...`: each command runs; bad input gives exit code 2 and one `error:` line."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from aflab.cli import app

runner = CliRunner()


def flat(text: str) -> str:
    """The output with the terminal's line wrapping undone."""
    return " ".join(text.split())


def test_jeffrey_prints_both_orders_exactly():
    res = runner.invoke(app, ["updating", "jeffrey"])
    assert res.exit_code == 0, res.output
    assert "12/17" in res.output and "48/65" in res.output and "48/59" in res.output
    assert "Field orders agree: True" in flat(res.output)


def test_merge_and_bet_run():
    res = runner.invoke(app, ["updating", "merge", "--days", "40"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["updating", "bet", "--runs", "5", "--steps", "100"])
    assert res.exit_code == 0, res.output
    assert "predictable" in res.output and "martingale" in res.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["jeffrey", "--prior", "1/2,1/2"], "--prior needs 4 values"),
        (["jeffrey", "--prior", "x,y"], "--prior must be"),
        (["jeffrey", "--e-targets", "1/2,1/3"], "sum to 1"),
        (["merge", "--glimpse", "0.3"], "--glimpse"),
        (["bet", "--eps", "2"], "--eps"),
        (["li-residual", "--prices", "/nonexistent.parquet"], "does not exist"),
    ],
)
def test_bad_input_is_named(args, needle):
    res = runner.invoke(app, ["updating", *args])
    assert res.exit_code == 2
    assert "error:" in res.output and needle in flat(res.output)


def test_li_residual_on_a_supplied_table(tmp_path):
    rows = [
        {
            "stretch": 0,
            "day": d,
            "sentence": f"s{k}",
            "label": "x",
            "price": 0.5 + 0.1 * ((d + k) % 3) / d,
            "decided": -1,
        }
        for d in range(1, 100)
        for k in range(30)
    ]
    path = tmp_path / "p.parquet"
    pd.DataFrame(rows).to_parquet(path)
    res = runner.invoke(app, ["updating", "li-residual", "--prices", str(path), "--stretches", "1"])
    assert res.exit_code == 0, res.output
    assert "RMS drift" in res.output


def test_li_residual_rejects_a_table_without_prices(tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"stretch": [0], "day": [1]}).to_parquet(path)
    res = runner.invoke(app, ["updating", "li-residual", "--prices", str(path)])
    assert res.exit_code == 2 and "lacks the column" in flat(res.output)


def test_li_residual_names_a_missing_stretch_column(tmp_path):
    path = tmp_path / "no_stretch.parquet"
    pd.DataFrame({"day": [1], "sentence": ["a"], "label": ["x"], "price": [0.5], "decided": [-1]}).to_parquet(path)
    res = runner.invoke(app, ["updating", "li-residual", "--prices", str(path)])
    assert res.exit_code == 2 and "lacks the column 'stretch'" in flat(res.output), res.output
