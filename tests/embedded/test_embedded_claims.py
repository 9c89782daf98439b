"""The registered claims: smoke/quick runs, verdicts, figures, and that each verdict can be refuted by
the mutations the claims are about (not only by their declared counterfactuals)."""

import io

import pandas as pd
import pytest

from aflab.core.claims import Verdict
from aflab.embedded.claims import FAIRBOT, PREDICTOR_STRENGTH, PROBLEM_TABLE, PRUDENTBOT
from aflab.embedded.experiments import SOURCED_ROWS, distinguishes

CLAIMS = [FAIRBOT, PRUDENTBOT, PROBLEM_TABLE, PREDICTOR_STRENGTH]


@pytest.fixture(scope="module")
def tables():
    out = {}
    for claim in CLAIMS:
        cfg = claim.make_config("smoke")
        out[claim.id] = (cfg, claim.experiment(cfg, 0).assign(seed=0))
    return out


#: the smoke verdict each claim must reach (predictor strength: refuted in our measurements since its verdict
#: left the cells no proof decided out of the count; agents the predictor can out-prove mostly defect too)
SMOKE_LABEL = {PREDICTOR_STRENGTH.id: "refuted"}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_smoke_preset_verdict_with_figures(claim, tables):
    cfg, table = tables[claim.id]
    v = claim.verdict(cfg, table)
    assert isinstance(v, Verdict) and v.label == SMOKE_LABEL.get(claim.id, "supported"), v.reason
    assert v.headline.threshold == claim.threshold
    figs = claim.figures(cfg, table)
    assert figs and all(hasattr(f, "savefig") for f in figs.values())


def test_tables_round_trip_through_parquet(tables):
    for cid, (_, table) in tables.items():
        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        back = pd.read_parquet(io.BytesIO(buf.getvalue()))
        pd.testing.assert_frame_equal(back, table.reset_index(drop=True), check_exact=True, obj=cid)


def test_theorem_checks_refuted_by_a_wrong_outcome_and_by_a_refuted_certificate(tables):
    cfg, table = tables[FAIRBOT.id]
    i = table.index[table["kind"] == "match"][0]
    bad = table.copy()
    bad.loc[i, "matches_expected"] = False
    assert FAIRBOT.verdict(cfg, bad).label == "refuted"
    bad = table.copy()
    bad.loc[i, "tableau"] = "disagrees"
    assert FAIRBOT.verdict(cfg, bad).label == "refuted"
    cfg, table = tables[PRUDENTBOT.id]
    bad = table.copy()
    bad.loc[bad.index[bad["kind"] == "random"][0], "matches_expected"] = False  # one exploitation
    assert PRUDENTBOT.verdict(cfg, bad).label == "refuted"


def _row(table, problem, agent):
    sel = (table["problem"] == problem) & (table["agent"] == agent)
    assert sel.sum() == 1, (problem, agent)
    return sel


def test_deleting_the_chicken_agents_loebian_proof_refutes_troll_bridge(tables):
    """The Troll Bridge row asserts the proof, not only the action: every agent stays, so a verdict on
    the action alone could not fail (the issue's mutation)."""
    cfg, table = tables[PROBLEM_TABLE.id]
    sel = _row(table, "troll_bridge", "naive_chicken")
    assert "A=cross -> U=-10" in table.loc[sel, "proved_untaken"].iloc[0]
    assert set(table.loc[table["problem"] == "troll_bridge", "action"]) == {"stay"}
    bad = table.copy()
    bad.loc[sel, "proved_untaken"] = ""
    v = PROBLEM_TABLE.verdict(cfg, bad)
    assert v.label == "refuted" and "troll_bridge/naive_chicken" in v.reason


def test_sourced_rows_distinguish_agents(tables):
    """Each smoke-preset statement fails for some other agent of its problem (5-and-10: the naive agent
    takes 5; Troll Bridge: the agents without the chicken rule stay *without* the Löbian proof)."""
    cfg, table = tables[PROBLEM_TABLE.id]
    lit = table[table["expected_action"] != ""]
    assert len(lit) == 7
    assert all(distinguishes(table, r) for _, r in lit.iterrows())
    v = PROBLEM_TABLE.verdict(cfg, table)
    assert v.numbers["n_statements_distinguishing_agents"] == 7


