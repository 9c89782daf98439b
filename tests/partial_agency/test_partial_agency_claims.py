"""The four claims: registered, run at (trimmed) quick settings, verdicts computable and able to come out refuted."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from aflab.core import ConfigError, get_claim
from aflab.core.claims import load_system

load_system("partial_agency")  # only this system: another system's import error must not mask ours
IDS = [
    "partial_agency.myopic-reach-stable-not-optimal",
    "partial_agency.rrm-linear-below-gamma-over-beta",
    "partial_agency.full-agents-lower-entropy",
    "partial_agency.honest-only-at-fixed-points",
]
SMALL = {
    IDS[0]: {"maps": ("location", "strategic", "game"), "rounds": 120, "dfo_rounds": 400, "replicates": 2},
    IDS[1]: {"replicates": 3, "rounds": 30, "strategic_eps_values": (0.01, 8.0)},
    IDS[2]: {
        "instances": 6,
        "n_starts": 11,
        "steps": 800,
        "slopes": (3.0, 6.0),
        "simplex_instances": 2,
        "simplex_steps": 300,
    },
    IDS[3]: {"instances": 8, "grid": 2001},
}


@pytest.fixture(scope="module")
def tables():
    out = {}
    for cid in IDS:
        c = get_claim(cid)
        cfg = c.make_config("quick", SMALL[cid])
        out[cid] = (cfg, pd.concat([c.experiment(cfg, s).assign(seed=s) for s in (11, 12)], ignore_index=True))
    return out


@pytest.mark.parametrize("cid", IDS)
def test_claim_runs_and_draws(cid, tables):
    c = get_claim(cid)
    cfg, table = tables[cid]
    v = c.verdict(cfg, table)
    assert v.label in ("supported", "refuted", "inconclusive") and v.reason
    assert all(np.isfinite(x) or np.isnan(x) for x in v.numbers.values())
    figs = c.figures(cfg, table)
    assert figs and all(isinstance(f, Figure) for f in figs.values())
    table.to_parquet(__import__("io").BytesIO())  # plain columns only


def test_experiment_is_deterministic(tables):
    c = get_claim(IDS[3])
    cfg, _ = tables[IDS[3]]
    pd.testing.assert_frame_equal(c.experiment(cfg, 5), c.experiment(cfg, 5))


def test_stable_not_optimal_supported_and_refutable(tables):
    c = get_claim(IDS[0])
    cfg, table = tables[IDS[0]]
    v = c.verdict(cfg, table)
    assert v.label == "supported", v.reason
    assert v.numbers["myopic_mean_s"] < 0.1 and v.numbers["full_mean_s"] > 0.8
    lim = table["row"] == "limit"
    swapped = table.copy()
    swapped.loc[lim, "proj"] = 1.0 - table.loc[lim, "proj"]  # every learner now ends at the other point
    assert c.verdict(cfg, swapped).label == "refuted"


def test_stable_not_optimal_counterfactual_config_is_validated():
    c = get_claim(IDS[0])
    with pytest.raises(ConfigError, match="myopic_learners"):
        c.make_config("quick", {"stop_gradient": False})  # RRM has no through-the-map variant
    with pytest.raises(ConfigError, match="full_learners"):
        c.make_config("quick", {"full_learners": ("nope",)})


def test_rrm_rate_check_and_its_mutation(tables):
    c = get_claim(IDS[1])
    cfg, table = tables[IDS[1]]
    v = c.verdict(cfg, table)
    assert v.label == "supported", v.reason
    assert v.numbers["location_max_abs_rate_error"] < 0.02  # measured contraction = eps (tight bound)
    slow = table.copy()
    slow.loc[(slow["row"] == "rate") & slow["condition_holds"], "rate"] += 0.3
    assert c.verdict(cfg, slow).label == "refuted"
    tame = table.copy()
    tame.loc[tame["row"] == "rate", "status"] = "converged"
    assert c.verdict(cfg, tame).label == "refuted"  # no divergence beyond gamma/beta


def test_entropy_verdict_is_decided_per_family(tables):
    c = get_claim(IDS[2])
    cfg, table = tables[IDS[2]]
    w = table["row"] == "world"
    fu = w & (table["learner"] == "full")
    higher = table.copy()
    higher.loc[fu, "entropy"] = table.loc[fu, "entropy"].to_numpy() + 0.5
    assert c.verdict(cfg, higher).label == "refuted"
    lower = table.copy()
    lower.loc[fu, "entropy"] = 0.0
    assert c.verdict(cfg, lower).label == "supported"
    # the global score maximiser never ends in a world more uncertain than a fixed point (binary outcomes)
    glob = c.verdict(c.make_config("quick", {**SMALL[IDS[2]], "full_learner": "global"}), table)
    assert glob.label != "refuted" and glob.numbers["families_higher"] == 0, glob.reason
    assert all(x.measured > 0 for x in glob.comparisons)


def test_incentive_supported_and_refutable(tables):
    c = get_claim(IDS[3])
    cfg, table = tables[IDS[3]]
    v = c.verdict(cfg, table)
    assert v.label == "supported", v.reason
    honest = table.assign(honest=True)
    assert c.verdict(cfg, honest).label == "refuted"


def test_bad_config_rejected():
    c = get_claim(IDS[0])
    with pytest.raises(ConfigError, match="replicates"):
        c.make_config("quick", {"replicates": 0})
    with pytest.raises(ConfigError, match="unknown key"):
        c.make_config("quick", {"nonsense": 1})
    cfg = c.make_config("quick", {"eps_values": (0.6,), "maps": ("location",)})
    with pytest.raises(ValueError, match="no stable point or optimum"):
        c.experiment(cfg, 0)
