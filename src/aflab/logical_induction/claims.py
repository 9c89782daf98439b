"""Registered claims: the logical-induction criterion and its consequences, audited on finite runs.

Sources: Garrabrant, Benson-Tilsen, Critch, Soares, Taylor, "Logical Induction" (2016), sec. 4-5;
Demski, "Radical Probabilism" and the Bayesian-tyrant parable (2020) for the Kelly market.
Thresholds are stated before measurement in each claim's verdict; every verdict can come out refuted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aflab.core import Claim, Comparison, Verdict, register
from aflab.logical_induction import experiments as E
from aflab.logical_induction import plots as F

SOURCE = "Garrabrant, Benson-Tilsen, Critch, Soares, Taylor, 'Logical Induction' (2016)"
PI_QUICK = {"n_days": 24, "window": 2, "delay": 3, "digit_offsets": 1}
PI_FULL = {"n_days": 120, "window": 3, "delay": 4, "enum_depth": 2, "constant_labels": 4, "digit_offsets": 5}


def _tail(table: pd.DataFrame, frac: float, col: str = "day") -> pd.DataFrame:
    n = table[col].max()
    return table[table[col] > n * (1 - frac)]


def _head(table: pd.DataFrame, frac: float, col: str = "day") -> pd.DataFrame:
    n = table[col].max()
    return table[table[col] <= n * frac]


# -- market maker ------------------------------------------------------------------------------------


def v_maker(cfg, t: pd.DataFrame) -> Verdict:
    n = len(t)
    ok = int(t.certified.sum())
    ratio = float((t.max_value / t.tolerance).max())
    nums = {
        "days": n,
        "days_certified": ok,
        "max_value_over_tolerance": ratio,
        "max_value": float(t.max_value.max()),
        "mean_evaluations": float(t.evaluations.mean()),
    }
    label = "supported" if ok == n else "refuted"
    return Verdict(
        label,
        nums,
        f"{ok}/{n} days: max_W W(F_n(P_n)) <= max(2^-n, 1e-12) certified over the "
        f"solver's consistent worlds (worst value/tolerance = {ratio:.3g})",
        (Comparison("days certified / days", 1.0, ok / n),),
    )


register(
    Claim(
        id="logical_induction.market-maker-certified",
        statement="MarketMaker (thm 5.1.1): on every day there are prices P_n at which the TradingFirm's trade "
        "has worst-case value <= 2^-n over all worlds consistent with D_n; aflab's solver finds and "
        "certifies them (value computed exactly over the SAT back-end's consistent worlds).",
        source=SOURCE + ", sec. 5.1",
        config=E.PiAuditConfig,
        experiment=E.exp_maker,
        verdict=v_maker,
        figures=lambda cfg, t: {"maker": F.maker_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- pi digits -------------------------------------------------------------------------------------


def v_pi(cfg, t: pd.DataFrame) -> Verdict:
    last, first = _tail(t, 0.25), _head(t, 0.25)
    dev_l, dev_f = float(last.mean_abs_dev.mean()), float(first.mean_abs_dev.mean())
    gap = float(last.max_block_gap.max())
    nums = {"mean_abs_dev_last_quarter": dev_l, "mean_abs_dev_first_quarter": dev_f, "max_block_gap_last_quarter": gap}
    if dev_l <= 0.05 and gap <= 0.01 and dev_l <= dev_f:
        label = "supported"
    elif dev_l > 0.1 or gap > 0.05:
        label = "refuted"
    else:
        label = "inconclusive"
    return Verdict(
        label,
        nums,
        f"undecided P(pi_digit(n) = d): mean |P - 0.1| = {dev_l:.3f} in the last quarter "
        f"(first quarter {dev_f:.3f}; pass <= 0.05 and not rising), block sums within {gap:.4f} of 1 "
        "(pass <= 0.01)",
        (
            Comparison("P(digit = d)", 0.1, 0.1 + dev_l, note="0.1 + mean abs deviation"),
            Comparison("sum_d P(digit = d)", 1.0, 1.0 + gap, note="worst block"),
        ),
    )


register(
    Claim(
        id="logical_induction.pi-digit-frequencies",
        statement="Learning pseudorandom frequencies (thm 4.4.2): prices of not-yet-computed digit sentences "
        "'pi_digit(n) = d' approach 0.1, and each exclusive-exhaustive block sums to ~1 before resolution.",
        source=SOURCE + ", sec. 4.4",
        config=E.PiAuditConfig,
        experiment=E.exp_pi_frequencies,
        verdict=v_pi,
        figures=lambda cfg, t: {"frequencies": F.frequencies_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- limit coherence -------------------------------------------------------------------------------


def v_coherence(cfg, t: pd.DataFrame) -> Verdict:
    last = _tail(t, 0.25)
    neg, hull = float(last.mean_negation_gap.mean()), float(last.mean_hull_l1.mean())
    nums = {"negation_gap_last_quarter": neg, "hull_l1_last_quarter": hull}
    label = "supported" if neg <= 0.01 and hull <= 0.02 else ("refuted" if neg > 0.05 or hull > 0.1 else "inconclusive")
    return Verdict(
        label,
        nums,
        f"last quarter: mean |P(phi) + P(~phi) - 1| = {neg:.2e} (pass <= 0.01), mean L1 "
        f"distance of digit blocks to the hull of consistent worlds = {hull:.2e} (pass <= 0.02, LP)",
        (Comparison("P(phi) + P(~phi)", 1.0, 1.0 + neg),),
    )


register(
    Claim(
        id="logical_induction.limit-coherence",
        statement="Limit coherence (thm 4.1.2): prices approach the convex hull of the worlds consistent with D_n; "
        "in particular P(phi) + P(~phi) -> 1.",
        source=SOURCE + ", sec. 4.1",
        config=E.PiAuditConfig,
        experiment=E.exp_coherence,
        verdict=v_coherence,
        figures=lambda cfg, t: {"coherence": F.coherence_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- provability induction -------------------------------------------------------------------------


def v_provability(cfg, t: pd.DataFrame) -> Verdict:
    last, first = _tail(t, 1 / 3, "first_day"), _head(t, 1 / 3, "first_day")
    pl, pf = float(last.first_price.mean()), float(first.first_price.mean())
    gap = float((last.revealed_on - last.first_day).mean())
    nums = {"first_price_last_third": pl, "first_price_first_third": pf, "days_before_proof": gap}
    if pl >= 0.8 and pl >= pf + 0.1:
        label = "supported"
    elif pl < 0.6:
        label = "refuted"
    else:
        label = "inconclusive"
    return Verdict(
        label,
        nums,
        f"theorems (true, proofs revealed {gap:.0f} days later): price on first day "
        f"{pf:.3f} (first third) -> {pl:.3f} (last third); pass >= 0.8 and up by >= 0.1",
        (Comparison("P_n(theorem) before proof", 1.0, pl),),
    )


register(
    Claim(
        id="logical_induction.provability-induction",
        statement="Provability induction (thm 4.2.1): for an efficiently computable sequence of theorems whose "
        "proofs appear late, prices approach 1 long before the proofs are revealed.",
        source=SOURCE + ", sec. 4.2",
        config=E.PiAuditConfig,
        experiment=E.exp_provability,
        verdict=v_provability,
        figures=lambda cfg, t: {"provability": F.provability_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- calibration ----------------------------------------------------------------------------------


def ece(price: np.ndarray, value: np.ndarray, n_bins: int = 5) -> tuple[float, float]:
    """Expected calibration error with equal-width bins and its binomial standard error."""
    b = np.minimum((price * n_bins).astype(int), n_bins - 1)
    n = len(price)
    err, var = 0.0, 0.0
    for j in range(n_bins):
        m = b == j
        if m.any():
            f = value[m].mean()
            err += m.sum() / n * abs(price[m].mean() - f)
            var += (m.sum() / n) ** 2 * max(f * (1 - f), 1e-4) / m.sum()
    return float(err), float(np.sqrt(var))


def v_calibration(cfg, t: pd.DataFrame) -> Verdict:
    e, se = ece(t.price_before.to_numpy(), t.value.to_numpy(dtype=float))
    nums = {"ece": e, "ece_stderr": se, "n_resolved": len(t)}
    label = "supported" if e <= 0.05 + 2 * se else ("refuted" if e > 0.1 + 3 * se else "inconclusive")
    return Verdict(
        label,
        nums,
        f"ECE of prices the day before resolution over {len(t)} resolved sentences = "
        f"{e:.3f} +- {se:.3f} (pass <= 0.05 + 2 SE)",
        (Comparison("ECE", 0.0, e, se),),
    )


register(
    Claim(
        id="logical_induction.calibration",
        statement="Calibration (thm 4.3.3): among resolved sentences priced at about p, a fraction about p are true.",
        source=SOURCE + ", sec. 4.3",
        config=E.PiAuditConfig,
        experiment=E.exp_calibration,
        verdict=v_calibration,
        figures=lambda cfg, t: {"calibration": F.calibration_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- non-dogmatism ---------------------------------------------------------------------------------


def v_dogmatism(cfg, t: pd.DataFrame) -> Verdict:
    never = t[t.kind == "never_decided"]
    lo, hi = float(never.price.min()), float(never.price.max())
    eps = 0.01
    nums = {"min_price": lo, "max_price": hi, "n_sentences": int(never.sentence.nunique())}
    label = "supported" if lo >= eps and hi <= 1 - eps else "refuted"
    return Verdict(
        label,
        nums,
        f"never-decided sentences priced in [{lo:.4f}, {hi:.4f}] on every day (pass: inside [{eps}, {1 - eps}])",
        (Comparison("min price", None, lo),),
    )


register(
    Claim(
        id="logical_induction.non-dogmatism",
        statement="Non-dogmatism (thm 4.6.2): sentences independent of the theory keep prices bounded away from 0 and 1.",
        source=SOURCE + ", sec. 4.6",
        config=E.PiAuditConfig,
        experiment=E.exp_undecided_paths,
        verdict=v_dogmatism,
        figures=lambda cfg, t: {"trajectories": F.trajectories_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- convergence ----------------------------------------------------------------------------------


def v_convergence(cfg, t: pd.DataFrame) -> Verdict:
    never = t[t.kind == "never_decided"].sort_values("day")
    steps = never.groupby(["seed", "sentence"]).price.diff().abs()
    never = never.assign(step=steps)
    n = never.day.max()
    early = float(never[(never.day > 1) & (never.day <= n / 3)].step.mean())
    late = float(never[never.day > 2 * n / 3].step.mean())
    ratio = late / early if early > 0 else (0.0 if late == 0 else np.inf)
    nums = {"mean_step_first_third": early, "mean_step_last_third": late, "ratio": float(ratio)}
    label = "supported" if ratio <= 0.5 else ("refuted" if ratio >= 1.0 else "inconclusive")
    return Verdict(
        label,
        nums,
        f"never-decided sentences: mean |P_n - P_n-1| {early:.2e} (first third) -> "
        f"{late:.2e} (last third), ratio {ratio:.3f} (pass <= 0.5, refuted >= 1)",
        (Comparison("late/early oscillation", 0.0, float(ratio)),),
    )


register(
    Claim(
        id="logical_induction.convergence",
        statement="Convergence (thm 4.1.1): the price of every sentence converges; day-to-day oscillation of "
        "never-decided sentences shrinks.",
        source=SOURCE + ", sec. 4.1",
        config=E.PiAuditConfig,
        experiment=E.exp_undecided_paths,
        verdict=v_convergence,
        figures=lambda cfg, t: {"trajectories": F.trajectories_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- non-exploitation ---------------------------------------------------------------------------------


def v_exploitation(cfg, t: pd.DataFrame) -> Verdict:
    adv = t[t.role == "adversary"]
    end = adv[adv.day == adv.day.max()]
    li = end[end.market == "logical_inductor"]
    li_in = float(li[li.adversary_class == "in-class"].worst.max())
    li_out = (
        float(li[li.adversary_class == "out-of-class"].worst.max())
        if (li.adversary_class == "out-of-class").any()
        else float("nan")
    )
    ctl = float(end[end.market == "control"].worst.max())
    nums = {
        "max_guaranteed_gain_in_class": li_in,
        "max_guaranteed_gain_out_of_class": li_out,
        "max_guaranteed_gain_control": ctl,
    }
    if li_in <= 1.0 and ctl >= 5.0:
        label = "supported"
    elif li_in > 3.0:
        label = "refuted"
    else:
        label = "inconclusive"
    return Verdict(
        label,
        nums,
        f"held-out adversaries' guaranteed (worst-world) gain at the end: {li_in:.3f} for "
        f"variants of the firm's programs, {li_out:.3f} for a strategy outside the enumeration (not "
        f"covered), vs {ctl:.1f} in a one-trader control market (pass: in-class <= 1 and control >= 5)",
        (Comparison("in-class adversary guaranteed gain", 0.0, li_in),),
    )


register(
    Claim(
        id="logical_induction.non-exploitation",
        statement="The logical induction criterion (def. 3.5) for a finite firm: held-out traders that are variants "
        "of the programs the firm enumerates (arbitrage with another slope, a frequency trader with "
        "another prior) cannot lock in unbounded gains. The guarantee covers only traders the firm can "
        "represent; a held-out strategy outside the enumeration (a constant belief on digit 5) is "
        "reported, not judged. Measured over the preset's horizon (see docs for long runs).",
        source=SOURCE + ", sec. 3.5 and 5",
        config=E.PiAuditConfig,
        experiment=E.exp_exploitation,
        verdict=v_exploitation,
        figures=lambda cfg, t: {"pnl": F.pnl_figure(t)},
        presets={"quick": PI_QUICK, "full": PI_FULL},
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- introspection ----------------------------------------------------------------------------------------

INTROSPECTION_MARGIN = 0.05  # atoms whose inner price lies within this of the threshold are not scored


def v_introspection(cfg, t: pd.DataFrame) -> Verdict:
    far = (t.inner_price - t.threshold).abs() >= INTROSPECTION_MARGIN
    late = t.day > t.day.max() / 2
    err = (t.price - t.truth).abs()
    li = (t.market == "logical_inductor") & far & late
    ctl = (t.market == "control_no_introspection") & far & late
    e_li, e_ctl = float(err[li].mean()), float(err[ctl].mean())
    wrong = float((err[li] > 0.5).mean())
    nums = {
        "mean_abs_error_li": e_li,
        "wrong_side_fraction_li": wrong,
        "mean_abs_error_control": e_ctl,
        "atoms_scored": int(li.sum()),
    }
    if e_li <= 0.1 and wrong == 0.0:
        label = "supported"
    elif e_li > 0.25 or wrong > 0.05:
        label = "refuted"
    else:
        label = "inconclusive"
    return Verdict(
        label,
        nums,
        f"price atoms 'P_n(phi) > p' priced on day n, second half of the run, |P_n(phi) - p| "
        f">= {INTROSPECTION_MARGIN}: mean |P_n(atom) - 1[P_n(phi) > p]| = {e_li:.3f} (pass <= 0.1, none on "
        f"the wrong side of 1/2: {wrong:.1%}); control market without the introspection program: {e_ctl:.3f}",
        (Comparison("P_n('P_n(phi) > p') - truth", 0.0, e_li, note="mean abs error"),),
    )


def introspection_figure(t: pd.DataFrame):
    from aflab.core.plots import new_figure

    fig, ax = new_figure()
    for market, marker in (("logical_inductor", "o"), ("control_no_introspection", "x")):
        g = t[t.market == market]
        ax.scatter(g.inner_price - g.threshold, g.price, s=10, marker=marker, alpha=0.6, label=market)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(
        xlabel="P_n(phi) - p (the atom is true iff > 0)",
        ylabel="P_n('P_n(phi) > p')",
        title="Introspection: the market prices statements about its own prices",
    )
    ax.legend(fontsize=8)
    return fig


register(
    Claim(
        id="logical_induction.introspection",
        statement="Introspection (thm 4.11.1): the market knows its own beliefs -- on day n, the price of the "
        "sentence 'P_n(phi) > p' is near 1 when P_n(phi) is clearly above p and near 0 when clearly below.",
        source=SOURCE + ", sec. 4.11",
        config=E.IntrospectionConfig,
        experiment=E.exp_introspection,
        verdict=v_introspection,
        figures=lambda cfg, t: {"introspection": introspection_figure(t)},
        presets={
            "quick": {"n_days": 20, "window": 2, "delay": 3, "digit_offsets": 1},
            "full": {"n_days": 100, "window": 2, "delay": 4, "enum_depth": 2, "constant_labels": 4, "digit_offsets": 3},
        },
        seeds={"quick": 1, "full": 3},
        quick_budget_s=30,
    )
)


# -- Kelly market ---------------------------------------------------------------------------------------


def v_kelly(cfg, t: pd.DataFrame) -> Verdict:
    d = float((t.p_kelly - t.p_bayes).abs().max())
    dfrac = float((t.p_fractional - t.p_bayes).abs().max())
    nums = {"max_abs_kelly_minus_bayes": d, "max_abs_fractional_minus_bayes": dfrac}
    label = "supported" if d <= 1e-9 and dfrac >= 1e-3 else ("refuted" if d > 1e-6 else "inconclusive")
    return Verdict(
        label,
        nums,
        f"max |Kelly market - Bayes mixture| = {d:.2e} over {len(t)} bets (pass <= 1e-9); "
        f"the half-Kelly control deviates by {dfrac:.3f} (must be >= 1e-3 for the test to discriminate)",
        (Comparison("Kelly price - Bayes predictive", 0.0, d),),
    )


register(
    Claim(
        id="logical_induction.kelly-bayes",
        statement="Bayesian tyrant: a market of full-Kelly bettors prices every outcome at the Bayes-mixture "
        "predictive, with wealth shares equal to the posterior; fractional Kelly does not.",
        source="Demski, 'The Bayesian Tyrant' / 'Radical Probabilism' (LessWrong, 2020); Kelly (1956)",
        config=E.KellyConfig,
        experiment=E.exp_kelly,
        verdict=v_kelly,
        figures=lambda cfg, t: {"kelly": F.kelly_figure(t)},
        presets={"quick": {"n_steps": 2000}, "full": {"n_steps": 100_000, "n_thetas": 50}},
        seeds={"quick": 2, "full": 5},
        quick_budget_s=5,
    )
)


def judge_pi_run(cfg: E.PiAuditConfig, seed: int, scenario, run, only: str = ""):
    """The pi audits (every claim on :class:`.experiments.PiAuditConfig`, ids containing ``only``) on a
    run computed elsewhere -- a checkpoint, the long benchmark's chunked run -- with the claims' own
    experiment and verdict functions. Yields ``(claim, verdict, cpu_seconds)``; the non-exploitation
    control market is computed for the same days."""
    import time

    from aflab.core import all_claims

    E.supply_run(cfg, seed, scenario, run)
    for claim in all_claims("logical_induction"):
        if claim.config is not type(cfg) or only not in claim.id:
            continue  # introspection and Kelly audits run their own scenarios
        t0 = time.process_time()
        verdict = claim.verdict(cfg, claim.experiment(cfg, seed).assign(seed=seed))
        yield claim, verdict, time.process_time() - t0
