"""The bounded-FairBot threshold claim (Critch 2016): experiment and verdict.

Each seed draws ``n_variants`` random pairs of FairBot *encodings*: two programs that both run
FairBot_k (cooperate iff a BL proof of length <= k that the opponent cooperates is found) whose source
codes carry ``pad_a``, ``pad_b`` extra symbols (uniform in 0..max_pad). For every pair both agents get the
same proof bound k, and k is scanned: a geometric grid from ``k_min`` to ``k_max``; a bisection between the
grid's last mutual defection and first mutual cooperation, which locates the switch k* (the smallest
cooperating k found, *assuming* nothing in between -- the assumption is then tested); and every k within
``window`` of k*. Each agent runs its own search (:func:`aflab.embedded.bounded_search.decide_action`), so
the table also shows whether one agent ever proves the other cooperates while the other defects. At the
grid's bounds FairBot_k also meets DefectBot and CooperateBot. Every proof found is re-checked by the
independent checker; the proof at each pair's threshold is certified in GL with the bounds erased.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aflab.core import ClaimConfig, Comparison, Verdict
from aflab.core.stats import Interval, Threshold, decide, loglog_slope, ols_slope, proportion_ci
from aflab.embedded.bounded import Agent, coop
from aflab.embedded.bounded_check import ProofError, check_proof, gl_certify
from aflab.embedded.bounded_search import MatchDecision, decide_action

THRESHOLD_SHAPED = Threshold(
    "fraction of random FairBot encoding pairs whose mutual cooperation has one threshold in k",
    "above",
    0.8,
    "Critch's theorem, transposed to BL, predicts that every pair has a k* with mutual defection below it and "
    "mutual cooperation at and above it (over the scanned bounds); we call that supported when the 95% Wilson "
    "lower bound over random encodings clears 0.8 (the great majority of encodings) and refuted when the upper "
    "bound falls below it; with exact searches each exception is a counterexample, counted in the numbers",
)
DEFECTBOT_RATE = Threshold(
    "rate at which bounded FairBot cooperates with DefectBot",
    "below",
    0.05,
    "unexploitability: FairBot cooperates only on a proof that DefectBot cooperates, i.e. a proof of ⊥ "
    "(DefectBot's definition); one such cell in twenty would be a soundness failure of the proof system, "
    "and 0.05 is a rate the quick grid's Wilson interval can exclude",
)
ONE_SIDED_RATE = Threshold(
    "rate of one-sided outcomes between bounded FairBots (one cooperates, the other defects)",
    "below",
    0.05,
    "a FairBot that proves its opponent cooperates while the opponent's own search finds no proof back is "
    "exploited: the proof system is then unsound about the programs that run it. The first version of the "
    "search (diagonal cuts at the root only) did this in the full preset's different-bounds grid; same bar "
    "as DefectBot's",
)
GL_AGREEMENT = Threshold(
    "fraction of matches at the largest bound agreeing with unbounded GL",
    "above",
    0.8,
    "as k grows the bounded agents must behave like the unbounded modal FairBot of GL (cooperate with FairBot "
    "and CooperateBot, defect against DefectBot: Barasz et al. 2014, computed by aflab's GL solver); "
    "same bar as the headline",
)
THRESHOLD_GROWTH = Threshold(
    "elasticity of k* in the length of the sentence 'A(B)=C'",
    "above",
    0.0,
    "the parametric bounded Löb theorem bounds the threshold by the length of the proof of □_k p → p, which "
    "grows with the sentence p = 'A(B)=C' and so with the agents' encodings: k* must increase with it",
)


class BoundedFairbotThresholdConfig(ClaimConfig):
    n_variants: int = Field(8, ge=1, le=1000, description="random pairs of FairBot encodings per seed")
    max_pad: int = Field(12, ge=0, le=200, description="extra source-code symbols per agent, uniform in 0..max_pad")
    k_min: int = Field(16, ge=1, description="smallest proof bound of the scan")
    k_max: int = Field(16384, ge=2, le=10**6, description="largest proof bound of the scan")
    n_grid: int = Field(10, ge=2, le=200, description="geometric grid points from k_min to k_max")
    window: int = Field(3, ge=0, le=200, description="bounds on each side of the measured switch scanned one by one")
    km_bounds: tuple[int, ...] = Field(
        (), description="bounds of the robust-cooperation grid FairBot_k (pad 0) vs FairBot_m (pad 1); () = none"
    )
    gl_certify: bool = Field(True, description="certify each pair's threshold proof in GL (bounds erased)")
    diagonal: bool = Field(
        True,
        description="counterfactual switch: False removes the bounded diagonal lemma (no δ sentences, no Löb step)",
    )

    @model_validator(mode="after")
    def _bounds_increase(self) -> BoundedFairbotThresholdConfig:
        if self.k_max <= self.k_min:
            raise ValueError(f"k_max must exceed k_min (got k_min={self.k_min}, k_max={self.k_max}): raise k_max")
        return self


def k_grid(cfg: BoundedFairbotThresholdConfig) -> list[int]:
    """The geometric grid of proof bounds (rounded, distinct, increasing)."""
    return sorted({round(x) for x in np.geomspace(cfg.k_min, cfg.k_max, cfg.n_grid)})


def _checked(d: MatchDecision, diagonal: bool) -> bool:
    if d.proof is None:
        return False
    try:
        check_proof(d.proof, diagonal=diagonal, normal_form=True, max_length=d.agent.bound)
    except ProofError:
        return False
    return True


def _row(a: MatchDecision, b: MatchDecision, diagonal: bool, **info) -> dict:
    return {
        **info,
        "a_cooperates": a.cooperates,
        "b_cooperates": b.cooperates,
        "a_proof_length": a.proof.size if a.proof else -1,
        "b_proof_length": b.proof.size if b.proof else -1,
        "a_checked": _checked(a, diagonal),
        "b_checked": _checked(b, diagonal),
        "expanded": a.expanded + b.expanded,
        "sentence_length": coop(b.agent, a.agent).size,
        "gl": "not_run",
    }


class Matches:
    """Both agents' decisions in a match, memoised for one experiment call (random encodings repeat; a
    decision depends only on the two agents and the proof system, and each search uses a fresh prover)."""

    def __init__(self, diagonal: bool):
        self.diagonal = diagonal
        self.memo: dict[tuple[Agent, Agent], MatchDecision] = {}

    def decide(self, agent: Agent, opponent: Agent) -> MatchDecision:
        key = (agent, opponent)
        if key not in self.memo:
            self.memo[key] = decide_action(agent, opponent, self.diagonal)
        return self.memo[key]

    def play(self, k: int, m: int, pads: tuple[int, int], opponent: str) -> tuple[MatchDecision, MatchDecision]:
        a = Agent("fair", k, pads[0])
        b = Agent("fair", m, pads[1]) if opponent == "fairbot" else Agent(opponent.removesuffix("bot"), 0, pads[1])
        return self.decide(a, b), self.decide(b, a)


def _scan_pair(
    cfg: BoundedFairbotThresholdConfig, games: Matches, variant: int, pads: tuple[int, int], grid: list[int]
) -> list[dict]:
    """Grid, bisection and window rows of one encoding pair (both agents with the same bound k)."""
    rows: dict[int, dict] = {}
    decisions: dict[int, MatchDecision] = {}

    def play(k: int, phase: str) -> bool:
        if k not in rows:
            a, b = games.play(k, k, pads, "fairbot")
            info = {"variant": variant, "pad_a": pads[0], "pad_b": pads[1], "k": k, "m": k, "opponent": "fairbot"}
            rows[k] = _row(a, b, cfg.diagonal, phase=phase, **info)
            decisions[k] = a
        return bool(rows[k]["a_cooperates"] and rows[k]["b_cooperates"])

    mutual = [play(k, "grid") for k in grid]
    if any(mutual):
        first = mutual.index(True)
        lo, hi = (grid[first - 1], grid[first]) if first else (0, grid[0])
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if play(mid, "bisect") else (mid, hi)
        for k in range(max(1, hi - cfg.window), hi + cfg.window + 1):
            play(k, "window")
        if cfg.gl_certify and decisions[hi].proof is not None:
            rows[hi]["gl"] = "certified" if gl_certify(decisions[hi].proof) else "refuted"
    return [rows[k] for k in sorted(rows)]


def _against_bots(
    cfg: BoundedFairbotThresholdConfig, games: Matches, variant: int, pads: tuple[int, int], grid: list[int]
) -> list[dict]:
    out = []
    for opponent in ("defectbot", "cooperatebot"):
        for k in grid:
            a, b = games.play(k, 0, pads, opponent)
            info = {"variant": variant, "pad_a": pads[0], "pad_b": pads[1], "k": k, "m": 0, "opponent": opponent}
            out.append(_row(a, b, cfg.diagonal, phase="grid", **info))
    return out


def _km_grid(cfg: BoundedFairbotThresholdConfig, games: Matches) -> list[dict]:
    """FairBot_k (pad 0) vs FairBot_m (pad 1): robust cooperation between different bounds and encodings."""
    out = []
    for k in cfg.km_bounds:
        for m in cfg.km_bounds:
            a, b = games.play(k, m, (0, 1), "fairbot")
            info = {"variant": -1, "pad_a": 0, "pad_b": 1, "k": k, "m": m, "opponent": "fairbot"}
            out.append(_row(a, b, cfg.diagonal, phase="km", **info))
    return out


def bounded_fairbot_threshold_experiment(cfg: BoundedFairbotThresholdConfig, seed: int) -> pd.DataFrame:
    """One row per match played: (variant, pads, k, m, opponent, phase) -> both agents' actions, proof
    lengths, the independent checker's verdict on each proof, search effort, GL certificate."""
    rng = np.random.default_rng(seed)
    pads = rng.integers(0, cfg.max_pad + 1, size=(cfg.n_variants, 2))
    grid = k_grid(cfg)
    rows, games = [], Matches(cfg.diagonal)
    for v, (pa, pb) in enumerate(pads.tolist()):
        rows += _scan_pair(cfg, games, v, (pa, pb), grid)
        rows += _against_bots(cfg, games, v, (pa, pb), grid)
    rows += _km_grid(cfg, games)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- verdict


