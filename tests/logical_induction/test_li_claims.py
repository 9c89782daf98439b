"""Every registered logical-induction claim runs at its quick preset and passes on its scenario."""

import pandas as pd
import pytest

from aflab.core import all_claims
from aflab.core.plots import figure_png

CLAIMS = all_claims("logical_induction")


def test_claims_registered():
    ids = {c.id for c in CLAIMS}
    assert len(ids) >= 9
    assert "logical_induction.market-maker-certified" in ids


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_claim_quick_preset_supported(claim):
    cfg = claim.make_config("quick")
    table = pd.concat(
        [claim.experiment(cfg, s).assign(seed=s) for s in range(claim.n_seeds("quick"))], ignore_index=True
    )
    table.to_parquet(__import__("io").BytesIO())  # Parquet-serialisable
    verdict = claim.verdict(cfg, table)
    assert verdict.label == "supported", verdict.reason
    figs = claim.figures(cfg, table)
    assert figs and all(len(figure_png(f, dpi=40)) > 1000 for f in figs.values())


def test_verdicts_can_refute():
    c = next(c for c in CLAIMS if c.id == "logical_induction.kelly-bayes")
    cfg = c.make_config("quick")
    t = c.experiment(cfg, 0).assign(seed=0)
    t["p_kelly"] = t["p_kelly"] + 1e-3
    assert c.verdict(cfg, t).label == "refuted"
    m = next(c for c in CLAIMS if c.id == "logical_induction.market-maker-certified")
    mt = pd.DataFrame(
        {
            "day": [1, 2],
            "max_value": [0.1, 0.0],
            "tolerance": [0.5, 0.25],
            "certified": [True, False],
            "evaluations": [1, 1],
            "n_priced": [1, 1],
            "n_undecided": [1, 1],
            "split_bound": [0, 0],
            "seconds": [0, 0],
            "seed": [0, 0],
        }
    )
    assert m.verdict(m.make_config("quick"), mt).label == "refuted"


def test_non_exploitation_judges_in_class_adversaries_only():
    c = next(c for c in CLAIMS if c.id == "logical_induction.non-exploitation")
    cfg = c.make_config("quick")
    t = c.experiment(cfg, 0).assign(seed=0)
    last = (t.day == t.day.max()) & (t.market == "logical_inductor")
    assert set(t[t.role == "adversary"].adversary_class) == {"in-class", "out-of-class"}
    out = t.copy()
    out.loc[last & (out.adversary_class == "out-of-class"), "worst"] = 100.0  # reported, not judged
    v = c.verdict(cfg, out)
    assert v.label == "supported" and v.numbers["max_guaranteed_gain_out_of_class"] == 100.0
    bad = t.copy()
    bad.loc[last & (bad.trader == "adv:frequency(digit=3,3)"), "worst"] = 5.0
    assert c.verdict(cfg, bad).label == "refuted"
