"""The bounded-FairBot threshold claim (Critch 2016): experiment and verdict.

Each seed draws ``n_variants`` random pairs of FairBot *encodings*: two programs that both run
FairBot_k (cooperate iff a BL proof of length <= k that the opponent cooperates is found) whose source
codes carry ``pad_a``, ``pad_b`` extra symbols (uniform in 0..max_pad). Both agents get the same bound k,
and mutual cooperation is determined at *every* k in [k_min, k_max]: within a digit class of k it is
monotone (:func:`digit_classes`), so each class needs its top, its bottom and a bisection for its switch.
Each agent runs its own search (:func:`aflab.embedded.bounded_search.decide_action`), so the table also
shows whether one agent ever proves the other cooperates while the other defects. On a geometric grid of k
FairBot_k also meets DefectBot and CooperateBot, and on ``km_bounds`` FairBot_k (pad 0) meets FairBot_m
(pad 1). Every proof found is re-checked by the independent checker; the proof at each pair's eventual
threshold is certified in GL with the bounds erased.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from aflab.core import ClaimConfig, Comparison, Verdict
from aflab.core.stats import Interval, Threshold, decide, loglog_slope, ols_slope, proportion_ci
from aflab.embedded.bounded import Agent, coop, digits
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
EVENTUAL = Threshold(
    "fraction of random FairBot encoding pairs that cooperate at every bound from some k* to k_max",
    "above",
    0.8,
    "Critch's theorem itself: cooperation for all sufficiently large k (here: every k from k* to the largest "
    "bound scanned, with defection at the smallest); same bar as the headline",
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


#: decisions memoised across the experiment calls of one process (a worker runs several seeds' cells): a
#: decision depends only on the two agents and the proof system, and each search uses a fresh prover, so a
#: memoised decision is the one a new search would return. Cleared when it reaches ``_MEMO_MAX`` entries.
_DECISIONS: dict[tuple[bool, Agent, Agent], MatchDecision] = {}
_MEMO_MAX = 20_000


class Matches:
    """Both agents' decisions in a match, memoised (random encodings repeat within and across seeds, and the
    robust-cooperation grid is the same in every seed)."""

    def __init__(self, diagonal: bool):
        self.diagonal = diagonal

    def decide(self, agent: Agent, opponent: Agent) -> MatchDecision:
        key = (self.diagonal, agent, opponent)
        if key not in _DECISIONS:
            if len(_DECISIONS) >= _MEMO_MAX:
                _DECISIONS.clear()
            _DECISIONS[key] = decide_action(agent, opponent, self.diagonal)
        return _DECISIONS[key]

    def play(self, k: int, m: int, pads: tuple[int, int], opponent: str) -> tuple[MatchDecision, MatchDecision]:
        a = Agent("fair", k, pads[0])
        b = Agent("fair", m, pads[1]) if opponent == "fairbot" else Agent(opponent.removesuffix("bot"), 0, pads[1])
        return self.decide(a, b), self.decide(b, a)


def digit_classes(k_min: int, k_max: int) -> list[tuple[int, int]]:
    """The bounds [k_min, k_max] cut where k gains a digit: ``[(lo, hi), ...]``.

    Within one class cooperation is monotone in k: every sentence depends on k only through its digits
    (the agents' code, the numeral of □_k), and every side condition that mentions k is ``k >= ...`` (the
    budget, the ``box_r`` bounds of □_k), so renaming k to a larger k' with as many digits maps each proof
    at k to a proof at k' of the same length. Across a class boundary the sentences grow by one symbol per
    code, and cooperation can switch *off* (tested; measured in the claim's table).
    """
    out, d = [], digits(k_min)
    while 10 ** (d - 1) <= k_max:
        out.append((max(k_min, 10 ** (d - 1)), min(k_max, 10**d - 1)))
        d += 1
    return out


def _scan_pair(cfg: BoundedFairbotThresholdConfig, games: Matches, variant: int, pads: tuple[int, int]) -> list[dict]:
    """Rows of one encoding pair (both agents with bound k): per digit class its top and bottom bound, a
    bisection for its switch and the bounds within ``window`` of the switch. By the monotonicity within a
    class these probes give mutual cooperation at *every* k in [k_min, k_max]."""
    rows: dict[int, dict] = {}
    decisions: dict[int, MatchDecision] = {}

    def play(k: int, phase: str) -> bool:
        if k not in rows:
            a, b = games.play(k, k, pads, "fairbot")
            info = {"variant": variant, "pad_a": pads[0], "pad_b": pads[1], "k": k, "m": k, "opponent": "fairbot"}
            rows[k] = _row(a, b, cfg.diagonal, phase=phase, **info)
            decisions[k] = a
        return bool(rows[k]["a_cooperates"] and rows[k]["b_cooperates"])

    for lo, hi in digit_classes(cfg.k_min, cfg.k_max):
        if not play(hi, "class") or play(lo, "class"):
            continue  # the whole class defects / cooperates
        below = max(k for k in rows if lo <= k < hi and not rows[k]["a_cooperates"] & rows[k]["b_cooperates"])
        above = min(k for k in rows if below < k <= hi and rows[k]["a_cooperates"] & rows[k]["b_cooperates"])
        while above - below > 1:
            mid = (below + above) // 2
            below, above = (below, mid) if play(mid, "bisect") else (mid, above)
        for k in range(max(lo, above - cfg.window), min(hi, above + cfg.window) + 1):
            play(k, "window")
    star = eventual_threshold(
        sorted((k, bool(r["a_cooperates"] and r["b_cooperates"])) for k, r in rows.items()), cfg.k_max
    )
    if cfg.gl_certify and star > 0 and decisions[star].proof is not None:
        rows[star]["gl"] = "certified" if gl_certify(decisions[star].proof) else "refuted"
    return [rows[k] for k in sorted(rows)]


def cooperation_intervals(probes: list[tuple[int, bool]], k_max: int) -> list[tuple[int, int]]:
    """Maximal intervals of bounds where both cooperate, from the probes of :func:`_scan_pair` (sorted by
    k), read by the monotonicity within each digit class: a class cooperates from its first cooperating
    probe to its top."""
    spans: list[tuple[int, int]] = []
    by_class: dict[int, list[tuple[int, bool]]] = {}
    for k, c in probes:
        by_class.setdefault(digits(k), []).append((k, c))
    for d in sorted(by_class):
        first = next((k for k, c in by_class[d] if c), None)
        if first is None:
            continue
        top = min(k_max, 10**d - 1)
        if spans and spans[-1][1] + 1 == first:
            spans[-1] = (spans[-1][0], top)
        else:
            spans.append((first, top))
    return spans


def eventual_threshold(probes: list[tuple[int, bool]], k_max: int) -> int:
    """k* = the start of the cooperation interval that reaches k_max (-1 when none does): they cooperate at
    every bound from k* to k_max (Critch's 'sufficiently large k')."""
    spans = cooperation_intervals(probes, k_max)
    return spans[-1][0] if spans and spans[-1][1] == k_max else -1


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
        rows += _scan_pair(cfg, games, v, (pa, pb))
        rows += _against_bots(cfg, games, v, (pa, pb), grid)
    rows += _km_grid(cfg, games)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- verdict


def pair_thresholds(cfg: BoundedFairbotThresholdConfig, table: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, variant): the exact intervals of mutual cooperation over [k_min, k_max], whether there is
    one threshold (one interval, reaching k_max, defection at k_min), the eventual threshold k* (start of
    the interval reaching k_max), the first cooperating bound, and whether the probes are monotone within
    every digit class (the lemma the exactness rests on)."""
    fb = table[(table["opponent"] == "fairbot") & (table["phase"] != "km")]
    k_min, k_max = cfg.k_min, cfg.k_max
    out = []
    for (seed, variant), g in fb.groupby(["seed", "variant"], sort=True):
        g = g.sort_values("k")
        probes = list(zip(g["k"].tolist(), (g["a_cooperates"] & g["b_cooperates"]).tolist()))
        spans = cooperation_intervals(probes, k_max)
        k_star = eventual_threshold(probes, k_max)
        monotone = all(not (c1 and not c2) for (k1, c1), (k2, c2) in pairwise(probes) if digits(k1) == digits(k2))
        at_star = g[g["k"] == k_star]
        out.append(
            {
                "seed": seed,
                "variant": variant,
                "pad_a": int(g["pad_a"].iloc[0]),
                "pad_b": int(g["pad_b"].iloc[0]),
                # the intervals are exact only if the probes obey the monotonicity within a class
                "shaped": monotone and len(spans) == 1 and k_star > k_min,
                "eventual": monotone and k_star > k_min,
                "k_star": k_star,
                "k_first": spans[0][0] if spans else -1,
                "first_interval_end": spans[0][1] if spans else -1,
                "n_intervals": len(spans),
                "monotone_within_classes": monotone,
                "sentence_length": int(at_star["sentence_length"].iloc[0]) if len(at_star) else -1,
                "proof_length": int(at_star["a_proof_length"].iloc[0]) if len(at_star) else -1,
                "n_bounds": len(g),
            }
        )
    return pd.DataFrame(out)


def _gl_agreement(table: pd.DataFrame, k_max: int) -> tuple[int, int]:
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
    top = table[(table["phase"] != "km") & (table["k"] == k_max)]
    agree = sum(
        int(a == gl[o][0] and b == gl[o][1])
        for o, a, b in zip(top["opponent"], top["a_cooperates"], top["b_cooperates"])
    )
    return agree, len(top)


def _distinct_design_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows with the robust-cooperation grid (``phase == "km"``: fixed pads and bounds, the same matches in
    every seed) kept once: its copies are one deterministic observation, not independent draws."""
    km = table["phase"] == "km"
    return table[~(km & table.duplicated(["phase", "pad_a", "pad_b", "k", "m", "opponent"]))]


def bounded_fairbot_threshold_verdict(cfg: BoundedFairbotThresholdConfig, table: pd.DataFrame) -> Verdict:
    pairs = pair_thresholds(cfg, table)
    headline = decide(proportion_ci(int(pairs["shaped"].sum()), len(pairs)), THRESHOLD_SHAPED)
    eventual = decide(proportion_ci(int(pairs["eventual"].sum()), len(pairs)), EVENTUAL)
    db = table[table["opponent"] == "defectbot"]
    exploit = decide(proportion_ci(int(db["a_cooperates"].sum()), len(db)), DEFECTBOT_RATE)
    fb = _distinct_design_rows(table[table["opponent"] == "fairbot"])
    one_sided = decide(proportion_ci(int((fb["a_cooperates"] != fb["b_cooperates"]).sum()), len(fb)), ONE_SIDED_RATE)
    agree, n_top = _gl_agreement(table, cfg.k_max)
    gl_dec = decide(proportion_ci(agree, n_top), GL_AGREEMENT)
    shaped = pairs[pairs["eventual"]]
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
        "n_cooperation_windows_below_k_star": float((pairs["eventual"] & (pairs["n_intervals"] > 1)).sum()),
        "n_pairs_not_monotone_within_a_digit_class": float((~pairs["monotone_within_classes"]).sum()),
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
    windows = pairs[pairs["eventual"] & (pairs["n_intervals"] > 1)].drop_duplicates(["pad_a", "pad_b"])
    window_text = "; ".join(
        f"pads {a}+{b} cooperate at k={f}..{e}, defect from {e + 1}, cooperate again from k*={s}"
        for a, b, f, e, s in zip(
            windows["pad_a"], windows["pad_b"], windows["k_first"], windows["first_interval_end"], windows["k_star"]
        )
    )
    note = (
        (f"not one threshold: {window_text}. " if window_text else "")
        + f"k* from {numbers['k_star_min']:.0f} to {numbers['k_star_max']:.0f} over {len(pairs)} encoding pairs; "
        f"{int(numbers['n_proofs_found'])} proofs found, {int(numbers['n_proofs_rejected_by_checker'])} rejected by "
        f"the independent checker; {int(numbers['n_gl_certified'])} threshold proofs certified in GL"
    )
    comps = (
        Comparison("k* per symbol of the sentence 'A(B)=C' (OLS)", None, numbers["k_star_per_sentence_symbol"]),
        Comparison(
            "matches at the largest bound agreeing with unbounded GL", 1.0, agree / n_top if n_top else math.nan
        ),
    )
    return Verdict.from_decisions([headline, eventual, exploit, one_sided, gl_dec, growth], numbers, note, comps)