def pair_thresholds(table: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, variant): the scanned bounds' mutual cooperation, whether it has one threshold, and k*."""
    fb = table[(table["opponent"] == "fairbot") & (table["phase"] != "km")]
    out = []
    for (seed, variant), g in fb.groupby(["seed", "variant"], sort=True):
        g = g.sort_values("k")
        mutual = (g["a_cooperates"] & g["b_cooperates"]).to_numpy()
        shaped = bool(mutual.any() and not mutual.all() and (np.diff(mutual.astype(int)) >= 0).all())
        k_star = int(g["k"].to_numpy()[mutual.argmax()]) if mutual.any() else -1
        at_star = g[g["k"] == k_star]
        out.append(
            {
                "seed": seed,
                "variant": variant,
                "pad_a": int(g["pad_a"].iloc[0]),
                "pad_b": int(g["pad_b"].iloc[0]),
                "shaped": shaped,
                "k_star": k_star,
                "sentence_length": int(at_star["sentence_length"].iloc[0]) if len(at_star) else -1,
                "proof_length": int(at_star["a_proof_length"].iloc[0]) if len(at_star) else -1,
                "n_bounds": len(g),
            }
        )
    return pd.DataFrame(out)


def _gl_agreement(table: pd.DataFrame) -> tuple[int, int]:
    """Matches at each seed's largest grid bound vs unbounded GL (FairBot vs FairBot / DefectBot / CooperateBot)."""
    from aflab.embedded.agents import match

    gl = {
        opponent: (o.a_cooperates, o.b_cooperates)
        for opponent, o in (
            ("fairbot", match("FairBot", "FairBot", cross_check=False)),
            ("defectbot", match("FairBot", "DefectBot", cross_check=False)),
            ("cooperatebot", match("FairBot", "CooperateBot", cross_check=False)),
        )
    }
    t = table[(table["phase"] == "grid")]
    top = t[t["k"] == t.groupby("seed")["k"].transform("max")]
    agree = sum(
        int(a == gl[o][0] and b == gl[o][1])
        for o, a, b in zip(top["opponent"], top["a_cooperates"], top["b_cooperates"])
    )
    return agree, len(top)