def test_problem_table_is_refuted_by_a_spurious_proof_or_a_wrong_action(tables):
    cfg, table = tables[PROBLEM_TABLE.id]
    bad = table.copy()
    bad.loc[_row(bad, "five_and_ten", "udt_chicken"), "n_spurious"] = 1
    assert PROBLEM_TABLE.verdict(cfg, bad).label == "refuted"
    bad = table.copy()
    bad.loc[_row(bad, "five_and_ten", "naive"), "proved_untaken"] = "A=10 -> U=10"  # no spurious proof
    assert PROBLEM_TABLE.verdict(cfg, bad).label == "refuted"
    bad = table.copy()
    bad.loc[_row(bad, "five_and_ten", "udt"), "action"] = "5"
    assert PROBLEM_TABLE.verdict(cfg, bad).label == "refuted"


def test_quick_problem_table_rows_as_published():
    """The quick preset's sourced rows (computed, not copied): UDT refuses XOR blackmail, PA-level UDT
    one-boxes (its default) against a PA predictor, modal UDT cooperates with its twin."""
    cfg = PROBLEM_TABLE.make_config("quick", {"agents": ("udt_plain", "udt_chicken")})
    table = PROBLEM_TABLE.experiment(cfg, 0).assign(seed=0)
    assert PROBLEM_TABLE.verdict(cfg, table).label == "supported"
    for problem, agent, action in (
        ("xor_blackmail", "udt_plain", "refuse"),
        ("newcomb", "udt_plain", "one_box"),
        ("twin_pd", "udt_plain", "C"),
    ):
        assert table.loc[_row(table, problem, agent), "action"].iloc[0] == action
    assert {k for k in SOURCED_ROWS if k[1] == "udt_plain"} >= {("twin_pd", "udt_plain"), ("newcomb", "udt_plain")}


def test_bad_config_is_rejected():
    from aflab.core import ConfigError

    with pytest.raises(ConfigError, match="problems"):
        PROBLEM_TABLE.make_config("quick", {"problems": ("trolley",)})
    with pytest.raises(ConfigError, match="max_level"):
        FAIRBOT.make_config("quick", {"max_level": -1})
    with pytest.raises(ConfigError, match="prudent_level"):
        PRUDENTBOT.make_config("quick", {"prudent_level": -1})


def test_predictor_grid_records_the_proof_that_fired_and_the_oracle_control(tables):
    _, table = tables[PREDICTOR_STRENGTH.id]
    assert set(table["tableau"]) == {"agrees"}
    # a fired proof names a search UDT actually runs: [L + k*S](A=a -> U=o)
    for _, r in table[table["fired_index"] >= 0].iterrows():
        assert r["fired"].startswith(f"[{r['agent_level'] + r['fired_index'] * r['step']}](A={r['action']} -> U=")
    oracle = PREDICTOR_STRENGTH.make_config("smoke", {"predictor": "oracle"})
    t = PREDICTOR_STRENGTH.experiment(oracle, 0).assign(seed=0)
    assert t["cooperates"].all() and t["rewarded"].all()  # an oracle rewards whoever cooperates, and all do
    assert PREDICTOR_STRENGTH.verdict(oracle, t).label == "refuted"


def test_predictor_verdict_ignores_cells_decided_by_the_default(tables):
    cfg, table = tables[PREDICTOR_STRENGTH.id]
    base = PREDICTOR_STRENGTH.verdict(cfg, table)
    flipped = table.copy()
    by_default = flipped["fired_index"] < 0
    assert by_default.any()
    flipped.loc[by_default, "cooperates"] = ~flipped.loc[by_default, "cooperates"]
    again = PREDICTOR_STRENGTH.verdict(cfg, flipped)
    assert [d.interval.estimate for d in again.decisions] == [d.interval.estimate for d in base.decisions]
    # where strength decides (Parfit, non-escalating searches) the statement holds cell for cell
    parfit = PREDICTOR_STRENGTH.make_config("smoke", {"problems": ("parfit",), "steps": (0,)})
    t = PREDICTOR_STRENGTH.experiment(parfit, 0).assign(seed=0)
    assert (t["cooperates"] == ~t["stronger"]).all()
    assert PREDICTOR_STRENGTH.verdict(parfit, t).label == "supported"
