"""The logical-induction claims: registered under the contract, and every verdict can come out refuted.

The claim contract (tests/core/test_claim_contract.py) runs each claim's counterfactual -- a deliberately
broken market -- at the smoke preset and requires "refuted". Here: the verdict rules on synthetic tables
with known answers (each direction), and second broken markets the contract does not run.
"""

import numpy as np
import pandas as pd
import pytest

from aflab.core import all_claims, get_claim

CLAIMS = all_claims("logical_induction")


def test_claims_registered_with_kinds():
    kinds = {c.id.split(".")[1]: c.kind for c in CLAIMS}
    assert len(kinds) == 11
    assert kinds["market-maker-certified"] == "check" and kinds["kelly-bayes"] == "check"
    assert sum(k == "claim" for k in kinds.values()) == 9


def test_every_pi_experiment_takes_the_seed_index():
    from aflab.core.claims import takes_seed_index

    for c in CLAIMS:
        assert takes_seed_index(c.experiment) == (c.id != "logical_induction.kelly-bayes"), c.id


def test_seed_indices_read_disjoint_stretches_of_pi():
    from aflab.logical_induction import experiments as E

    cfg = E.PiAuditConfig(n_days=30)
    truths = []
    for i in range(6):  # two stability seed sets of 3
        sc = E.pi_audit_scenario(cfg, i)
        truths.append(tuple(int(sc.truth[s]) for b in sc.blocks[1:] for s in b))
    assert len(set(truths)) == 6
    assert E.digit_offset(cfg, 3) == 3000


def test_maker_and_kelly_checks_refute_on_a_failure():
    c = get_claim("logical_induction.kelly-bayes")
    cfg = c.make_config("smoke")
    t = c.experiment(cfg, 0).assign(seed=0)
    assert c.verdict(cfg, t).label == "supported"
    assert c.verdict(cfg, t.assign(p_kelly=t.p_kelly + 1e-3)).label == "refuted"
    m = get_claim("logical_induction.market-maker-certified")
    mt = pd.DataFrame(
        {
            "day": [1, 2],
            "max_value": [0.1, 0.3],
            "tolerance": [0.5, 0.25],
            "certified": [True, False],
            "evaluations": [1, 1],
            "seed": [0, 0],
        }
    )
    assert m.verdict(m.make_config("quick"), mt).label == "refuted"
    assert m.verdict(m.make_config("quick"), mt.iloc[:1]).label == "supported"


def _ledger(rates_li: dict, rates_ctl: dict, n_days=30, seeds=3, noise=0.01):
    """A synthetic exploitation table: each held-out trader's guaranteed gain grows at its rate a day."""
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(seeds):
        for market, rates in (("logical_inductor", rates_li), ("control", rates_ctl)):
            for trader, rate in rates.items():
                for day in range(1, n_days + 1):
                    w = rate(day) + rng.normal(0, noise)
                    rows.append((day, trader, "adversary", market, w, seed))
    return pd.DataFrame(rows, columns=["day", "trader", "role", "market", "worst", "seed"])


def test_non_exploitation_verdict_each_way():
    c = get_claim("logical_induction.non-exploitation")
    cfg = c.make_config("quick")
    ctl = {"arb": lambda d: 2.0 * d, "const": lambda d: 0.3 * d}
    flat = {"arb": lambda d: 0.001 * min(d, 5), "const": lambda d: -0.5 + 0.01 * min(d, 10)}
    assert c.verdict(cfg, _ledger(flat, ctl)).label == "supported"
    steady = dict(flat, band=lambda d: 0.2 * d)  # one held-out trader keeps earning 0.2 a day
    assert c.verdict(cfg, _ledger(steady, ctl)).label == "refuted"
    slow = dict(flat, band=lambda d: 0.04 * d)  # under the per-day bar but not flattening
    v = c.verdict(cfg, _ledger(slow, ctl))
    assert v.label == "refuted" and v.decisions[1].label == "refuted", v.reason
    steady_small = dict(flat, band=lambda d: 0.02 * d)  # a steady 0.02 a day forever: under the bar, not flat
    v = c.verdict(cfg, _ledger(steady_small, ctl, seeds=5))
    assert v.label == "refuted" and any(
        d.label == "refuted" and "last-third gain /" in d.threshold.statistic for d in v.decisions
    ), v.reason
    blind = c.verdict(cfg, _ledger(flat, flat))  # a control nobody exploits: the audit has no power
    assert blind.label == "inconclusive" and "no power" in blind.reason


