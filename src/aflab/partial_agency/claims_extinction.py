"""Bayesian evolving-to-extinction (issue 19, item 1): a regret-bound check and the extinction claim.

1. ``partial_agency.bayes-mixture-regret-bound`` (check): on random instances, with or without feedback
   (and with a myopic learner among the hypotheses), the mixture's cumulative log loss is at most any
   hypothesis's plus ``ln(1 / prior)``.
2. ``partial_agency.evolving-to-extinction`` (claim): above the feedback threshold ``eps w_0 > kappa`` the
   manipulator's weight goes to 1 and the mixture ends with a worse log loss than in the world without
   feedback; below it the manipulator dies out. The phase diagram (eps x manipulator prior) is measured for
   fixed hypotheses and for a myopic (stop-gradient) honest learner.

Model and closed forms: :mod:`aflab.partial_agency.extinction`; docs: ``docs/evolving_to_extinction.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core import Claim, ClaimConfig, Comparison, Counterfactual, Verdict, register
from aflab.core.stats import Interval, Threshold, decide, proportion_ci
from aflab.partial_agency import extinction as X
from aflab.partial_agency import plots_extinction as P

SOURCE = "Demski, 'Bayesian Evolving to Extinction' (Alignment Forum, 2020; Partial Agency sequence)"


# --------------------------------------------------------------------------------------- 1: the bound
class BayesMixtureRegretBoundConfig(ClaimConfig):
    n_runs: int = Field(64, ge=2, le=1_000_000, description="random instances per seed and world kind")
    n_steps: int = Field(200, ge=1, le=100_000, description="outcomes per run")
    n_hypotheses: int = Field(4, ge=2, le=50, description="hypotheses in the mixture")
    n_outcomes: int = Field(3, ge=2, le=50, description="outcome categories")
    learning_rate: float = Field(0.1, gt=0, le=10, description="step of the myopic learner (in 'learner' runs)")
    frozen_weights: bool = Field(False, description="mutation: the mixture never updates its weights (not Bayes)")


def random_feedback_map(rng: np.random.Generator, n_runs: int, n_outcomes: int):
    """A random smooth response of the world to the mixture's prediction: ``m -> softmax(A m)``, A ~ N(0, 9)."""
    a = rng.normal(0, 3, size=(n_runs, n_outcomes, n_outcomes))

    def respond(m: np.ndarray) -> np.ndarray:
        return X.softmax(np.einsum("rij,rj->ri", a, m))

    return respond


def bayes_mixture_regret_bound_experiment(cfg: BayesMixtureRegretBoundConfig, seed: int) -> pd.DataFrame:
    """Random worlds (no feedback, self-fulfilling feedback, a random nonlinear map), random hypotheses and
    priors; half the runs make hypothesis 0 a myopic learner. One row per run: the bound's excess."""
    rng = np.random.default_rng(seed)
    n, c, k = cfg.n_runs, cfg.n_outcomes, cfg.n_hypotheses
    frames = []
    for world in ("none", "self-fulfilling", "random-map"):
        for learner in (False, True):
            b = rng.dirichlet(np.ones(c), size=n)
            hyp = rng.dirichlet(np.ones(c), size=(n, k))
            prior = rng.dirichlet(np.ones(k), size=n)
            eps = np.zeros(n) if world == "none" else rng.uniform(0, 1, size=n)
            fb = random_feedback_map(rng, n, c) if world == "random-map" else None
            run = X.run_mixture(
                rng,
                b,
                hyp,
                prior,
                eps,
                cfg.n_steps,
                (0, cfg.learning_rate) if learner else None,
                cfg.frozen_weights,
                fb,
            )
            excess = X.regret_excess(run, prior)
            frames.append(
                pd.DataFrame(
                    {"world": world, "learner": learner, "run": np.arange(n), "eps": eps, "excess": excess}
                ).assign(mixture_loss=run.mixture_loss / cfg.n_steps)
            )
    return pd.concat(frames, ignore_index=True)


T_BOUND = Threshold(
    "max over runs of L_mix - min_i (L_i + ln 1/w_i)",
    "below",
    1e-9,
    "the bound -ln m(x_1..T) <= -ln P_i(x_1..T) + ln(1/w_i) holds on every sequence, however the world reacts to the "
    "mixture; 1e-9 nats allows float rounding over the run's summed log losses",
)


