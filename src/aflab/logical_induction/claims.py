"""Registered claims: the logical-induction criterion and its consequences, audited on finite runs.

Sources: Garrabrant, Benson-Tilsen, Critch, Soares, Taylor, "Logical Induction" (2016), sec. 4-5;
Demski, "Radical Probabilism" and the Bayesian-tyrant parable (2020) for the Kelly market.

The independent unit of every pi audit is a *stretch of pi*: each seed of a sweep runs its own market
on its own digits (:func:`.experiments.digit_offset`), so intervals over seeds are t-intervals over
independent markets (``mean_ci``). Quantities that are a worst case over a run (the maker's certificate,
the lowest price of a never-decided sentence) are exact, not estimated: their interval has zero width.
Each threshold says why it sits where it does; each claim has a counterfactual -- a deliberately broken
market (a frozen or oscillating maker, a dogmatic firm, a firm without its arbitrage programs, a floor that
outweighs the learners, no introspection program) -- under which its verdict must be "refuted".
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Interval, Threshold, bootstrap_ci, decide, loglog_slope, mean_ci
from aflab.logical_induction import experiments as E
from aflab.logical_induction import plots as F
from aflab.logical_induction.heldout import suite_of

SOURCE = "Garrabrant, Benson-Tilsen, Critch, Soares, Taylor, 'Logical Induction' (2016)"
PI_SMOKE = {"n_days": 8, "window": 1, "delay": 2, "enum_depth": 1, "band_depth": 1}
PI_QUICK = {"n_days": 48, "window": 2, "delay": 3}
PI_FULL = {"n_days": 240, "window": 2, "delay": 3}
#: quick: 5 stretches. Measured on stretches 0-49 re-judged in disjoint sets: convergence agreed in 10/16 sets
#: of 3 stretches and 10/10 of 5; the other pi audits agreed in every set of either size, except the two below
PI_SEEDS = {"smoke": 2, "quick": 5, "full": 10}
#: pi-digit-frequencies: 7/10 sets of 5 agreed: 16 of 120 stretches have a last-quarter deviation above 0.015,
#: and one of them widens a 5-stretch t-interval past the bar (10 of the 16 hold a digit class >= 2 SD off 1/10
#: over their first 45 digits, which the market follows; so do 32% of the other stretches: a partial cause).
#: Sets of n drawn from the first 50 stretches (400 draws, with replacement) were supported in 72% (n=5),
#: 91% (10), 98% (12) of draws: 12 makes >= 9/10 agreeing sets likely (the bar did not move)
PI_DIGIT_SEEDS = {"smoke": 2, "quick": 12, "full": 12}
#: provability-induction: 7/10 sets of 5, all three on the floor-cost half (5 of 50 stretches price theorems
#: 3x further from 1 in both markets and their paired difference swings +-0.02); the same draws: 83% (n=5),
#: 99.5% (10)
PROVABILITY_SEEDS = {"smoke": 2, "quick": 10, "full": 10}
#: convergence: its tail-oscillation ratio is skewed from stretch to stretch (0.18-2.2 over stretches 0-49);
#: re-judging those 50 stretches in disjoint sets gave 7/10 sets of 5 supported (none refuted) and 4/4 sets of
#: 12 (upper ends 0.57-0.81 against the bar 0.84): 12, as for the digit frequencies (the bar did not move)
CONVERGENCE_SEEDS = {"smoke": 2, "quick": 12, "full": 12}
PI_PRESETS = {"smoke": PI_SMOKE, "quick": PI_QUICK, "full": PI_FULL}


def exact(value: float, n: int | None = None) -> Interval:
    """A computed worst case (not an estimate): a zero-width interval."""
    return Interval(float(value), float(value), float(value), method="exact", se=0.0, n=n)


def per_seed(table: pd.DataFrame, column: str, mask: pd.Series | None = None) -> pd.Series:
    """The mean of ``column`` per seed (rows selected by ``mask``): one value per independent market."""
    t = table if mask is None else table[mask]
    return t.groupby("seed")[column].mean()


N_BATCHES = 5


def unit_values(table: pd.DataFrame, stat, mask: pd.Series | None = None) -> np.ndarray:
    """``stat(rows)`` per independent unit: per seed (an independent market) when the table has >= 2 seeds;
    for a single run (a checkpoint, the long benchmark) per batch of days -- the masked days cut into
    :data:`N_BATCHES` consecutive batches (the batch-means method: long batches are nearly independent)."""
    t = table if mask is None else table[mask]
    if t.seed.nunique() >= 2:
        return np.array([stat(g) for _, g in t.groupby("seed")], dtype=float)
    days = np.sort(t.day.unique())
    batches = np.array_split(days, min(N_BATCHES, len(days)))
    return np.array([stat(t[t.day.isin(b)]) for b in batches if len(b)], dtype=float)


def last_fraction(table: pd.DataFrame, frac: float, col: str = "day") -> pd.Series:
    """Rows in the last ``frac`` of each seed's days."""
    return table[col] > table.groupby("seed")[col].transform("max") * (1 - frac)


# -- market maker (a check: thm 5.1.1 says such prices exist; the solver must find them) ----------------

MAKER_THRESHOLD = Threshold(
    "max over days of worst-case firm value / tolerance",
    "below",
    1.0,
    "the certificate itself: on a certified day max_W W(F_n(P_n)) <= eps_n, so the ratio is below 1; a "
    "single day at or above 1 is an uncertified day (thm 5.1.1 guarantees such prices exist, so it is a "
    "solver failure)",
)


def market_maker_certified_verdict(cfg, t: pd.DataFrame) -> Verdict:
    ratio = float((t.max_value / t.tolerance).max())
    ok, n = int(t.certified.sum()), len(t)
    return Verdict.from_decisions(
        [decide(exact(ratio, n), MAKER_THRESHOLD)],
        {
            "days": n,
            "days_certified": ok,
            "max_value": float(t.max_value.max()),
            "mean_evaluations": float(t.evaluations.mean()),
        },
        f"{ok}/{n} days certified: max_W W(F_n(P_n)) <= max(2^-n, 1e-12) over the SAT back-end's consistent worlds",
        (Comparison("days certified / days", 1.0, ok / n),),
    )


