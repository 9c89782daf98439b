"""The registered claims: quick preset runs, verdicts, figures, and that verdicts can be refuted."""

import pandas as pd
import pytest

from aflab.core.claims import Verdict
from aflab.embedded.claims import FAIRBOT, PROBLEM_TABLE, PRUDENTBOT


@pytest.fixture(scope="module")
def tables():
    out = {}
    for claim in (FAIRBOT, PRUDENTBOT, PROBLEM_TABLE):
        cfg = claim.make_config("quick")
        out[claim.id] = (cfg, claim.experiment(cfg, 0).assign(seed=0))
    return out


@pytest.mark.parametrize("claim", [FAIRBOT, PRUDENTBOT, PROBLEM_TABLE], ids=lambda c: c.id)
def test_quick_preset_supported_with_figures(claim, tables):
    cfg, table = tables[claim.id]
    table.to_parquet(pd.io.common.BytesIO()) if hasattr(pd.io.common, "BytesIO") else None
    v = claim.verdict(cfg, table)
    assert isinstance(v, Verdict) and v.label == "supported", v.reason
    figs = claim.figures(cfg, table)
    assert figs and all(hasattr(f, "savefig") for f in figs.values())


def test_tables_are_parquet_serialisable(tables, tmp_path):
    for cid, (_, table) in tables.items():
        table.to_parquet(tmp_path / f"{cid}.parquet")


def test_verdicts_can_be_refuted_or_inconclusive(tables):
    cfg, table = tables[FAIRBOT.id]
    bad = table.copy()
    i = bad.index[bad["kind"] == "match"][0]
    bad.loc[i, "matches_expected"] = False
    assert FAIRBOT.verdict(cfg, bad).label == "refuted"
    bad = table.copy()
    bad.loc[i, "tableau"] = "disagrees"
    assert FAIRBOT.verdict(cfg, bad).label == "inconclusive"
    cfg, table = tables[PROBLEM_TABLE.id]
    bad = table.copy()
    bad.loc[(bad["problem"] == "five_and_ten") & (bad["agent"] == "naive"), "n_spurious"] = 0
    assert PROBLEM_TABLE.verdict(cfg, bad).label == "refuted"


def test_bad_config_is_rejected():
    from aflab.core import ConfigError

    with pytest.raises(ConfigError, match="problems"):
        PROBLEM_TABLE.make_config("quick", {"problems": ("trolley",)})
    with pytest.raises(ConfigError, match="max_level"):
        FAIRBOT.make_config("quick", {"max_level": -1})


def test_problem_table_verdict_counts_only_sourced_rows_and_can_be_refuted(tables):
    cfg, table = tables[PROBLEM_TABLE.id]
    v = PROBLEM_TABLE.verdict(cfg, table)
    sourced = table[table["expected_action"] != ""]
    assert v.numbers["n_literature_rows"] == len(sourced) < len(table)
    assert {"xor_blackmail", "five_and_ten"} <= set(sourced["problem"])
    # a chicken-rule agent with a spurious proof in 5-and-10 refutes the claim
    bad = table.copy()
    bad.loc[(bad["problem"] == "five_and_ten") & (bad["agent"] == "udt_chicken"), "n_spurious"] = 1
    assert PROBLEM_TABLE.verdict(cfg, bad).label == "refuted"
    # UDT paying the XOR blackmailer refutes it
    bad = table.copy()
    bad.loc[(bad["problem"] == "xor_blackmail") & (bad["agent"] == "udt"), "matches_expected"] = False
    assert PROBLEM_TABLE.verdict(cfg, bad).label == "refuted"