def bayes_mixture_regret_bound_verdict(cfg: BayesMixtureRegretBoundConfig, table: pd.DataFrame) -> Verdict:
    worst = float(table["excess"].max())
    iv = Interval(worst, worst, worst, 1.0, "max over runs", 0.0, len(table))
    by_world = table.groupby("world")["excess"].max()
    nums = {f"max_excess_{w.replace('-', '_')}": float(v) for w, v in by_world.items()}
    nums["median_excess"] = float(table["excess"].median())
    comps = [Comparison(f"max excess, world '{w}'", 0.0, float(v), note="theory: <= 0") for w, v in by_world.items()]
    return Verdict.from_decisions([decide(iv, T_BOUND)], nums, comparisons=comps)


def bayes_mixture_regret_bound_figures(cfg, table: pd.DataFrame) -> dict:
    return {"regret_excess": P.regret_excess_figure(table)}


register(
    Claim(
        id="partial_agency.bayes-mixture-regret-bound",
        statement="A Bayes mixture's cumulative log loss is at most any hypothesis's plus ln(1/prior weight), on "
        "every sequence -- also when the world reacts to the mixture's predictions (feedback) and when a "
        "hypothesis is itself a learner.",
        source=f"{SOURCE}, section 'Bayes is selection' (as recalled); the bound is the standard one for Bayes "
        "mixtures (e.g. Cesa-Bianchi & Lugosi 2006, ch. 9)",
        config=BayesMixtureRegretBoundConfig,
        experiment=bayes_mixture_regret_bound_experiment,
        verdict=bayes_mixture_regret_bound_verdict,
        figures=bayes_mixture_regret_bound_figures,
        presets={"smoke": {"n_runs": 24, "n_steps": 100}, "quick": {}, "full": {"n_runs": 1000, "n_steps": 1000}},
        seeds={"smoke": 2, "quick": 2, "full": 5},
        quick_budget_s=5,
        kind="check",
        threshold=T_BOUND,
        counterfactual=Counterfactual("the mixture never updates its weights", {"frozen_weights": True}),
    )
)