def market_maker_certified_figures(cfg, t: pd.DataFrame) -> dict:
    return {"maker": F.maker_figure(t)}


register(
    Claim(
        id="logical_induction.market-maker-certified",
        statement="MarketMaker (thm 5.1.1): on every day there are prices P_n at which the TradingFirm's trade "
        "has worst-case value <= 2^-n over all worlds consistent with D_n; aflab's solver finds and "
        "certifies them (value computed exactly over the SAT back-end's consistent worlds).",
        source=SOURCE + ", sec. 5.1",
        config=E.PiAuditConfig,
        experiment=E.market_maker_certified_experiment,
        verdict=market_maker_certified_verdict,
        figures=market_maker_certified_figures,
        presets=PI_PRESETS,
        seeds=PI_SEEDS,
        quick_budget_s=60,
        kind="check",
        threshold=MAKER_THRESHOLD,
        counterfactual=Counterfactual(
            "a frozen maker: every undecided sentence priced 1/2, no solve", {"maker": "frozen"}
        ),
    )
)


# -- pi digits -------------------------------------------------------------------------------------

PI_DIGIT_THRESHOLD = Threshold(
    "mean |P - 0.1| of undecided digit sentences, last quarter of days",
    "below",
    0.02,
    "thm 4.4.2 says the prices approach 1/10; 0.02 is a fifth of the target price, the bar issue 14 set after "
    "the old bar (0.05) passed a market whose digit prices sat 0.035 away, i.e. still tracking the noisy "
    "per-digit counts of a few dozen revealed digits",
)


def pi_digit_frequencies_verdict(cfg, t: pd.DataFrame) -> Verdict:
    dev = unit_values(t, lambda g: g.mean_abs_dev.mean(), last_fraction(t, 0.25))
    first = per_seed(t, "mean_abs_dev", ~last_fraction(t, 0.75))
    gap = float(t[last_fraction(t, 0.25)].max_block_gap.max())
    return Verdict.from_decisions(
        [decide(mean_ci(dev), PI_DIGIT_THRESHOLD)],
        {"mean_abs_dev_first_quarter": float(first.mean()), "max_block_gap_last_quarter": gap, "units": len(dev)},
        f"first quarter {first.mean():.3f}; block sums within {gap:.4f} of 1",
        (Comparison("P(digit = d)", 0.1, 0.1 + float(dev.mean()), note="0.1 + mean abs deviation"),),
    )


def pi_digit_frequencies_figures(cfg, t: pd.DataFrame) -> dict:
    return {"frequencies": F.frequencies_figure(t)}


register(
    Claim(
        id="logical_induction.pi-digit-frequencies",
        statement="Learning pseudorandom frequencies (thm 4.4.2): prices of not-yet-computed digit sentences "
        "'pi_digit(n) = d' approach 0.1 (within 0.02 over the last quarter of the run).",
        source=SOURCE + ", sec. 4.4",
        config=E.PiAuditConfig,
        experiment=E.pi_digit_frequencies_experiment,
        verdict=pi_digit_frequencies_verdict,
        figures=pi_digit_frequencies_figures,
        presets=PI_PRESETS,
        seeds=PI_DIGIT_SEEDS,
        quick_budget_s=60,
        threshold=PI_DIGIT_THRESHOLD,
        refuted_if="the t-interval over stretches of pi of the last-quarter mean |P - 0.1| lies above 0.02",
        counterfactual=Counterfactual(
            "the firm without its frequency learners (the programs that count revealed digits); the rest of the "
            "firm -- constants, bands, arbitrage, the floor -- still trades",
            {"drop_programs": ["frequency"]},
        ),
    )
)


# -- limit coherence -------------------------------------------------------------------------------

COHERENCE_THRESHOLD = Threshold(
    "mean L1 distance of digit blocks to the hull of PC(D_n), last quarter",
    "below",
    0.02,
    "thm 4.1.2: prices approach the convex hull of the consistent worlds; 0.02 over a block's 11 prices is "
    "a tenth of the 0.2 mass by which a block of 1/10-priced digits would miss the hull if one price were off "
    "by 0.1, and two orders of magnitude below what a firm without arbitrage programs leaves (docs)",
)


def limit_coherence_verdict(cfg, t: pd.DataFrame) -> Verdict:
    last = last_fraction(t, 0.25)
    hull = unit_values(t, lambda g: g.mean_hull_l1.mean(), last)
    neg = per_seed(t, "mean_negation_gap", last)
    return Verdict.from_decisions(
        [decide(mean_ci(hull), COHERENCE_THRESHOLD)],
        {"negation_gap_last_quarter": float(neg.mean()), "units": len(hull)},
        f"mean |P(phi) + P(~phi) - 1| = {neg.mean():.2e} (last quarter)",
        (Comparison("P(phi) + P(~phi)", 1.0, 1.0 + float(neg.mean())),),
    )


def limit_coherence_figures(cfg, t: pd.DataFrame) -> dict:
    return {"coherence": F.coherence_figure(t)}


register(
    Claim(
        id="logical_induction.limit-coherence",
        statement="Limit coherence (thm 4.1.2): prices approach the convex hull of the worlds consistent with D_n "
        "(digit blocks and their negations within L1 0.02 of the hull over the last quarter).",
        source=SOURCE + ", sec. 4.1",
        config=E.PiAuditConfig,
        experiment=E.limit_coherence_experiment,
        verdict=limit_coherence_verdict,
        figures=limit_coherence_figures,
        presets=PI_PRESETS,
        seeds=PI_SEEDS,
        quick_budget_s=60,
        threshold=COHERENCE_THRESHOLD,
        refuted_if="the t-interval over stretches of the last-quarter L1 distance to the hull lies above 0.02",
        counterfactual=Counterfactual(
            "the firm without its arbitrage programs (block and negation coherence, holding and one-day)",
            {"drop_programs": ["block_coherence", "negation_coherence"]},
            n_seeds=4,
        ),
    )
)


# -- provability induction -------------------------------------------------------------------------

