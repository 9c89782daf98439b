"""The shipped LI price table: present, well-formed, with its provenance; foreign tables are validated."""

from __future__ import annotations

import pandas as pd
import pytest

from aflab.updating import li_prices as L


def test_shipped_table_is_complete_and_says_where_it_came_from():
    path = L.shipped_path()
    assert path is not None
    assert L.available_stretches(path) == list(range(50))
    meta = L.provenance(path)
    assert "aflab li run pi" in meta["source"] and meta["days"] == 150
    t = L.read_prices(path, [0])
    assert t["day"].min() == 1 and t["day"].max() == 150
    assert t["price"].between(0, 1).all()
    # the scenario's classes are all there, and undecided rows exist on the last day
    assert {"prime", "composite_neg", "undecidable", "neg_digit"} <= set(t["label"])
    assert (t[t["day"] == 150]["decided"] == -1).any()


def test_read_prices_filters_stretches(tmp_path):
    path = tmp_path / "p.parquet"
    rows = [{"stretch": s, "day": 1, "sentence": "a", "label": "x", "price": 0.5, "decided": -1} for s in range(3)]
    pd.DataFrame(rows).to_parquet(path)
    assert L.read_prices(path, [1, 2])["stretch"].tolist() == [1, 2]


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"stretch": [0], "day": [1], "sentence": ["a"], "label": ["x"], "decided": [-1]}), "price"),
        (
            pd.DataFrame(
                {"stretch": [0], "day": [1], "sentence": ["a"], "label": ["x"], "price": [1.5], "decided": [-1]}
            ),
            r"\[0, 1\]",
        ),
        (
            pd.DataFrame(
                {"stretch": [0], "day": ["one"], "sentence": ["a"], "label": ["x"], "price": [0.5], "decided": [-1]}
            ),
            "numeric",
        ),
    ],
)
def test_bad_tables_are_named(tmp_path, frame, message):
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    with pytest.raises(ValueError, match=message):
        L.read_prices(path)


def test_not_parquet_is_an_error(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("not parquet")
    with pytest.raises(ValueError, match="cannot read"):
        L.read_prices(path)


def test_missing_stretch_column_is_named_when_filtering(tmp_path):
    # the stretch filter used to run first and fail with pyarrow's "No match for FieldRef.Name(stretch)"
    path = tmp_path / "no_stretch.parquet"
    pd.DataFrame({"day": [1], "sentence": ["a"], "label": ["x"], "price": [0.5], "decided": [-1]}).to_parquet(path)
    with pytest.raises(ValueError, match="lacks the column 'stretch'"):
        L.read_prices(path, [0])
