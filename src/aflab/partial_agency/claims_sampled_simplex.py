"""Claim: K-outcome Predict-O-Matic learners that only see sampled categorical outcomes land where the known-F
learners land -- the K = 3 counterpart of :mod:`aflab.partial_agency.claims_sampled`.

``partial_agency.sampled-simplex-learners-match-known-F``. Two sampled learners
(:mod:`aflab.partial_agency.predict_o_matic_sampled_simplex`) -- ``myopic`` (online proper-score gradient on the
realised outcome frequencies) and ``full`` (fits the multinomial logit F_hat from its own announcement/outcome
pairs, ascends the estimated expected score) -- against the known-F learners of
:func:`~aflab.partial_agency.predict_o_matic.run_predictor_simplex` (``myopic`` / ``full``) from the same starts,
in random worlds F(p) = softmax(b + s p), b ~ U(-bias_range, bias_range)^K.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import Claim, ClaimConfig, Comparison, Counterfactual, Verdict, register
from aflab.core.plots import PALETTE, new_figure
from aflab.core.stats import Threshold, bootstrap_ci, decide
from aflab.partial_agency import predict_o_matic as P
from aflab.partial_agency.predict_o_matic_sampled_simplex import (
    run_sampled_predictor_simplex,
    true_softmax_parameters,
)

LEARNERS = ("myopic", "full")


class SampledSimplexConfig(ClaimConfig):
    outcomes: int = Field(3, ge=2, le=6, description="K, the number of outcomes")
    couplings: tuple[float, ...] = Field(
        (-4.0, 5.0), min_length=1, description="performativity strength s: F(p) = softmax(b + s p)"
    )
    instances: int = Field(6, ge=1, le=256, description="random worlds (b ~ U(-bias_range, bias_range)^K) per s")
    bias_range: float = Field(1.0, ge=0, le=5, description="half-width of the bias distribution")
    n_starts: int = Field(2, ge=1, le=200, description="starting forecasts per world: 0.05 + 0.85 Dirichlet(2)")
    rounds: int = Field(1500, ge=200, le=100000, description="announcement rounds of the sampled learners")
    outcomes_per_round: int = Field(10, ge=1, le=10000, description="outcomes observed per announcement")
    lr: float = Field(0.5, gt=0, le=5, description="initial step size (logits), decays as (1 + t/200)^-0.6")
    explore: float = Field(0.3, gt=0, le=3, description="dither of the full learner's announcements (logit sd)")
    warmup: int = Field(100, ge=0, le=10000, description="rounds the full learner only explores before moving")
    known_steps: int = Field(1000, ge=50, le=100000, description="ascent steps of the known-F reference learners")
    agree_tol: float = Field(
        0.05, gt=0, le=0.5, description="max_k |p_sampled - p_known| below this counts as the same end point"
    )
    shuffle_outcomes: bool = Field(
        False, description="mechanism switch: each round the learners see the outcomes of other chains' announcements"
    )


def _world_rows(cfg, s, rule, learner, F, starts, known, run, fps) -> list[dict]:
    """One row per chain of one coupling s: chain c = (world c // n_starts, start c % n_starts)."""
    K = cfg.outcomes
    C = s * np.eye(K)
    rows = []
    for c in range(starts.shape[0]):
        w = c // cfg.n_starts
        d_fp = np.abs(fps[w] - run.final[c]).max(1).min() if len(fps[w]) else np.inf
        truth = true_softmax_parameters(F.bias[c], C)
        rows.append(
            {
                "coupling": float(s),
                "rule": rule,
                "learner": learner,
                "instance": int(w),
                **{f"start_{k}": float(starts[c, k]) for k in range(K)},
                **{f"known_{k}": float(known[c, k]) for k in range(K)},
                **{f"sampled_{k}": float(run.final[c, k]) for k in range(K)},
                "dist": float(np.abs(run.final[c] - known[c]).max()),
                "on_fixed_point": bool(d_fp < 0.02),
                "gap_sampled": float(np.abs(run.final[c] - run.outcome_prob[c]).max()),
                "model_err": float(np.abs(run.model[c] - truth).max()) if learner == "full" else np.nan,
            }
        )
    return rows


def sampled_simplex_experiment(cfg: SampledSimplexConfig, seed: int) -> pd.DataFrame:
    """Per coupling s: instances worlds x n_starts starts, both rules, both learners (sampled and known F)."""
    rng = np.random.default_rng(seed)
    W, S, K = cfg.instances, cfg.n_starts, cfg.outcomes
    rows = []
    for s in cfg.couplings:
        bias = rng.uniform(-cfg.bias_range, cfg.bias_range, (W, K))
        starts = 0.05 + 0.85 * rng.dirichlet(np.full(K, 2.0), W * S)
        starts = starts / starts.sum(1, keepdims=True)  # every coordinate >= 0.05 / (0.85 + 0.05 K)
        F = P.SoftmaxResponse(np.repeat(bias, S, axis=0), s * np.eye(K))
        fps = [np.array([f.p for f in P.fixed_points_simplex(P.SoftmaxResponse(b, s * np.eye(K)), 30)]) for b in bias]
        for rule in P.RULES:
            for learner in LEARNERS:
                known = P.run_predictor_simplex(F, starts, rule, learner, steps=cfg.known_steps).final
                run = run_sampled_predictor_simplex(
                    F,
                    starts,
                    rule,
                    learner,
                    cfg.rounds,
                    rng,
                    cfg.outcomes_per_round,
                    lr=cfg.lr,
                    explore=cfg.explore,
                    warmup=cfg.warmup,
                    shuffle_outcomes=cfg.shuffle_outcomes,
                )
                rows += _world_rows(cfg, s, rule, learner, F, starts, known, run, fps)
    return pd.DataFrame(rows)


AGREE_THRESHOLD = Threshold(
    "fraction of chains ending within agree_tol of the known-F end point (K outcomes, both sampled learners)",
    "above",
    0.85,
    "as for the binary sampled learners: the claim is that the sampled learners land where the known-F ones do "
    "from the same start; stochastic approximation leaves some chains near a basin boundary (a saddle of F on the "
    "simplex) or at finite-round noise, so 'land where' is at least 85 % of chains within agree_tol (0.05, max "
    "over coordinates) -- below that, a visible share of chains ends somewhere else",
)


def _agreement_ci(ch: pd.DataFrame):
    """Pooled fraction of agreeing chains, BCa interval resampling whole worlds (seed, coupling, instance)."""
    world = ch["seed"].astype(str) + "/" + ch["coupling"].astype(str) + "/" + ch["instance"].astype(str)
    counts = ch.groupby(world.to_numpy())["agree"].agg(["sum", "size"]).to_numpy(dtype=float)
    return bootstrap_ci(counts, _pooled_fraction, n_boot=2000)


def _pooled_fraction(counts: np.ndarray) -> float:
    return float(counts[:, 0].sum() / counts[:, 1].sum())


def sampled_simplex_verdict(cfg: SampledSimplexConfig, table: pd.DataFrame) -> Verdict:
    """Agreement = fraction of (seed, world, start) chains whose end point is within agree_tol (max over the K
    coordinates) of the known-F counterpart's. Decisions: pooled and per learner, each a BCa interval over whole
    worlds, above 0.85. Reported: per (coupling, rule, learner) agreement, the myopic chains on a fixed point of
    F, the full learner's self-fulfilment gap (its misreport) and its fitted model's error."""
    ch = table.assign(agree=lambda d: d["dist"] < cfg.agree_tol).reset_index(drop=True)
    decisions = [decide(_agreement_ci(ch), AGREE_THRESHOLD)]
    for lr in LEARNERS:
        thr = dataclasses.replace(AGREE_THRESHOLD, statistic=f"fraction of {lr} chains ending within agree_tol")
        decisions.append(decide(_agreement_ci(ch[ch["learner"] == lr]), thr))
    cells = ch.groupby(["coupling", "rule", "learner"], as_index=False).agg(
        agree=("agree", "mean"), n=("agree", "size")
    )
    comps = [
        Comparison(
            f"s={r['coupling']:g} {r['rule']} {r['learner']}: agreement with known-F",
            1.0,
            float(r["agree"]),
            note=f"{int(r['n'])} chains, tol {cfg.agree_tol}",
        )
        for _, r in cells.iterrows()
    ]
    my, full = ch[ch["learner"] == "myopic"], ch[ch["learner"] == "full"]
    nums = {
        "min_cell_agreement": float(cells["agree"].min()),
        "myopic_on_fixed_point": float(my["on_fixed_point"].mean()),
        "myopic_self_fulfilment_gap": float(my["gap_sampled"].mean()),
        "full_self_fulfilment_gap": float(full["gap_sampled"].mean()),
        "full_model_error_median": float(full["model_err"].median()),
    }
    note = f"worst (coupling, rule, learner) cell agrees {nums['min_cell_agreement']:.2f}"
    return Verdict.from_decisions(decisions, nums, note, comps)


def _barycentric(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First three coordinates of p on the triangle (0, 0), (1, 0), (1/2, sqrt 3 / 2)."""
    return p[:, 1] + 0.5 * p[:, 2], np.sqrt(3) / 2 * p[:, 2]


def sampled_simplex_figures(cfg: SampledSimplexConfig, table: pd.DataFrame) -> dict:
    """End points (log score, first seed) on the simplex: known-F (x) and sampled (dots), one panel per coupling
    and learner, with the world's starts as small grey dots."""
    t = table[table["rule"] == "log"]
    if "seed" in t and len(t):
        t = t[t["seed"] == t["seed"].min()]
    couplings = sorted(t["coupling"].unique()) if len(t) else []
    fig, axes = new_figure(ncols=max(1, 2 * len(couplings)), width=2.8, height=2.8)
    tri = np.array([[0, 0], [1, 0], [0.5, np.sqrt(3) / 2], [0, 0]])
    cols = [f"{{}}_{k}" for k in range(min(cfg.outcomes, 3))]
    for j, (s, learner) in enumerate((s, lr) for s in couplings for lr in LEARNERS):
        ax, g = axes[j], t[(t["coupling"] == s) & (t["learner"] == learner)]
        ax.plot(tri[:, 0], tri[:, 1], color="k", lw=0.6)
        for name, style in (
            ("start", dict(marker=".", color="0.7", ms=3)),
            ("known", dict(marker="x", color="k", ms=6)),
        ):
            x, y = _barycentric(g[[c.format(name) for c in cols]].to_numpy())
            ax.plot(x, y, ls="", **style)
        x, y = _barycentric(g[[c.format("sampled") for c in cols]].to_numpy())
        ax.plot(x, y, ".", color=PALETTE[LEARNERS.index(learner)], ms=5)
        ax.set(title=f"s={s:g}, {learner} (log)", aspect="equal")
        ax.set_axis_off()
    if couplings:
        axes[0].text(0.0, -0.08, "x known-F end, dot sampled end, grey start", fontsize=6)
    return {"sampled_simplex_endpoints": fig}


register(
    Claim(
        id="partial_agency.sampled-simplex-learners-match-known-F",
        statement=(
            "With K outcomes (K = 3), Predict-O-Matic learners that never see F -- only the sampled categorical "
            "outcomes of their own announcements -- land where the known-F learners land from the same start: "
            "calibrating to realised outcome frequencies (myopic) ends on the same self-fulfilling fixed point of "
            "softmax(b + s p), and fitting a multinomial logit to its own announcement/outcome pairs and maximising "
            "the estimated expected score (full agent) ends on the same local score maximiser."
        ),
        source=(
            "Demski 2019, 'The Parable of Predict-O-Matic' / Partial Agency; Oesterheld et al. 2023 (K-outcome "
            "scoring rules); Robbins-Monro stochastic approximation"
        ),
        config=SampledSimplexConfig,
        experiment=sampled_simplex_experiment,
        verdict=sampled_simplex_verdict,
        figures=sampled_simplex_figures,
        presets={
            "smoke": {"instances": 2, "n_starts": 3, "rounds": 600, "known_steps": 600},
            "quick": {},
            "full": {"couplings": (-6.0, -3.0, 3.0, 5.0, 7.0), "instances": 12, "n_starts": 8, "rounds": 4000},
        },
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=20,
        kind="claim",
        threshold=AGREE_THRESHOLD,
        refuted_if="the world-clustered interval of the fraction of chains ending within 0.05 (max over "
        "coordinates) of the known-F learner's end point lies below 0.85",
        counterfactual=Counterfactual(
            "the feedback channel is crossed: each round a learner sees the outcomes of another chain's announcement",
            {"shuffle_outcomes": True},
        ),
    )
)