PROVABILITY_THRESHOLD = Threshold(
    "log-log slope of mean (1 - P) of undecided theorems vs day, last two thirds",
    "below",
    -0.5,
    "how fast theorem prices approach 1, not the level they reach: a learner counting proofs (Laplace's rule on "
    "the class) prices the next theorem (k+1)/(k+2), so 1 - P falls like 1/n (slope -1); a price held by a floor "
    "or any fixed level has slope 0; -0.5 (the square-root rate) is the midpoint on the log scale",
)
FLOOR_COST_THRESHOLD = Threshold(
    "mean (1 - P) of theorems, audited minus no-floor control, last third",
    "below",
    0.01,
    "the non-dogmatism floor must not be what sets theorem prices: the audited market may price theorems at most "
    "0.01 further from 1 than the same firm without the floor (issue 14: a floor at 15/16 pinned them at 0.93)",
)


def provability_induction_verdict(cfg, t: pd.DataFrame) -> Verdict:
    li = t[t.market == "logical_inductor"]
    ctl = t[t.market == "no_floor_control"]
    late = li[last_fraction(li, 2 / 3)]
    slope = loglog_slope(late.day.to_numpy(), late.mean_gap.to_numpy(), clusters=late.seed.to_numpy())
    gap_li = per_seed(li, "mean_gap", last_fraction(li, 1 / 3))
    gap_ctl = per_seed(ctl, "mean_gap", last_fraction(ctl, 1 / 3))
    cost = mean_ci((gap_li - gap_ctl.reindex(gap_li.index)).to_numpy())
    return Verdict.from_decisions(
        [decide(slope, PROVABILITY_THRESHOLD), decide(cost, FLOOR_COST_THRESHOLD)],
        {"gap_last_third": float(gap_li.mean()), "gap_last_third_no_floor": float(gap_ctl.mean())},
        f"mean 1 - P of undecided theorems in the last third {gap_li.mean():.4f} (no-floor control {gap_ctl.mean():.4f})",
        (Comparison("P_n(theorem) before proof", 1.0, 1.0 - float(gap_li.mean())),),
    )


def provability_induction_figures(cfg, t: pd.DataFrame) -> dict:
    return {"provability": F.provability_figure(t)}


register(
    Claim(
        id="logical_induction.provability-induction",
        statement="Provability induction (thm 4.2.1): for an efficiently computable sequence of theorems whose "
        "proofs appear late, prices approach 1 before the proofs are revealed -- at least as fast as the "
        "square root of the day, and not held back by the non-dogmatism floor.",
        source=SOURCE + ", sec. 4.2",
        config=E.PiAuditConfig,
        experiment=E.provability_induction_experiment,
        verdict=provability_induction_verdict,
        figures=provability_induction_figures,
        presets=PI_PRESETS,
        seeds=PROVABILITY_SEEDS,
        quick_budget_s=90,
        threshold=PROVABILITY_THRESHOLD,
        refuted_if="the slope's interval lies above -0.5 (theorem prices stall), or the audited market's theorem "
        "prices sit more than 0.01 below the no-floor control's",
        counterfactual=Counterfactual(
            "the firm without its learning programs (frequency and feature learners, constants, bands, "
            "calibration): nothing learns which sentences get proved",
            {"drop_programs": ["frequency", "constant", "band", "calibration"]},
        ),
    )
)


# -- calibration ----------------------------------------------------------------------------------

N_BINS = 5
CALIBRATION_THRESHOLD = Threshold(
    "expected calibration error (5 bins) of prices the day before resolution",
    "below",
    0.05,
    "thm 4.3.3: among sentences priced about p, a fraction about p are true; 0.05 is a quarter of a 5-bin "
    "width, and the whole 95% bootstrap interval (places resampled) must lie below it -- no 'bar + 2 SE'",
)


