"""Claim 5: Predict-O-Matic learners that only see sampled outcomes land where the known-F learners land.

``partial_agency.sampled-learners-match-known-F``.  Three sampled learners
(:mod:`aflab.partial_agency.predict_o_matic_sampled`) -- ``myopic`` (online proper-score gradient on
realised outcomes), ``full-logistic`` and ``full-local`` (fit F from their own announcement/outcome pairs,
ascend the estimated expected score) -- against the known-F learners of
:func:`~aflab.partial_agency.predict_o_matic.run_predictor` (``myopic`` / ``full``) from the same starts,
in the same random worlds F(p) = sigmoid(b + slope (p - 1/2)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import Claim, ClaimConfig, Comparison, Verdict, register
from aflab.core.plots import PALETTE, new_figure
from aflab.partial_agency import predict_o_matic as P
from aflab.partial_agency.predict_o_matic_sampled import run_sampled_predictor

#: sampled learner -> (known-F counterpart, estimator)
SAMPLED = {
    "myopic": ("myopic", "logistic"),
    "full-logistic": ("full", "logistic"),
    "full-local": ("full", "local-linear"),
}


class SampledConfig(ClaimConfig):
    slopes: tuple[float, ...] = Field(
        (-6.0, 3.0, 6.0, 10.0), min_length=1, description="performativity strength: F(p) = sigmoid(b + slope (p - 1/2))"
    )
    instances: int = Field(
        6, ge=1, le=1024, description="random worlds (b ~ U(-bias_range, bias_range)) per slope and seed"
    )
    bias_range: float = Field(1.0, ge=0, le=5, description="half-width of the bias distribution")
    n_starts: int = Field(11, ge=2, le=501, description="starting forecasts, uniform on (0.05, 0.95)")
    rounds: int = Field(3000, ge=200, le=200000, description="announcement rounds of the sampled learners")
    outcomes_per_round: int = Field(10, ge=1, le=10000, description="outcomes observed per announcement")
    lr: float = Field(0.5, gt=0, le=5, description="initial step size (logit space), decays as (1 + t/200)^-0.6")
    explore: float = Field(0.3, gt=0, le=3, description="dither of the full learners' announcements (logit sd)")
    warmup: int = Field(100, ge=0, le=10000, description="rounds the full learners only explore before moving")
    known_steps: int = Field(1500, ge=50, le=100000, description="ascent steps of the known-F reference learners")
    agree_tol: float = Field(
        0.05, gt=0, le=0.5, description="|p_sampled - p_known| below this counts as the same end point"
    )
    support_agree: float = Field(
        0.85, gt=0, le=1, description="every cell must agree at least this often for 'supported'"
    )
    refute_agree: float = Field(0.6, gt=0, le=1, description="a cell agreeing less often than this gives 'refuted'")
    trajectory_slope: float = Field(6.0, description="slope whose first world's trajectories are stored for the figure")


def sampled_experiment(cfg: SampledConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    nS, W, K = len(cfg.slopes), cfg.instances, cfg.n_starts
    bias = rng.uniform(-cfg.bias_range, cfg.bias_range, (nS, W))
    starts = np.linspace(0.05, 0.95, K)
    B = np.repeat(bias.ravel(), K)  # chain = (slope, world, start)
    Sl = np.repeat(np.asarray(cfg.slopes, float), W * K)
    St = np.tile(starts, nS * W)
    F = P.LogisticResponse(B, Sl)
    fps = [
        [np.array([f.p for f in P.fixed_points(P.LogisticResponse(float(bias[i, w]), float(s)))]) for w in range(W)]
        for i, s in enumerate(cfg.slopes)
    ]
    rows = []
    traj_slope = cfg.trajectory_slope if cfg.trajectory_slope in cfg.slopes else cfg.slopes[0]
    ti = list(cfg.slopes).index(traj_slope)
    for rule in P.RULES:
        known = {
            m: P.run_predictor(F, St, rule, m, lr=1.0, steps=cfg.known_steps, record_every=cfg.known_steps).final
            for m in ("myopic", "full")
        }
        for learner, (mode, est) in SAMPLED.items():
            run = run_sampled_predictor(
                B,
                Sl,
                St,
                rule,
                mode,
                cfg.rounds,
                rng,
                cfg.outcomes_per_round,
                lr=cfg.lr,
                explore=cfg.explore,
                warmup=cfg.warmup,
                estimator=est,
            )
            pk = known[mode]
            Hk, Hs = P.entropy_bits(F(pk)), P.entropy_bits(run.outcome_prob)
            for c in range(B.size):
                i, w, _ = np.unravel_index(c, (nS, W, K))
                f = fps[i][w]
                fk = int(np.argmin(np.abs(f - pk[c]))) if np.min(np.abs(f - pk[c])) < 0.02 else -1
                fs = int(np.argmin(np.abs(f - run.final[c]))) if np.min(np.abs(f - run.final[c])) < 0.02 else -1
                rows.append(
                    {
                        "row": "chain",
                        "slope": float(cfg.slopes[i]),
                        "rule": rule,
                        "learner": learner,
                        "counterpart": mode,
                        "instance": int(w),
                        "bias": float(B[c]),
                        "start": float(St[c]),
                        "p_known": float(pk[c]),
                        "p_sampled": float(run.final[c]),
                        "H_known": float(Hk[c]),
                        "H_sampled": float(Hs[c]),
                        "fp_known": fk,
                        "fp_sampled": fs,
                        "gap_sampled": float(abs(run.final[c] - run.outcome_prob[c])),
                        "round": -1,
                        "p": np.nan,
                    }
                )
            if rule == "log":
                sel = np.nonzero((Sl == traj_slope) & (bias[ti, 0] == B))[0]
                for c in sel:
                    for r, v in zip(run.record_rounds, run.trajectory[c]):
                        rows.append(
                            {
                                "row": "trajectory",
                                "slope": float(traj_slope),
                                "rule": rule,
                                "learner": learner,
                                "counterpart": mode,
                                "instance": 0,
                                "bias": float(B[c]),
                                "start": float(St[c]),
                                "p_known": float(known[mode][c]),
                                "p_sampled": float(run.final[c]),
                                "H_known": np.nan,
                                "H_sampled": np.nan,
                                "fp_known": -1,
                                "fp_sampled": -1,
                                "gap_sampled": np.nan,
                                "round": int(r),
                                "p": float(v),
                            }
                        )
    return pd.DataFrame(rows)


def _t_label(d: np.ndarray) -> tuple[float, str]:
    se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.nan
    t = d.mean() / se if se and se > 0 else (np.inf * np.sign(d.mean()) if d.mean() != 0 else 0.0)
    return float(t), ("lower" if d.mean() > 0 and t > 3 else ("higher" if d.mean() < 0 and t < -3 else "tie"))


def sampled_verdict(cfg: SampledConfig, table: pd.DataFrame) -> Verdict:
    """Per (slope, rule, sampled learner): agreement = fraction of (seed, world, start) chains whose end
    point is within agree_tol of the known-F counterpart's.  supported: every cell >= support_agree;
    refuted: some cell < refute_agree; else inconclusive.  The entropy ordering H(myopic) - H(full) is
    reported for the known-F and the sampled learners side by side (paired per world, t-test as in
    ``full-agents-lower-entropy``); it does not decide this verdict."""
    ch = table[table["row"] == "chain"].assign(agree=lambda d: (d["p_sampled"] - d["p_known"]).abs() < cfg.agree_tol)
    cells = ch.groupby(["slope", "rule", "learner"], as_index=False).agg(agree=("agree", "mean"), n=("agree", "size"))
    my = ch[ch["learner"] == "myopic"]
    on_fp = float((my["fp_sampled"] >= 0).mean())
    same_fp = float((my["fp_sampled"] == my["fp_known"]).mean())
    # entropy: per (seed, slope, rule, world) mean over starts
    key = ["seed", "slope", "rule", "instance"]
    H = ch.groupby(key + ["learner"], as_index=False).agg(Hs=("H_sampled", "mean"), Hk=("H_known", "mean"))
    piv_s = H.pivot_table(index=key, columns="learner", values="Hs").reset_index()
    piv_k = H.pivot_table(index=key, columns="learner", values="Hk").reset_index()
    ent = []
    for (slope, rule), g in piv_s.groupby(["slope", "rule"]):
        gk = piv_k[(piv_k["slope"] == slope) & (piv_k["rule"] == rule)]
        dk = (gk["myopic"] - gk["full-logistic"]).to_numpy()  # known myopic - known full (same for either full arm)
        ds = (g["myopic"] - g["full-logistic"]).to_numpy()
        dl = (g["myopic"] - g["full-local"]).to_numpy()
        (_, lk), (_, ls), (_, ll) = _t_label(dk), _t_label(ds), _t_label(dl)
        ent.append(
            {
                "slope": slope,
                "rule": rule,
                "Dk": dk.mean(),
                "lk": lk,
                "Ds": ds.mean(),
                "ls": ls,
                "Dl": dl.mean(),
                "ll": ll,
            }
        )
    e = pd.DataFrame(ent)
    nums = {
        "cells": float(len(cells)),
        "min_agreement": float(cells["agree"].min()),
        "median_agreement": float(cells["agree"].median()),
        "myopic_agreement": float(cells[cells["learner"] == "myopic"]["agree"].mean()),
        "full_logistic_agreement": float(cells[cells["learner"] == "full-logistic"]["agree"].mean()),
        "full_local_agreement": float(cells[cells["learner"] == "full-local"]["agree"].mean()),
        "myopic_on_fixed_point": on_fp,
        "myopic_same_fixed_point": same_fp,
        "entropy_cells_same_label": float(((e["lk"] == e["ls"]) & (e["lk"] == e["ll"])).sum()),
        "entropy_cells": float(len(e)),
        "full_sampled_self_fulfilment_gap": float(ch[ch["learner"] != "myopic"]["gap_sampled"].mean()),
        "myopic_sampled_self_fulfilment_gap": float(my["gap_sampled"].mean()),
    }
    comps = [
        Comparison(
            f"slope={r['slope']:g} {r['rule']} {r['learner']}: agreement with known-F",
            1.0,
            float(r["agree"]),
            note=f"{int(r['n'])} chains, tol {cfg.agree_tol}",
        )
        for _, r in cells.iterrows()
    ]
    comps += [
        Comparison(
            f"slope={r['slope']:g} {r['rule']}: H(myopic)-H(full) sampled-logistic [bits]",
            float(r["Dk"]),
            float(r["Ds"]),
            note=f"known-F {r['lk']}, sampled {r['ls']}, local-linear {r['Dl']:+.3f} ({r['ll']})",
        )
        for _, r in e.iterrows()
    ]
    ent_desc = ", ".join(
        f"slope {r['slope']:g}/{r['rule'][:4]}: known {r['Dk']:+.3f} ({r['lk']}), sampled {r['Ds']:+.3f} ({r['ls']})"
        for _, r in e.iterrows()
    )
    worst = cells.sort_values("agree").iloc[0]
    head = (
        f"agreement with the known-F end point: myopic {nums['myopic_agreement']:.2f}, full-logistic "
        f"{nums['full_logistic_agreement']:.2f}, full-local {nums['full_local_agreement']:.2f} (worst cell "
        f"{worst['learner']} slope {worst['slope']:g} {worst['rule']}: {worst['agree']:.2f}); sampled myopic on the same "
        f"fixed point as known-F myopic in {same_fp:.0%}; entropy H(myopic)-H(full): " + ent_desc
    )
    if (cells["agree"] < cfg.refute_agree).any():
        return Verdict("refuted", nums, "sampled learners land elsewhere: " + head, tuple(comps))
    if (cells["agree"] >= cfg.support_agree).all():
        return Verdict("supported", nums, head, tuple(comps))
    return Verdict("inconclusive", nums, "some cells below the support threshold: " + head, tuple(comps))


def sampled_figures(cfg: SampledConfig, table: pd.DataFrame) -> dict:
    figs = {}
    tr = table[table["row"] == "trajectory"]
    if "seed" in tr and len(tr):
        tr = tr[tr["seed"] == tr["seed"].min()]
    learners = list(SAMPLED)
    fig, axes = new_figure(ncols=len(learners) + 1, width=3.0, height=3.0)
    if len(tr):
        slope, b = float(tr["slope"].iloc[0]), float(tr["bias"].iloc[0])
        Fw = P.LogisticResponse(b, slope)
        fps = P.fixed_points(Fw)
        for ax, learner in zip(axes, learners):
            g = tr[tr["learner"] == learner]
            for j, (_s, h) in enumerate(g.groupby("start")):
                ax.plot(h["round"], h["p"], color=PALETTE[j % len(PALETTE)], lw=0.9)
                ax.plot([h["round"].max()], [h["p_known"].iloc[0]], "x", color="k", ms=4)
            for fp in fps:
                ax.axhline(fp.p, color="k", lw=0.7, ls="-" if fp.stable else ":")
            ax.set(title=f"{learner} (sampled)", xlabel="round", ylabel="announcement p", ylim=(0, 1))
        ps = np.linspace(0.02, 0.98, 401)
        ax = axes[-1]
        ax.plot(ps, Fw(ps), color=PALETTE[0], label="F(p)")
        ax.plot(ps, ps, color="k", lw=0.6)
        for rule, ls in (("log", "--"), ("quadratic", ":")):
            G = P.expected_score(ps, Fw(ps), rule)
            ax.plot(
                ps,
                (G - G.min()) / max(np.ptp(G), 1e-12),
                ls,
                color=PALETTE[2],
                lw=0.9,
                label=f"G(p), {rule} (rescaled)",
            )
        ax.set(title=f"world: slope={slope:g}, b={b:.2f}", xlabel="p", ylim=(0, 1))
        ax.legend(fontsize=6)
    axes[0].text(
        0.02,
        0.02,
        "x = known-F end point; lines = fixed points\n(solid stable, dotted unstable)",
        transform=axes[0].transAxes,
        fontsize=6,
    )
    figs["sampled_trajectories"] = fig

    ch = table[table["row"] == "chain"]
    agg = ch.groupby(["slope", "rule", "learner"], as_index=False).agg(Hs=("H_sampled", "mean"), Hk=("H_known", "mean"))
    fig, axes = new_figure(ncols=2, width=4.6, height=3.2)
    for ax, rule in zip(axes, P.RULES):
        a = agg[agg["rule"] == rule]
        slopes = sorted(a["slope"].unique())
        x = np.arange(len(slopes))
        bars = [
            ("known myopic", a[a["learner"] == "myopic"].set_index("slope")["Hk"]),
            ("known full", a[a["learner"] == "full-logistic"].set_index("slope")["Hk"]),
        ]
        bars += [(f"sampled {lr}", a[a["learner"] == lr].set_index("slope")["Hs"]) for lr in learners]
        wd = 0.8 / len(bars)
        for i, (lab, v) in enumerate(bars):
            ax.bar(
                x + (i - (len(bars) - 1) / 2) * wd,
                [v.get(s, np.nan) for s in slopes],
                wd,
                label=lab,
                color=PALETTE[i % len(PALETTE)],
                hatch="//" if lab.startswith("known") else None,
            )
        ax.set_xticks(x, [f"{s:g}" for s in slopes])
        ax.set(xlabel="slope of F", ylabel="mean outcome entropy [bits]", title=f"{rule} score")
    axes[0].legend(fontsize=6)
    figs["sampled_entropy"] = fig
    return figs


register(
    Claim(
        id="partial_agency.sampled-learners-match-known-F",
        statement=(
            "Predict-O-Matic learners that never see F -- only sampled outcomes of their own announcements -- land "
            "where the known-F learners land from the same start: calibrating to realised outcomes (myopic) ends on "
            "the same self-fulfilling fixed point, and fitting F from its own announcement/outcome pairs and "
            "maximising the estimated expected score (full agent; logistic or local-linear fit) ends on the same "
            "local score maximiser, so the entropy comparison of known-F myopic vs full learners carries over."
        ),
        source=(
            "Demski 2019, 'The Parable of Predict-O-Matic' / Partial Agency; Robbins-Monro stochastic approximation; "
            "Izzo, Ying, Zou 2021 (estimating the map from deployments)"
        ),
        config=SampledConfig,
        experiment=sampled_experiment,
        verdict=sampled_verdict,
        figures=sampled_figures,
        presets={
            "quick": {"instances": 4, "n_starts": 9, "rounds": 2000, "known_steps": 1200},
            "full": {
                "slopes": (-8.0, -4.0, 3.0, 4.5, 6.0, 10.0),
                "instances": 16,
                "n_starts": 21,
                "rounds": 6000,
                "known_steps": 3000,
            },
        },
        seeds={"quick": 2, "full": 5},
        quick_budget_s=8,
    )
)