# --------------------------------------------------------------------------------- 2: the extinction claim
class EvolvingToExtinctionConfig(ClaimConfig):
    w0_grid: tuple[float, ...] = Field(
        (0.2, 0.4, 0.6, 0.8, 0.95), min_length=1, description="manipulator's prior weight w_0 (honest: 1 - w_0)"
    )
    eps_grid: tuple[float, ...] = Field(
        (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
        min_length=2,
        description="feedback strengths (must include 0: the world without feedback)",
    )
    instances: tuple[str, ...] = Field(
        ("binary", "categorical"), min_length=1, description="worlds of extinction.INSTANCES"
    )
    runs_per_cell: int = Field(16, ge=1, le=100_000, description="independent runs per (instance, w0, eps, arm)")
    n_steps: int = Field(400, ge=10, le=100_000, description="outcomes per run")
    learning_rate: float = Field(0.05, gt=0, le=10, description="step of the myopic honest learner")
    takeover_weight: float = Field(0.99, gt=0.5, lt=1, description="final manipulator weight counted as takeover")
    margin: float = Field(
        1.5, gt=1, le=10, description="'clearly above': eps w0 >= margin kappa; below: eps <= kappa/margin"
    )
    feedback_off: bool = Field(False, description="counterfactual: the world ignores the mixture (eps = 0 everywhere)")


def extinction_cells(cfg: EvolvingToExtinctionConfig) -> pd.DataFrame:
    """One row per run: instance, w0, eps, kappa, rho = eps w0 / kappa (the closed form's control variable)."""
    for name in cfg.instances:
        if name not in X.INSTANCES:
            raise ValueError(f"instances: unknown {name!r}; choose from {', '.join(X.INSTANCES)}")
    if 0.0 not in cfg.eps_grid:
        raise ValueError("eps_grid must include 0 (the world without feedback is the baseline)")
    grid = pd.MultiIndex.from_product(
        [list(cfg.instances), list(cfg.w0_grid), list(cfg.eps_grid), range(cfg.runs_per_cell)],
        names=["instance", "w0", "eps", "run"],
    ).to_frame(index=False)
    grid["kappa"] = grid["instance"].map({n: X.INSTANCES[n].kappa for n in cfg.instances})
    grid["rho"] = grid["eps"] * grid["w0"] / grid["kappa"]
    return grid


def evolving_to_extinction_experiment(cfg: EvolvingToExtinctionConfig, seed: int) -> pd.DataFrame:
    """Every (instance, w0, eps) cell, ``runs_per_cell`` runs, fixed hypotheses and a myopic honest learner."""
    rng = np.random.default_rng(seed)
    cells = extinction_cells(cfg)
    frames = []
    for arm in ("fixed", "myopic"):
        for name in cfg.instances:
            inst, part = X.INSTANCES[name], cells[cells["instance"] == name]
            n, b, q = len(part), np.array(X.INSTANCES[name].b), np.array(inst.q)
            hyp = np.broadcast_to(np.stack([b, q]), (n, 2, b.size)).copy()
            w0 = part["w0"].to_numpy()
            eps = np.zeros(n) if cfg.feedback_off else part["eps"].to_numpy()
            learner = (X.HONEST, cfg.learning_rate) if arm == "myopic" else None
            run = X.run_mixture(
                rng, np.broadcast_to(b, (n, b.size)), hyp, np.stack([1 - w0, w0], 1), eps, cfg.n_steps, learner
            )
            frames.append(
                part.assign(
                    arm=arm,
                    final_weight=run.weights[:, X.MANIPULATOR],
                    late_loss=run.late_loss,
                    mean_loss=run.mixture_loss / cfg.n_steps,
                )
            )
    return pd.concat(frames, ignore_index=True)


T_ABOVE = Threshold(
    "share of runs clearly above the threshold (eps w0 >= 1.5 kappa) where the manipulator takes over and the "
    "mixture's late loss is worse than without feedback",
    "above",
    0.5,
    "the claim is that above the threshold selection favours the manipulator and accuracy falls; 'in most runs' "
    "(more than half) is the bar because a finite run keeps a ruin probability ~exp(-2 D d / sigma^2) of losing "
    "the manipulator early (D: drift, d: distance from the unstable point), which the margin 1.5 keeps below 1/2",
)
T_BELOW = Threshold(
    "share of runs with feedback below the threshold for every prior (0 < eps <= kappa / 1.5) where the "
    "manipulator takes over",
    "below",
    0.05,
    "for eps < kappa the manipulator's log-odds drift is negative at every weight, even at w = 1, so a takeover would "
    "need a run of luck against the drift all the way up; it should be rare (under 1 run in 20)",
)


def takeover_table(cfg: EvolvingToExtinctionConfig, table: pd.DataFrame) -> pd.DataFrame:
    """Adds the no-feedback baseline (mean late loss of the eps = 0 runs with the same seed, instance, arm and
    w0), ``takeover`` and ``extinct`` (takeover and a late loss above the baseline)."""
    keys = ["seed", "instance", "arm", "w0"]
    base = table[table["eps"] == 0].groupby(keys)["late_loss"].mean().rename("baseline_loss")
    t = table.join(base, on=keys)
    t["takeover"] = t["final_weight"] > cfg.takeover_weight
    t["extinct"] = t["takeover"] & (t["late_loss"] > t["baseline_loss"])
    return t


def measured_boundary(t: pd.DataFrame) -> pd.Series:
    """Per (arm, instance, w0): the smallest eps of the grid where at least half the runs end in takeover."""
    share = t.groupby(["arm", "instance", "w0", "eps"])["takeover"].mean().reset_index()
    hit = share[share["takeover"] >= 0.5]
    return hit.groupby(["arm", "instance", "w0"])["eps"].min()


def evolving_to_extinction_verdict(cfg: EvolvingToExtinctionConfig, table: pd.DataFrame) -> Verdict:
    t = takeover_table(cfg, table)
    fixed = t[t["arm"] == "fixed"]
    above = fixed[fixed["rho"] >= cfg.margin]
    below = fixed[(fixed["eps"] <= fixed["kappa"] / cfg.margin) & (fixed["eps"] > 0)]
    d_above = decide(proportion_ci(int(above["extinct"].sum()), len(above)), T_ABOVE)
    d_below = decide(proportion_ci(int(below["takeover"].sum()), len(below)), T_BELOW)
    my = t[t["arm"] == "myopic"]
    my_above = my[my["rho"] >= cfg.margin]
    took = above[above["takeover"]]
    nums = {
        "runs_above": float(len(above)),
        "runs_below": float(len(below)),
        "takeover_share_above": float(above["takeover"].mean()),
        "loss_gap_in_takeovers": float((took["late_loss"] - took["baseline_loss"]).mean()) if len(took) else np.nan,
        "myopic_takeover_share_above": float(my_above["takeover"].mean()),
        "myopic_extinct_share_above": float(my_above["extinct"].mean()),
        "myopic_takeover_share_below": float(
            my[(my["eps"] <= my["kappa"] / cfg.margin) & (my["eps"] > 0)]["takeover"].mean()
        ),
        "loss_gap_below": float((below["late_loss"] - below["baseline_loss"]).mean()),
        "takeover_share_between": float(
            fixed[(fixed["rho"] < cfg.margin) & (fixed["eps"] > fixed["kappa"] / cfg.margin)]["takeover"].mean()
        ),
        "undecided_weight_share": float(((fixed["final_weight"] > 0.01) & (fixed["final_weight"] < 0.99)).mean()),
    }
    bound = measured_boundary(t)
    for (arm, name, w0), e in bound.items():
        nums[f"measured_threshold_{arm}_{name}_w0_{w0:g}"] = float(e)
    comps = []
    for name in cfg.instances:
        inst = X.INSTANCES[name]
        nums[f"kappa_{name}"] = inst.kappa
        for w0 in cfg.w0_grid:
            key = ("fixed", name, w0)
            if inst.kappa / w0 <= max(cfg.eps_grid):
                comps.append(
                    Comparison(
                        f"{name}, w0={w0:g}: takeover threshold eps*",
                        inst.kappa / w0,
                        float(bound.get(key, np.nan)),
                        note="measured: first grid eps with >= 1/2 takeovers; theory kappa/w0 (mean field)",
                    )
                )
        e_max = max(cfg.eps_grid)
        tk = took[(took["instance"] == name) & (took["eps"] == e_max)]
        if len(tk):
            theory = X.takeover_loss(np.array(inst.b), np.array(inst.q), e_max)
            comps.append(
                Comparison(f"{name}: late loss after takeover, eps={e_max:g}", theory, float(tk["late_loss"].mean()))
            )
            comps.append(
                Comparison(
                    f"{name}: loss without feedback, H(b)",
                    X.entropy(np.array(inst.b)),
                    float(tk["baseline_loss"].mean()),
                )
            )
    note = (
        f"takeover share above: fixed {nums['takeover_share_above']:.2f}, myopic learner "
        f"{nums['myopic_takeover_share_above']:.2f}; loss gap in takeovers {nums['loss_gap_in_takeovers']:+.3f} nats"
    )
    return Verdict.from_decisions([d_above, d_below], nums, note, comps)


def evolving_to_extinction_figures(cfg: EvolvingToExtinctionConfig, table: pd.DataFrame) -> dict:
    t = takeover_table(cfg, table)
    kappas = {n: X.INSTANCES[n].kappa for n in cfg.instances}
    return {"phase_diagram": P.phase_figure(t, kappas), "loss_vs_eps": P.loss_figure(t)}


register(
    Claim(
        id="partial_agency.evolving-to-extinction",
        statement="When the mixture's predictions feed back into the world, Bayesian selection rewards a hypothesis "
        "that steers the world toward outcomes it predicts and its rivals do not: above a feedback threshold "
        "(measured; mean-field theory eps w0 > kappa) the manipulator's weight goes to 1 and the mixture's log loss "
        "ends worse than in the world without feedback; below it the manipulator dies out.",
        source=f"{SOURCE}, sections on Bayes as selection and on manipulation by hypotheses under myopic scoring "
        "(as recalled; model in aflab.partial_agency.extinction)",
        config=EvolvingToExtinctionConfig,
        experiment=evolving_to_extinction_experiment,
        verdict=evolving_to_extinction_verdict,
        figures=evolving_to_extinction_figures,
        presets={
            "smoke": {"runs_per_cell": 4, "n_steps": 300},
            "quick": {"runs_per_cell": 16},
            "full": {"runs_per_cell": 100, "n_steps": 1000},
        },
        seeds={"smoke": 2, "quick": 4, "full": 10},
        quick_budget_s=15,
        kind="claim",
        threshold=T_ABOVE,
        refuted_if="clearly above the threshold the manipulator takes over (with a worse loss) in at most half the "
        "runs (CI below 0.5), or with eps below kappa / 1.5 it takes over in more than 1 run in 20 (CI above 0.05)",
        counterfactual=Counterfactual("the world ignores the mixture (no feedback)", {"feedback_off": True}),
    )
)
