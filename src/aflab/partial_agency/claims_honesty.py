"""``partial_agency.zero-sum-competition-honest``: honesty mechanisms for the Predict-O-Matic
(:mod:`aflab.partial_agency.honesty`).

Decided: zero-sum competition between two full predictors, in the worlds where a single full predictor
misreports by more than 0.01. Reported next to it: a counterfactual (erasure) oracle and a model-free
(REINFORCE) full agent on the same binary worlds.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import Claim, ClaimConfig, Comparison, Counterfactual, Verdict, register
from aflab.core.plots import PALETTE, new_figure
from aflab.core.stats import Threshold, decide, mean_ci, proportion_ci
from aflab.partial_agency import honesty as Hn
from aflab.partial_agency import predict_o_matic as P


class ZeroSumHonestConfig(ClaimConfig):
    slopes: tuple[float, ...] = Field(
        (-6.0, 3.0, 6.0), min_length=1, description="binary worlds F(p) = sigmoid(b + slope (p - 1/2))"
    )
    simplex_couplings: tuple[float, ...] = Field((6.0,), description="K = 3 worlds softmax(b + s p); () to skip")
    worlds: int = Field(100, ge=2, le=100_000, description="random worlds (b ~ U(-1, 1)) per family and seed")
    steps: int = Field(3000, ge=50, le=200_000, description="simultaneous gradient-ascent steps of the two predictors")
    misreport_min: float = Field(
        0.01, gt=0, le=0.5, description="a world qualifies if a single full predictor misreports by more than this"
    )
    honest_tol: float = Field(1e-3, gt=0, le=0.1, description="|pbar - F(pbar)| (total variation) counted as honest")
    zero_sum: bool = Field(True, description="mechanism switch: False pays each predictor its own score")
    symmetric_start: bool = Field(
        False, description="both predictors start from the same forecast (else independent uniform starts)"
    )
    oracle_rounds: int = Field(4000, ge=100, le=1_000_000, description="rounds of the erasure oracle (reported)")
    reinforce_rounds: int = Field(6000, ge=100, le=1_000_000, description="rounds of the REINFORCE agent (reported)")


HONEST_THRESHOLD = Threshold(
    "fraction of qualifying worlds where zero-sum play ends honest, worst (K, slope, rule) family",
    "above",
    0.95,
    "issue 17's statement: 'zero-sum competition makes |p - F(p)| < 1e-3 in >= 95 % of worlds where a single "
    "full predictor misreports by more than 0.01'; the symmetric first-order condition says every symmetric "
    "equilibrium is a fixed point, so anything systematically below 95 % means other equilibria attract the play",
)


def _single_full_misreport(F: P.SoftmaxResponse, rule: str) -> np.ndarray:
    """TV distance |p* - F(p*)| of a single full predictor's global optimum (grid argmax of G, then polished
    by the full gradient learner), one per world (rows of F's bias)."""
    k = F.k
    grid = P.simplex_grid(k, 400 if k == 2 else 60)
    grid = grid[(grid > 0).all(axis=1)]
    best = []
    for i in range(F.bias.shape[0]):
        Fi = P.SoftmaxResponse(F.bias[i], F.coupling)
        best.append(grid[np.argmax((Fi(grid) * P.simplex_scores(grid, rule)).sum(axis=1))])
    run = P.run_predictor_simplex(F, np.array(best), rule, "full", steps=400)
    return np.abs(run.final - run.outcome_prob).sum(axis=1) / 2


def _families(cfg: ZeroSumHonestConfig, rng: np.random.Generator):
    """(K, slope, world batch as a SoftmaxResponse, binary biases or None) per family."""
    for slope in cfg.slopes:
        b = rng.uniform(-1, 1, cfg.worlds)
        yield 2, float(slope), Hn.logistic_as_softmax(b, slope), b
    for s in cfg.simplex_couplings:
        yield 3, float(s), P.SoftmaxResponse(rng.uniform(-1, 1, (cfg.worlds, 3)), s * np.eye(3)), None


def _mechanism_rows(cfg, F, bias, slope, rule, rng) -> list[dict]:
    """The erasure oracle and the REINFORCE agent on binary worlds (reported, not decisive)."""
    n = len(bias)
    default = np.full((n, 2), 0.5)
    oracle = Hn.erasure_oracle(F, default, rng.dirichlet(np.ones(2), n), rule, rng, rounds=cfg.oracle_rounds)
    q_default = F(default)
    rf = Hn.reinforce_predictor(bias, slope, rng.uniform(0.05, 0.95, n), rule, rng, rounds=cfg.reinforce_rounds)
    Fl = P.LogisticResponse(bias, slope)
    p_star = np.array([P.optimal_report(P.LogisticResponse(b, slope), rule)[0] for b in bias])
    q_oracle, q_rf = F(oracle), Fl(rf)
    rows = []
    for i in range(n):
        rows.append(
            {
                "row": "erasure",
                "error": float(abs(oracle[i, 1] - q_default[i, 1])),
                "gap": float(abs(oracle[i, 1] - q_oracle[i, 1])),
            }
        )
        rows.append({"row": "reinforce", "error": float(abs(rf[i] - p_star[i])), "gap": float(abs(rf[i] - q_rf[i]))})
    return rows


def zero_sum_honest_experiment(cfg: ZeroSumHonestConfig, seed: int) -> pd.DataFrame:
    """One row per (family, rule, world) of zero-sum play: whether the world qualifies (single full predictor
    misreports > misreport_min), the final |pbar - F(pbar)| and |p1 - p2| (TV); plus erasure-oracle and
    REINFORCE rows on the binary worlds (error: distance to F(default) / to the single full optimum)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, slope, F, bias in _families(cfg, rng):
        for rule in P.RULES:
            single = _single_full_misreport(F, rule)
            s1 = rng.dirichlet(np.ones(k), cfg.worlds)
            s2 = s1.copy() if cfg.symmetric_start else rng.dirichlet(np.ones(k), cfg.worlds)
            a, b = Hn.zero_sum_play(F, s1, s2, rule, steps=cfg.steps, zero_sum=cfg.zero_sum)
            pbar = (a + b) / 2
            gap = np.abs(F(pbar) - pbar).sum(axis=1) / 2
            asym = np.abs(a - b).sum(axis=1) / 2
            base = {"outcomes": k, "slope": slope, "rule": rule}
            for i in range(cfg.worlds):
                rows.append(
                    base
                    | {"row": "zero_sum", "world": i, "single_misreport": float(single[i])}
                    | {"gap": float(gap[i]), "asymmetry": float(asym[i]), "error": np.nan}
                )
            if bias is not None:
                extra = _mechanism_rows(cfg, F, bias, slope, rule, rng)
                rows += [
                    base | {"world": j // 2, "single_misreport": np.nan, "asymmetry": np.nan} | r
                    for j, r in enumerate(extra)
                ]
    return pd.DataFrame(rows)


def zero_sum_honest_verdict(cfg: ZeroSumHonestConfig, table: pd.DataFrame) -> Verdict:
    """Per (K, slope, rule) family: among qualifying worlds, the Wilson interval of the fraction whose final
    joint forecast is honest (|pbar - F(pbar)| < honest_tol); headline: the family whose interval reaches lowest."""
    zs = table[(table.row == "zero_sum") & (table.single_misreport > cfg.misreport_min)]
    fam = []
    for (k, slope, rule), g in zs.groupby(["outcomes", "slope", "rule"]):
        iv = proportion_ci(int((g.gap < cfg.honest_tol).sum()), len(g))
        fam.append((decide(iv, HONEST_THRESHOLD), f"K={k} slope={slope:g} {rule}", g))
    fam.sort(key=lambda x: x[0].interval.high)
    decisions, comps = [], []
    for i, (d, label, g) in enumerate(fam):
        thr = HONEST_THRESHOLD if i == 0 else dataclasses.replace(d.threshold, statistic=f"{label}: honest fraction")
        decisions.append(dataclasses.replace(d, threshold=thr, reason=f"{label}: {d.reason}"))
        dishonest = g[g.gap >= cfg.honest_tol]
        comps.append(
            Comparison(
                f"{label}: honest fraction of {len(g)} qualifying worlds",
                None,
                d.interval.estimate,
                d.interval.se,
                note=f"dishonest ends: median |p1 - p2| {dishonest.asymmetry.median():.2f}"
                if len(dishonest)
                else "all honest",
            )
        )
    numbers = {"qualifying_worlds": float(len(zs))}
    for what in ("erasure", "reinforce"):
        sub = table[table.row == what]
        if len(sub):
            err, gap = mean_ci(sub.error), mean_ci(sub.gap)
            numbers[f"{what}_mean_error"], numbers[f"{what}_mean_gap"] = err.estimate, gap.estimate
            target = "F(default) (the counterfactual answer)" if what == "erasure" else "the single full optimum p*"
            comps.append(Comparison(f"{what}: |p - {target}|", 0.0, err.estimate, err.se))
            comps.append(Comparison(f"{what}: |p - F(p)|", None, gap.estimate, gap.se))
    if not decisions:
        decisions = [decide(proportion_ci(0, 0), HONEST_THRESHOLD)]
    return Verdict.from_decisions(decisions, numbers, comparisons=comps)


def zero_sum_honest_figures(cfg: ZeroSumHonestConfig, table: pd.DataFrame) -> dict:
    fig, axes = new_figure(ncols=2, width=4.6)
    zs = table[table.row == "zero_sum"]
    ax = axes[0]
    for i, ((k, slope, rule), g) in enumerate(zs.groupby(["outcomes", "slope", "rule"])):
        ax.scatter(
            np.maximum(g.single_misreport, 1e-6),
            np.maximum(g.gap, 1e-17),
            s=6,
            alpha=0.6,
            color=PALETTE[i % len(PALETTE)],
            label=f"K={k} s={slope:g} {rule[:4]}",
        )
    ax.axhline(cfg.honest_tol, color="k", ls="--", lw=1)
    ax.axvline(cfg.misreport_min, color="gray", ls=":", lw=1)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="single full predictor's misreport |p* - F(p*)|",
        ylabel="zero-sum play: |pbar - F(pbar)|",
        title="Zero-sum competition",
    )
    ax.legend(fontsize=5, ncol=2)
    ax = axes[1]
    labels, values = [], []
    for what in ("erasure", "reinforce"):
        sub = table[table.row == what]
        labels += [f"{what}\n|p - target|", f"{what}\n|p - F(p)|"]
        values += [sub.error.mean(), sub.gap.mean()]
    single = zs[zs.outcomes == 2].single_misreport.mean()
    labels.append("single full\n|p* - F(p*)|")
    values.append(single)
    ax.bar(range(len(values)), values, color=[PALETTE[0], PALETTE[0], PALETTE[1], PALETTE[1], PALETTE[3]])
    ax.set_xticks(range(len(values)), labels, fontsize=6)
    ax.set(ylabel="mean over binary worlds", title="Erasure oracle and model-free full agent")
    return {"honesty_mechanisms": fig}


register(
    Claim(
        id="partial_agency.zero-sum-competition-honest",
        statement=(
            "Zero-sum competition between two full (world-moving) predictors makes their joint forecast honest: "
            "|pbar - F(pbar)| < 1e-3 in >= 95 % of the worlds where a single full predictor misreports by more "
            "than 0.01, in every family of worlds (binary slopes -6, 3, 6; K = 3), because at a symmetric "
            "profile the influence terms cancel."
        ),
        source=(
            "Oesterheld, Treutlein, Cooper, Hudson 2023, 'Incentivizing honest performative predictions with proper "
            "scoring rules' (UAI), and the zero-sum-competition mechanism of that line of work; Armstrong, 'Good and "
            "safe uses of AI oracles' (counterfactual oracles); Demski 2019, Predict-O-Matic"
        ),
        config=ZeroSumHonestConfig,
        experiment=zero_sum_honest_experiment,
        verdict=zero_sum_honest_verdict,
        figures=zero_sum_honest_figures,
        presets={
            "smoke": {
                "slopes": (3.0, 6.0),
                "simplex_couplings": (),
                "worlds": 64,
                "steps": 500,
                "oracle_rounds": 300,
                "reinforce_rounds": 300,
            },
            "quick": {"worlds": 100, "steps": 2000, "oracle_rounds": 2000, "reinforce_rounds": 3000},
            "full": {"slopes": (-8.0, -6.0, -3.0, 3.0, 4.5, 6.0, 10.0), "simplex_couplings": (3.0, 6.0), "worlds": 400},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=20,
        kind="claim",
        threshold=HONEST_THRESHOLD,
        refuted_if="in some family the Wilson interval of the honest fraction lies below 0.95",
        counterfactual=Counterfactual(
            "both predictors start from the same forecast: the play stays on the symmetric line, where the "
            "influence terms cancel exactly",
            {"symmetric_start": True},
            expect="supported",
        ),
    )
)