def test_calibration_verdict_each_way():
    c = get_claim("logical_induction.calibration")
    rng = np.random.default_rng(0)
    n = 3000
    price = rng.random(n)
    value = (rng.random(n) < price).astype(int)
    t = pd.DataFrame({"price_before": price, "value": value, "cluster": [f"c{i}" for i in range(n)], "seed": 0})
    assert c.verdict(None, t).label == "supported"
    assert c.verdict(None, t.assign(price_before=np.clip(price * 0.5 + 0.4, 0, 1))).label == "refuted"


def test_provability_verdict_reads_speed_not_level():
    c = get_claim("logical_induction.provability-induction")
    days = np.arange(1, 49)
    rows = []
    for seed in range(3):
        for market in ("logical_inductor", "no_floor_control"):
            gap = 1.0 / (days + 2) * (1 + 0.05 * seed)  # Laplace's rule: slope -1
            rows.append(pd.DataFrame({"day": days, "mean_gap": gap, "market": market, "seed": seed}))
    good = pd.concat(rows, ignore_index=True)
    assert c.verdict(None, good).label == "supported"
    pinned = good.assign(
        mean_gap=np.where(good.market == "logical_inductor", np.maximum(good.mean_gap, 1 / 16), good.mean_gap)
    )
    v = c.verdict(None, pinned)  # the floor holds the audited market at 15/16: slow, and behind the control
    assert v.label == "refuted" and [d.label for d in v.decisions] == ["refuted", "refuted"]


@pytest.mark.parametrize(
    "claim_id,overrides",
    [
        # a second broken market per audit, beside the contract's counterfactual
        ("logical_induction.non-exploitation", {"drop_programs": ["block_coherence"]}),
        ("logical_induction.pi-digit-frequencies", {"maker": "frozen"}),
        ("logical_induction.limit-coherence", {"firm": "dogmatic"}),
        ("logical_induction.non-dogmatism", {"firm": "dogmatic", "dogmatic_p": 1.0}),
        ("logical_induction.calibration", {"maker": "oscillating"}),
        ("logical_induction.calibration", {"firm": "dogmatic"}),
        ("logical_induction.pi-digit-frequencies", {"firm": "dogmatic"}),
    ],
)
def test_a_second_broken_market_is_refuted(claim_id, overrides):
    c = get_claim(claim_id)
    cfg = c.make_config("smoke", overrides)
    t = pd.concat([c.run(cfg, 0, i).assign(seed=i) for i in range(c.n_seeds("smoke"))], ignore_index=True)
    v = c.verdict(cfg, t)
    assert v.label == "refuted", v.reason


def _paths(step, n_days=48, seeds=5, sentences=3):
    """A synthetic never-decided price table: price paths with the given daily move per (seed, day)."""
    rows = []
    for seed in range(seeds):
        for k in range(sentences):
            price = 0.5
            for day in range(1, n_days + 1):
                price = price + step(day, seed, k) if day > 1 else 0.5
                rows.append((day, f"s{k}", price, "never_decided", seed))
    return pd.DataFrame(rows, columns=["day", "sentence", "price", "kind", "seed"])


def test_convergence_verdict_reads_the_tail_oscillation_not_a_step_slope():
    """Summable steps (n^-1.5) and an alternating path of amplitude 1/n (convergent, infinite variation)
    converge: supported; a constant oscillation, a log-periodic one (its step sizes fall like 1/n, so the old
    step-slope rule passed it) and a random walk with constant steps do not: refuted; constant prices have
    converged: supported."""
    c = get_claim("logical_induction.convergence")
    rng = np.random.default_rng(3)
    assert c.verdict(None, _paths(lambda d, s, k: (-1) ** d * 0.3 * d**-1.5)).label == "supported"
    alternating_decay = _paths(lambda d, s, k: (-1) ** d * (0.3 / d + 0.3 / (d - 1)))  # P = 1/2 +- 0.3/n
    assert c.verdict(None, alternating_decay).label == "supported"

    def log_periodic(d, s, k):
        return 0.2 * (np.sin(3 * np.log(d) + s + k) - np.sin(3 * np.log(d - 1) + s + k))

    v = c.verdict(None, _paths(log_periodic, seeds=12))
    assert v.label == "refuted", v.reason
    assert v.numbers["step_loglog_slope"] < -0.9  # the former rule (slope < -0.25) read it as converging
    constant = _paths(lambda d, s, k: 0.5 * (-1) ** d)  # 1/4, 3/4 on alternate days
    assert c.verdict(None, constant).label == "refuted"
    walk = _paths(lambda d, s, k: rng.choice((-1, 1)) * 0.01, seeds=12)
    assert c.verdict(None, walk).label == "refuted"
    assert c.verdict(None, _paths(lambda d, s, k: 0.0)).label == "supported"