def bounded_fairbot_threshold_verdict(cfg: BoundedFairbotThresholdConfig, table: pd.DataFrame) -> Verdict:
    pairs = pair_thresholds(table)
    headline = decide(proportion_ci(int(pairs["shaped"].sum()), len(pairs)), THRESHOLD_SHAPED)
    db = table[table["opponent"] == "defectbot"]
    exploit = decide(proportion_ci(int(db["a_cooperates"].sum()), len(db)), DEFECTBOT_RATE)
    fb = table[table["opponent"] == "fairbot"]
    one_sided = decide(proportion_ci(int((fb["a_cooperates"] != fb["b_cooperates"]).sum()), len(fb)), ONE_SIDED_RATE)
    agree, n_top = _gl_agreement(table)
    gl_dec = decide(proportion_ci(agree, n_top), GL_AGREEMENT)
    shaped = pairs[pairs["shaped"]]
    if shaped["sentence_length"].nunique() >= 2:
        elasticity = loglog_slope(shaped["sentence_length"], shaped["k_star"])
    else:  # fewer than two encoding sizes with a threshold: no slope to measure
        elasticity = Interval(math.nan, math.nan, math.nan, 0.95, "ols", None, len(shaped))
    growth = decide(elasticity, THRESHOLD_GROWTH)
    found = table[table["a_proof_length"] >= 0]
    cb = table[(table["opponent"] == "cooperatebot") & table["a_cooperates"]]
    numbers = {
        "n_pairs": float(len(pairs)),
        "n_not_threshold_shaped": float((~pairs["shaped"]).sum()),
        "k_star_min": float(shaped["k_star"].min()) if len(shaped) else math.nan,
        "k_star_median": float(shaped["k_star"].median()) if len(shaped) else math.nan,
        "k_star_max": float(shaped["k_star"].max()) if len(shaped) else math.nan,
        "k_star_per_sentence_symbol": ols_slope(shaped["sentence_length"], shaped["k_star"])
        if len(shaped) > 1
        else math.nan,
        "proof_length_over_k_star_max": float((shaped["proof_length"] / shaped["k_star"]).max())
        if len(shaped)
        else math.nan,
        "n_one_sided_fairbot_outcomes": float((fb["a_cooperates"] != fb["b_cooperates"]).sum()),
        "n_proofs_found": float(len(found)),
        "n_proofs_rejected_by_checker": float(
            (~found["a_checked"]).sum() + (~table.loc[table["b_proof_length"] >= 0, "b_checked"]).sum()
        ),
        "n_gl_certified": float((table["gl"] == "certified").sum()),
        "n_gl_refuted": float((table["gl"] == "refuted").sum()),
        "cooperatebot_threshold_max": float(cb.groupby(["seed", "variant"])["k"].min().max()) if len(cb) else math.nan,
        "n_defectbot_cells": float(len(db)),
        "max_sequents_expanded": float(table["expanded"].max()),
    }
    note = (
        f"k* from {numbers['k_star_min']:.0f} to {numbers['k_star_max']:.0f} over {len(pairs)} encoding pairs; "
        f"{int(numbers['n_proofs_found'])} proofs found, {int(numbers['n_proofs_rejected_by_checker'])} rejected by "
        f"the independent checker; {int(numbers['n_gl_certified'])} threshold proofs certified in GL"
    )
    comps = (
        Comparison("k* per symbol of the sentence 'A(B)=C' (OLS)", None, numbers["k_star_per_sentence_symbol"]),
        Comparison(
            "matches at the largest bound agreeing with unbounded GL", 1.0, agree / n_top if n_top else math.nan
        ),
    )
    return Verdict.from_decisions([headline, exploit, one_sided, gl_dec, growth], numbers, note, comps)