def ece(price: np.ndarray, value: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error with equal-width bins: sum_j (n_j/n) |mean price_j - frequency_j|."""
    b = np.minimum((np.asarray(price) * n_bins).astype(int), n_bins - 1)
    n = np.bincount(b, minlength=n_bins).astype(float)
    sp = np.bincount(b, weights=price, minlength=n_bins)
    sv = np.bincount(b, weights=np.asarray(value, dtype=float), minlength=n_bins)
    return float(np.abs(sp - sv).sum() / max(n.sum(), 1.0))


def _table_ece(d) -> float:
    return ece(d["price_before"].to_numpy(), d["value"].to_numpy())


def calibration_verdict(cfg, t: pd.DataFrame) -> Verdict:
    t = t.assign(cl=t.seed.astype(str) + "/" + t.cluster)
    iv = bootstrap_ci(t[["price_before", "value", "cl"]], _table_ece, clusters="cl", n_boot=1000)
    return Verdict.from_decisions(
        [decide(iv, CALIBRATION_THRESHOLD)],
        {"n_resolved": len(t), "n_clusters": int(t.cl.nunique())},
        f"{len(t)} resolved sentences in {t.cl.nunique()} independent clusters (a digit place, or a theorem)",
        (Comparison("ECE", 0.0, iv.estimate),),
    )


def calibration_figures(cfg, t: pd.DataFrame) -> dict:
    return {"calibration": F.calibration_figure(t)}


register(
    Claim(
        id="logical_induction.calibration",
        statement="Calibration (thm 4.3.3): among resolved sentences priced at about p, a fraction about p are "
        "true (expected calibration error below 0.05).",
        source=SOURCE + ", sec. 4.3",
        config=E.PiAuditConfig,
        experiment=E.calibration_experiment,
        verdict=calibration_verdict,
        figures=calibration_figures,
        presets=PI_PRESETS,
        seeds=PI_SEEDS,
        quick_budget_s=60,
        threshold=CALIBRATION_THRESHOLD,
        refuted_if="the bootstrap interval of the ECE (digit places and theorems resampled) lies above 0.05",
        counterfactual=Counterfactual(
            "the firm without its frequency learners: what is left prices by fixed beliefs, bands and arbitrage",
            {"drop_programs": ["frequency"]},
        ),
    )
)


# -- non-dogmatism ---------------------------------------------------------------------------------

DOGMATISM_THRESHOLD = Threshold(
    "min over sentences independent of the theory and days of min(P, 1 - P)",
    "above",
    0.01,
    "thm 4.6.2: a sentence independent of the theory keeps a price bounded away from 0 and 1; 0.01 is the bound "
    "stated before measurement (the firm's floor program defends 1/16), checked on every day of every run: a "
    "worst case, not an average",
)


def non_dogmatism_verdict(cfg, t: pd.DataFrame) -> Verdict:
    """Judged on the sentences independent of the theory (class 'undecidable': no proof or refutation ever
    exists), the theorem's scope; the never-revealed far digits of pi are decidable, merely not computed in the
    run, and are reported beside it."""
    never = t[t.kind == "never_decided"]
    independent = never[never.label == "undecidable"]
    far = never[never.label != "undecidable"]
    margin = float(np.minimum(independent.price, 1 - independent.price).min()) if len(independent) else math.nan
    far_margin = float(np.minimum(far.price, 1 - far.price).min()) if len(far) else math.nan
    return Verdict.from_decisions(
        [decide(exact(margin, len(independent)), DOGMATISM_THRESHOLD)],
        {
            "min_price": float(independent.price.min()),
            "max_price": float(independent.price.max()),
            "n_sentences": int(independent.sentence.nunique()),
            "never_revealed_decidable_margin": far_margin,
        },
        f"{independent.sentence.nunique()} independent sentences priced in [{independent.price.min():.4f}, "
        f"{independent.price.max():.4f}] on every day; never-revealed (decidable) digits: margin {far_margin:.4f}",
        (Comparison("min price, independent sentences", None, float(independent.price.min())),),
    )


def undecided_paths_figures(cfg, t: pd.DataFrame) -> dict:
    return {"trajectories": F.trajectories_figure(t)}


register(
    Claim(
        id="logical_induction.non-dogmatism",
        statement="Non-dogmatism (thm 4.6.2): sentences independent of the theory keep prices bounded away from 0 "
        "and 1 (within [0.01, 0.99] on every day).",
        source=SOURCE + ", sec. 4.6",
        config=E.PiAuditConfig,
        experiment=E.undecided_paths_experiment,
        verdict=non_dogmatism_verdict,
        figures=undecided_paths_figures,
        presets=PI_PRESETS,
        seeds=PI_SEEDS,
        quick_budget_s=60,
        threshold=DOGMATISM_THRESHOLD,
        refuted_if="some sentence independent of the theory is priced below 0.01 or above 0.99 on some day",
        counterfactual=Counterfactual(
            "a dogmatic firm: one trader believing every sentence false", {"firm": "dogmatic", "dogmatic_p": 0.0}
        ),
    )
)


# -- convergence ----------------------------------------------------------------------------------

#: the tail oscillation must fall at least like day^-1/4: the ratio of two consecutive dyadic windows' ranges
CONVERGENCE_RATE = 0.25
CONVERGENCE_THRESHOLD = Threshold(
    "log tail-oscillation ratio: log(mean range of never-decided prices over days (N/2, N] / over (N/4, N/2])",
    "below",
    -CONVERGENCE_RATE * math.log(2),
    "thm 4.1.1: every price converges, i.e. (Cauchy) its oscillation max - min over days after N goes to 0. "
    "On a finite run: the range over the last dyadic window (N/2, N] against the one before, (N/4, N/2]. An "
    "oscillation of amplitude ~n^-b has ratio 2^-b; the theorem gives no rate, so the bar is the statement's "
    "weakest power law, b = 1/4 (ratio 0.84, log -0.173): a constant oscillation (an alternating 1/4-3/4 "
    "maker, a log-periodic path) has ratio 1 and is refuted, a random walk with n^-1/2 steps ~1. The range, not "
    "the total variation, because convergence does not need summable steps (an alternating path with "
    "amplitude 1/n converges with infinite variation); the former statistic, the step-size slope, passed a "
    "log-periodic path that never converges. A t-interval over stretches of the log ratio (ratios are skewed)",
)


def daily_steps(t: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, day >= 2): the mean |P_n - P_n-1| over never-decided sentences."""
    never = t[t.kind == "never_decided"].sort_values(["seed", "sentence", "day"])
    never = never.assign(step=never.groupby(["seed", "sentence"]).price.diff().abs())
    return never.dropna(subset=["step"]).groupby(["seed", "day"]).step.mean().reset_index()


#: bounds of the tail-oscillation ratio: a path still in both windows has converged (ratio at the floor), one
#: that moves only in the late window gets the cap (2 orders of magnitude either side of a constant oscillation)
TAIL_RATIO_BOUNDS = (1e-2, 1e2)


def tail_oscillation_ratio(t: pd.DataFrame) -> pd.Series:
    """Per seed (stretch): mean over never-decided sentences of the price range (max - min) over days (N/2, N]
    divided by the mean range over (N/4, N/2] (N = the seed's last day), clipped to ``TAIL_RATIO_BOUNDS``."""
    never = t[t.kind == "never_decided"]
    n = never.day.groupby(never.seed).transform("max")

    def mean_range(rows: pd.DataFrame) -> pd.Series:
        spans = rows.groupby(["seed", "sentence"]).price.agg(lambda p: p.max() - p.min())
        return spans.groupby(level="seed").mean()

    late = mean_range(never[never.day > n / 2])
    early = mean_range(never[(never.day > n / 4) & (never.day <= n / 2)]).reindex(late.index, fill_value=0.0)
    lo, hi = TAIL_RATIO_BOUNDS
    ratio = (late / early.where(early > 0)).fillna(hi).clip(lo, hi)
    return ratio.where(late > 0, lo)


def convergence_verdict(cfg, t: pd.DataFrame) -> Verdict:
    ratio = tail_oscillation_ratio(t)
    steps = daily_steps(t)
    n = steps.groupby("seed").day.transform("max")
    early = float(steps[steps.day <= n / 3].step.mean())
    late = float(steps[steps.day > 2 * n / 3].step.mean())
    moving = steps[steps.step > 0]
    slope = (
        loglog_slope(moving.day.to_numpy(), moving.step.to_numpy(), clusters=moving.seed.to_numpy())
        if moving.day.nunique() >= 2
        else exact(float("nan"))
    )
    log_ratio = mean_ci(np.log(ratio.to_numpy()))
    return Verdict.from_decisions(
        [decide(log_ratio, CONVERGENCE_THRESHOLD)],
        {
            "tail_oscillation_ratio_geometric_mean": float(np.exp(log_ratio.estimate)),
            "mean_step_first_third": early,
            "mean_step_last_third": late,
            "step_loglog_slope": float(slope.estimate),
            "zero_step_days": int((steps.step <= 0).sum()),
        },
        f"tail oscillation ratio (geometric mean over stretches) {np.exp(log_ratio.estimate):.2f}, bar "
        f"{2**-CONVERGENCE_RATE:.2f}; mean |P_n - P_n-1| {early:.2e} (first third) -> {late:.2e} (last third), "
        f"step-size log-log slope {slope.estimate:+.2f} (reported, not decisive)",
        (
            Comparison(
                "tail oscillation ratio (range over (N/2, N] / (N/4, N/2])", None, float(np.exp(log_ratio.estimate))
            ),
        ),
    )


register(
    Claim(
        id="logical_induction.convergence",
        statement="Convergence (thm 4.1.1): the price of every sentence converges; on a finite run, the "
        "never-decided sentences' price oscillation (max - min) shrinks from one dyadic window of days to the "
        "next at least like day^-1/4.",
        source=SOURCE + ", sec. 4.1",
        config=E.PiAuditConfig,
        experiment=E.undecided_paths_experiment,
        verdict=convergence_verdict,
        figures=undecided_paths_figures,
        presets=PI_PRESETS,
        seeds=CONVERGENCE_SEEDS,
        quick_budget_s=60,
        threshold=CONVERGENCE_THRESHOLD,
        refuted_if="the interval (over stretches) of the log tail-oscillation ratio lies above log 2^-1/4: the "
        "prices oscillate late in the run about as much as before (a constant oscillation, a random walk)",
        counterfactual=Counterfactual(
            "an oscillating maker: undecided sentences priced 1/4 and 3/4 on alternate days", {"maker": "oscillating"}
        ),
    )
)


# -- non-exploitation ---------------------------------------------------------------------------------

GAIN_PER_DAY = 0.05
EXPLOITATION_THRESHOLD = Threshold(
    "held-out trader's guaranteed gain per day, last third (each trader's interval over stretches)",
    "below",
    GAIN_PER_DAY,
    "def. 3.5: an exploiting trader's plausible value grows without bound; a finite run sees only its rate. "
    "0.05 a day is issue 14's bar (a trader buying one share of each mispriced digit earns 0.3-4 a day in the "
    "control market). The slope is least squares over the last third of days; each trader gets its own "
    "t-interval over independent stretches of pi (a high-variance bettor's guaranteed gain random-walks by +-2 "
    "per resolved bet, which is luck, not exploitation): 'supported' needs every trader's interval below 0.05, "
    "'refuted' some trader's interval above it",
)
#: the flattening ratio's noise floor (a day): a fifth of the per-day bar
FLATTENING_FLOOR = GAIN_PER_DAY / 5
FLATTENING_THRESHOLD = Threshold(
    "held-out trader's last-third gain / max(first-third gain, 0.01 * third) (interval over stretches)",
    "below",
    0.5,
    "bounded exploitation flattens: a held-out trader may earn in the first third (while the firm learns) but at "
    "most half as much in the last. The denominator's floor, 0.01 a day (a fifth of the per-day bar), keeps "
    "noise around zero gains from deciding; a trader earning a constant rate r has ratio r / max(r, 0.01), so "
    "every constant earner above 0.005 a day fails. (With the floor at the bar itself, 0.05, a trader earning a "
    "steady 0.02 a day forever passed both halves: issue 14's review)",
)
POWER_THRESHOLD = Threshold(
    "held-out guaranteed gain per day in the control market, last third (the clearest trader)",
    "above",
    GAIN_PER_DAY,
    "the audit must be able to see exploitation: in a one-trader dogmatic market some held-out trader must clear "
    "the per-day bar, else a 'supported' would only mean the suite is too weak",
)


def gain_rates(t: pd.DataFrame, market: str) -> pd.DataFrame:
    """Per (seed, held-out trader): least-squares slope of the guaranteed gain (min over worlds) over the
    last third of days, and the gains over the first and last thirds."""
    adv = t[(t.role == "adversary") & (t.market == market)]
    rows = []
    for (seed, trader), g in adv.groupby(["seed", "trader"]):
        g = g.sort_values("day")
        n = g.day.max()
        late = g[g.day > 2 * n / 3]
        first = g[g.day <= n / 3]
        slope = float(np.polyfit(late.day, late.worst, 1)[0]) if len(late) >= 2 else 0.0
        rows.append(
            {
                "seed": seed,
                "trader": trader,
                "slope_last_third": slope,
                "gain_first_third": float(first.worst.iloc[-1]) if len(first) else 0.0,
                "gain_last_third": float(late.worst.iloc[-1] - g[g.day <= 2 * n / 3].worst.iloc[-1]),
                "third": n / 3,
            }
        )
    return pd.DataFrame(rows)


def _slope(rows: pd.DataFrame) -> float:
    return float(np.polyfit(rows.day, rows.worst, 1)[0]) if rows.day.nunique() >= 2 else float("nan")


def trader_intervals(t: pd.DataFrame, market: str) -> dict:
    """Per held-out trader: the t-interval over independent units (stretches of pi; day batches of a single
    run) of its guaranteed gain's least-squares slope over the last third of days."""
    adv = t[(t.role == "adversary") & (t.market == market)]
    late = last_fraction(adv, 1 / 3)
    return {trader: mean_ci(unit_values(g, _slope, late[g.index])) for trader, g in adv.groupby("trader")}


def _extremes(ivs: dict) -> tuple[str, str]:
    """The trader whose interval reaches highest (the hardest to clear) and the one whose interval starts
    highest (the most convincingly above): 'every trader below' is decided by the first, 'some trader
    above' by the second."""
    finite = {k: v for k, v in ivs.items() if np.isfinite(v.estimate)}
    if not finite:
        finite = ivs
    top = max(finite, key=lambda k: (finite[k].high, finite[k].estimate))
    sure = max(finite, key=lambda k: (finite[k].low, finite[k].estimate))
    return top, sure


def non_exploitation_verdict(cfg, t: pd.DataFrame) -> Verdict:
    ivs = trader_intervals(t, "logical_inductor")
    top, sure = _extremes(ivs)
    li = gain_rates(t, "logical_inductor")
    li = li.assign(ratio=li.gain_last_third / np.maximum(li.gain_first_third, FLATTENING_FLOOR * li.third))
    flat = {trader: mean_ci(g.ratio.to_numpy()) for trader, g in li.groupby("trader")}
    ftop, fsure = _extremes(flat)
    ctl = trader_intervals(t, "control")
    _, csure = _extremes(ctl)
    powered = decide(ctl[csure], POWER_THRESHOLD)
    if powered.label == "refuted":  # a blind audit decides nothing either way: never "refuted" for lack of power
        powered = dataclasses.replace(powered, label="inconclusive", reason=powered.reason + " (no power)")
    decisions = [decide(ivs[top], EXPLOITATION_THRESHOLD)]
    if sure != top:
        decisions.append(decide(ivs[sure], EXPLOITATION_THRESHOLD))
    decisions.append(decide(flat[ftop], FLATTENING_THRESHOLD))
    if fsure != ftop:
        decisions.append(decide(flat[fsure], FLATTENING_THRESHOLD))
    decisions.append(powered)
    nums = {f"rate[{k}]": float(v.estimate) for k, v in sorted(ivs.items(), key=lambda kv: -kv[1].estimate)}
    nums.update({f"rate_high[{k}]": float(v.high) for k, v in ivs.items()})
    second = [v.estimate for k, v in ivs.items() if suite_of(k) == "second"]
    nums["highest_rate_second_suite"] = float(max(second)) if second else math.nan
    return Verdict.from_decisions(
        decisions,
        nums,
        f"per held-out trader (interval over stretches): highest reach {top} "
        f"({ivs[top].estimate:.3f} a day, up to {ivs[top].high:.3f}); highest start {sure} "
        f"({ivs[sure].low:.3f}); flattening: {ftop}; control exploited by {csure}",
        (Comparison("held-out guaranteed gain per day (highest)", 0.0, float(ivs[top].estimate)),),
    )


def non_exploitation_figures(cfg, t: pd.DataFrame) -> dict:
    return {"heldout": F.heldout_figure(t, GAIN_PER_DAY), "pnl": F.pnl_figure(t)}


register(
    Claim(
        id="logical_induction.non-exploitation",
        statement="The logical induction criterion (def. 3.5) on a finite run: held-out traders written outside "
        "the firm cannot keep earning -- each one's guaranteed gain grows by less than 0.05 a day over the last "
        "third and flattens (last third at most half the first).",
        source=SOURCE + ", sec. 3.5 and 5",
        config=E.PiAuditConfig,
        experiment=E.non_exploitation_experiment,
        verdict=non_exploitation_verdict,
        figures=non_exploitation_figures,
        # the held-out traders need the firm to have learned: the quick horizon is 120 days (the first third is
        # the learning transient, the last third is judged), the full one the 240. Stretches: each
        # trader's interval is a t over stretches, so 3 (df 2) made its width a lottery (10 disjoint sets of 3:
        # set 0 supported, 9 inconclusive); 5 is every pi audit's quick size. The noisiest digit bettors' slope
        # varies by 0.04-0.06 a day between 240-day stretches (15 measured), so the full preset needs ~13
        # stretches to resolve a rate of 0.01-0.02 against 0.05: 15
        presets={**PI_PRESETS, "quick": {**PI_QUICK, "n_days": 120}},
        seeds={"smoke": 2, "quick": 5, "full": 15},
        quick_budget_s=120,
        threshold=EXPLOITATION_THRESHOLD,
        refuted_if="some held-out trader's last-third gain rate has its interval (over stretches) above 0.05 a day, "
        "or some trader's gains do not flatten (ratio interval above 0.5)",
        counterfactual=Counterfactual("a dogmatic firm: one trader believing 1/2 of everything", {"firm": "dogmatic"}),
    )
)


# -- introspection ----------------------------------------------------------------------------------------

INTROSPECTION_MARGIN = 0.05  # atoms whose inner price lies within this of the threshold are not scored
INTROSPECTION_STATISTIC = "mean |P_n('P_n(phi) > p') - 1[P_n(phi) > p]|, second half"
INTROSPECTION_THRESHOLD = Threshold(
    INTROSPECTION_STATISTIC + ", worse side",
    "below",
    0.1,
    "thm 4.11.1: the market knows its own beliefs; 0.1 leaves room for the non-dogmatism floor (1/16) on atoms "
    "still undecided on their day and is far below the 0.5 of a market that ignores the question",
)


def introspection_verdict(cfg, t: pd.DataFrame) -> Verdict:
    """Mean |price - truth| of the price atoms far from their threshold, second half, per stretch; judged on
    each side on its own (atoms true: P_n(phi) > p + margin; atoms false: P_n(phi) < p - margin), the side
    whose interval reaches highest first. A pooled mean let the many true atoms (priced ~0.98) hide the
    false ones (issue 14's review: pooled 0.061, false side 0.29 at quick). The same error over the second
    quarter of the days (n/4, n/2] is reported, not judged: the property is a limit, and the early number
    shows how far the run is from it (the claim's budget reading)."""
    far = (t.inner_price - t.threshold).abs() >= INTROSPECTION_MARGIN
    last_day = t.groupby("seed").day.transform("max")
    late = t.day > last_day / 2
    early = (t.day > last_day / 4) & ~late
    err_all = t[far].assign(err=lambda d: (d.price - d.truth).abs())
    scored = err_all[late[far]]
    decisions, nums = [], {"atoms_scored": len(scored)}
    for truth, side in ((1, "above"), (0, "below")):
        err = scored[scored.truth == truth].groupby("seed").err.mean()
        nums[f"mean_abs_error_{side}"] = float(err.mean()) if len(err) else math.nan
        nums[f"atoms_{side}"] = int((scored.truth == truth).sum())
        before = err_all[early[far] & (err_all.truth == truth)].err
        nums[f"mean_abs_error_{side}_second_quarter"] = float(before.mean()) if len(before) else math.nan
        statistic = f"{INTROSPECTION_STATISTIC}, atoms with P_n(phi) {side} p"
        decisions.append(
            decide(mean_ci(err.to_numpy()), dataclasses.replace(INTROSPECTION_THRESHOLD, statistic=statistic))
        )
    decisions.sort(key=lambda d: -d.interval.high if np.isfinite(d.interval.high) else -np.inf)
    decisions[0] = dataclasses.replace(decisions[0], threshold=INTROSPECTION_THRESHOLD)
    wrong = float((scored.err > 0.5).mean()) if len(scored) else math.nan
    nums["wrong_side_fraction"] = wrong
    return Verdict.from_decisions(
        decisions,
        nums,
        f"{len(scored)} price atoms with |P_n(phi) - p| >= {INTROSPECTION_MARGIN}: mean abs error "
        f"{nums['mean_abs_error_above']:.3f} where P_n(phi) > p ({nums['atoms_above']} atoms), "
        f"{nums['mean_abs_error_below']:.3f} where below ({nums['atoms_below']}); {wrong:.1%} on the wrong side of 1/2",
        (Comparison("P_n('P_n(phi) > p') - truth", 0.0, float(scored.err.mean()), note="mean abs error, pooled"),),
    )


#: introspection is a limit property, so quick runs 16 days (judged over days 9-16): at 8 days the false
#: side still erred 0.26 (stretch 0), falling to 0.020 at 16 and 0.008 at 24 days (5 thresholds). The cost
#: grows with the thresholds per day -- each adds an atom and a conjunction linked to phi -- so quick uses
#: three that bracket both inner sentences' prices (the digit near 0.1, the undecidable atom near 0.5):
#: ~5 CPU-s a stretch at 16 days, against ~130 with the five defaults (measured 2026-12-07)
INTROSPECTION_PRESETS = {
    "smoke": {"n_days": 6, "window": 1, "delay": 2, "enum_depth": 1, "band_depth": 1},
    "quick": {"n_days": 16, "window": 2, "delay": 3, "enum_depth": 1, "band_depth": 1, "thresholds": (0.05, 0.2, 0.5)},
    "full": {"n_days": 100, "window": 2, "delay": 4},
}
INTROSPECTION_SEEDS = {"smoke": 2, "quick": 5, "full": 10}


def introspection_figures(cfg, t: pd.DataFrame) -> dict:
    return {"introspection": F.introspection_figure(t, INTROSPECTION_MARGIN, INTROSPECTION_THRESHOLD.value)}


register(
    Claim(
        id="logical_induction.introspection",
        statement="Introspection (thm 4.11.1): the market knows its own beliefs -- on day n, the price of the "
        "sentence 'P_n(phi) > p' is near 1 when P_n(phi) is clearly above p and near 0 when clearly below "
        "(each side judged on its own).",
        source=SOURCE + ", sec. 4.11",
        config=E.IntrospectionConfig,
        experiment=E.introspection_experiment,
        verdict=introspection_verdict,
        figures=introspection_figures,
        presets=INTROSPECTION_PRESETS,
        seeds=INTROSPECTION_SEEDS,
        quick_budget_s=150,
        threshold=INTROSPECTION_THRESHOLD,
        refuted_if="the interval over stretches of the mean absolute error lies above 0.1",
        counterfactual=Counterfactual("no introspection program in the firm", {"introspection_weight": 0.0}, n_seeds=3),
    )
)


# -- self-trust -------------------------------------------------------------------------------------------

SELF_TRUST_THRESHOLD = Threshold(
    "mean of min(P_n(phi & A), P_n(phi), P_n(A)) - p P_n(A), A = 'P_n(phi) > p', where P_n(phi) <= p - 0.05, days >= 2",
    "above",
    0.0,
    "thm 4.12.4 (self-trust): E_n[phi 1(P_n(phi) > p)] >~ p E_n[1(P_n(phi) > p)]. Scored where the premise "
    "clearly fails, the side where the inequality binds: there P(phi & A) <= P(phi) < p, so a market that "
    "gives A real weight without tying phi to it violates it, while where the premise holds any coherent "
    "market with P(phi) >= p passes (the former scoring, met by a market with introspection and conjunction "
    "programs both removed: 0.338). The conjunction is capped at its coherent upper bound min(P(phi), P(A)), "
    "so an overpriced, incoherent conjunction does not count as trust. 0 is the theorem's bar (its error "
    "term vanishes)",
)


def self_trust_verdict(cfg, t: pd.DataFrame) -> Verdict:
    """Mean over (phi, p) pairs with P_n(phi) <= p - margin (days >= 2) of the Frechet-capped shortfall
    min(P(phi & A), P(phi), P(A)) - p P(A), per stretch; t-interval over stretches. The pairs where the premise
    holds are reported (their uncapped mean is the former statistic)."""
    t = t[t.day > 1]
    gap = t.phi_price - t.threshold
    below, above = t[gap <= -INTROSPECTION_MARGIN], t[gap >= INTROSPECTION_MARGIN]
    capped = np.minimum(below.conj_price, np.minimum(below.phi_price, below.atom_price))
    margin = (capped - below.threshold * below.atom_price).groupby(below.seed).mean()
    held = (above.conj_price - above.threshold * above.atom_price).groupby(above.seed).mean()
    incoherent = float((below.conj_price > np.minimum(below.phi_price, below.atom_price) + 1e-9).mean())
    nums = {
        "pairs_scored": len(below),
        "premise_true_pairs": len(above),
        "premise_true_margin": float(held.mean()) if len(held) else math.nan,
        "mean_atom_price_premise_false": float(below.atom_price.mean()) if len(below) else math.nan,
        "conjunction_above_frechet_bound": incoherent,
    }
    return Verdict.from_decisions(
        [decide(mean_ci(margin.to_numpy()), SELF_TRUST_THRESHOLD)],
        nums,
        f"{len(below)} (phi, p) pairs with the premise false: mean P_n(A) {nums['mean_atom_price_premise_false']:.3f}, "
        f"conjunction above its Frechet bound in {incoherent:.0%}; premise-true pairs ({len(above)}): "
        f"{nums['premise_true_margin']:+.3f} (reported)",
        (Comparison("capped P_n(phi & A) - p P_n(A), premise false", None, float(margin.mean())),),
    )


def self_trust_figures(cfg, t: pd.DataFrame) -> dict:
    return {"self_trust": F.self_trust_figure(t)}


register(
    Claim(
        id="logical_induction.self-trust",
        statement="Self-trust (thm 4.12.4): the market trusts its own beliefs -- its price for 'phi and "
        "P_n(phi) > p' is at least p times its price for 'P_n(phi) > p'.",
        source=SOURCE + ", sec. 4.12",
        config=E.IntrospectionConfig,
        experiment=E.self_trust_experiment,
        verdict=self_trust_verdict,
        figures=self_trust_figures,
        presets=INTROSPECTION_PRESETS,
        seeds=INTROSPECTION_SEEDS,
        quick_budget_s=150,
        threshold=SELF_TRUST_THRESHOLD,
        refuted_if="the interval over stretches of the mean capped P_n(phi & A) - p P_n(A), on pairs whose premise "
        "clearly fails, lies below 0",
        counterfactual=Counterfactual(
            "a self-distrusting market: a heavy trader prices every 'phi & P_n(phi) > p' at 0, ten times the "
            "weight of the conjunction-coherence program",
            {"distrust_weight": 0.5},
        ),
    )
)


# -- Kelly market (a check: an identity) ---------------------------------------------------------------

KELLY_THRESHOLD = Threshold(
    "max |Kelly market price - Bayes mixture predictive|",
    "below",
    1e-9,
    "an identity (wealth shares are the posterior); 1e-9 is float64 round-off accumulated over 10^5 bets, "
    "while a fractional-Kelly market deviates by > 1e-3",
)
KELLY_CONTROL = Threshold(
    "max |half-Kelly price - Bayes mixture predictive|",
    "above",
    1e-3,
    "the test must discriminate: a market of half-Kelly bettors (a tempered update) must visibly deviate",
)


def kelly_bayes_verdict(cfg, t: pd.DataFrame) -> Verdict:
    d = float((t.p_kelly - t.p_bayes).abs().max())
    dfrac = float((t.p_fractional - t.p_bayes).abs().max())
    return Verdict.from_decisions(
        [decide(exact(d, len(t)), KELLY_THRESHOLD), decide(exact(dfrac, len(t)), KELLY_CONTROL)],
        {"bets": len(t)},
        f"over {len(t)} bets",
        (Comparison("Kelly price - Bayes predictive", 0.0, d),),
    )


def kelly_bayes_figures(cfg, t: pd.DataFrame) -> dict:
    return {"kelly": F.kelly_figure(t)}


register(
    Claim(
        id="logical_induction.kelly-bayes",
        statement="Bayesian tyrant: a market of full-Kelly bettors prices every outcome at the Bayes-mixture "
        "predictive, with wealth shares equal to the posterior; fractional Kelly does not.",
        source="Demski, 'The Bayesian Tyrant' / 'Radical Probabilism' (LessWrong, 2020); Kelly (1956)",
        config=E.KellyBayesConfig,
        experiment=E.kelly_bayes_experiment,
        verdict=kelly_bayes_verdict,
        figures=kelly_bayes_figures,
        presets={"smoke": {"n_steps": 500}, "quick": {"n_steps": 2000}, "full": {"n_steps": 100_000, "n_thetas": 50}},
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=KELLY_THRESHOLD,
        counterfactual=Counterfactual("the bettors bet 3/4-Kelly, not full Kelly", {"kelly_fraction": 0.75}),
    )
)


# -- audits of a run computed elsewhere -----------------------------------------------------------------

#: claim id -> how its table is built from (scenario, run, no-floor run, control run)
PI_TABLES = {
    "logical_induction.market-maker-certified": lambda r: E.maker_table(r["run"]),
    "logical_induction.pi-digit-frequencies": lambda r: E.digit_table(r["run"]),
    "logical_induction.limit-coherence": lambda r: E.coherence_table(r["run"]),
    "logical_induction.calibration": lambda r: E.calibration_table(r["run"]),
    "logical_induction.non-dogmatism": lambda r: E.undecided_paths_table(r["run"]),
    "logical_induction.convergence": lambda r: E.undecided_paths_table(r["run"]),
    "logical_induction.non-exploitation": lambda r: E.exploitation_table(r["run"], r["control"]),
}


def judge_pi_run(cfg: E.PiAuditConfig, scenario, run, only: str = ""):
    """The pi audits on a run computed elsewhere (a checkpoint, the long benchmark's chunked run): each
    claim's table is built from ``run`` by the same table function its experiment uses, and judged by
    its own verdict function; no module state is involved. Needs the control market for the same days
    (computed here, one dogmatic trader: cheap). Provability induction is left out: its no-floor
    control would be a second full run. Yields ``(claim, verdict, cpu_seconds)``."""
    import time

    from aflab.core import get_claim
    from aflab.logical_induction.experiments import ConstantBelief, adversaries
    from aflab.logical_induction.inductor import run_market

    runs = {"run": run}
    if only in "logical_induction.non-exploitation":
        ctl = [ConstantBelief(p=0.5, weight=0.5, name="dogmatic(0.5)")]
        runs["control"] = run_market(scenario, ctl, adversaries(), n_days=int(run.maker.day.max()))
    for claim_id, build in PI_TABLES.items():
        if only not in claim_id:
            continue
        claim = get_claim(claim_id)
        t0 = time.process_time()
        verdict = claim.verdict(cfg, build(runs).assign(seed=0))
        yield claim, verdict, time.process_time() - t0
