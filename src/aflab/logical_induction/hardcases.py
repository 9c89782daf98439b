"""Random adversarial market-maker cases: one day's problem built to be hard for the fixed-point solver.

Each case has <= 20 sentences with logical structure (exclusive-exhaustive blocks, implications,
negations), <= 12 traders drawn from the kinds that stall solvers -- steep arbitrage on a block's sum
next to saturated (flat) single-sentence trades, steep s-curves with large position caps, dead-zone band
traders, and reckless traders whose budget binds (holdings and a drawdown that leave little budget, so
the multiplier sits strictly inside (0, 1) at the solution) -- with weights ``2^-k`` and a start far from
the solution. :func:`solve_case` runs the maker; the tests and ``benchmarks/bench_logical_induction.py``
check each result against brute-force worlds (:func:`.worlds.brute_force_worlds`), never against the
solver's own report.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from aflab.logical_induction.expressions import ExpressionGraph
from aflab.logical_induction.market import BudgetState, MakerResult, dependency_pattern, make_market
from aflab.logical_induction.sentences import atom, conj, disj, implies, neg
from aflab.logical_induction.worlds import KnowledgeBase, brute_force_worlds


@dataclass
class HardCase:
    seed: int
    sentences: list
    facts: list
    pw: object  # ProjectedWorlds of the sentences under the facts
    raw_trades: object  # prices -> (K, N) trades, with .weighted / .rows / .support
    weights: np.ndarray
    state: BudgetState
    start: np.ndarray
    tolerance: float
    pattern: object
    kinds: tuple[str, ...]


def make_case(seed: int, max_sentences: int = 20, max_traders: int = 12) -> HardCase:
    """A random adversarial case (deterministic in ``seed``)."""
    from aflab.logical_induction.inductor import _trade_matrix

    rng = np.random.default_rng(seed)
    n_atoms = int(rng.integers(3, max(4, max_sentences * 2 // 3)))
    atoms = [atom(f"h{seed}_{i}") for i in range(n_atoms)]
    facts, blocks = [], []
    pool = list(range(n_atoms))
    rng.shuffle(pool)
    while len(pool) >= 2 and rng.random() < 0.7:  # exclusive-exhaustive blocks
        size = int(min(len(pool), rng.integers(2, 6)))
        members = [atoms[i] for i in pool[:size]]
        pool = pool[size:]
        facts += [disj(*members)] + [neg(conj(x, y)) for x, y in itertools.combinations(members, 2)]
        blocks.append(members)
    for _ in range(int(rng.integers(0, 3))):  # implications between atoms
        i, j = rng.choice(n_atoms, 2, replace=False)
        facts.append(implies(atoms[i], atoms[j]))
    sentences = list(atoms)
    for i in rng.choice(n_atoms, int(min(max_sentences - n_atoms, rng.integers(0, 4))), replace=False):
        sentences.append(neg(atoms[i]))
    sentences = sentences[:max_sentences]
    kb = KnowledgeBase()
    for f in facts:
        kb.add_fact(f)
    pw = kb.project(sentences)
    N = len(sentences)
    g = ExpressionGraph(N)
    index = {s: i for i, s in enumerate(sentences)}
    K = int(rng.integers(2, max_traders + 1))
    calls, kinds = [], []
    for k in range(K):
        kind, idx, q = _random_trade(rng, g, N, blocks, index, sentences)
        calls.append((np.array([k]), idx, q.ids))
        kinds.append(kind)
    raw = _trade_matrix(g, calls, K, N)
    weights = 2.0 ** -rng.integers(1, 9, K).astype(float)
    H = np.where(rng.random((K, N)) < 0.3, rng.normal(0, 2, (K, N)), 0.0)
    reckless = rng.random(K) < 0.3
    H[~reckless] = 0.0
    now = pw.min_linear(H.T)
    const = np.where(reckless, -now - rng.uniform(0.05, 1.5, K), 0.0)  # a little budget left above level 1
    worst = np.minimum(np.where(reckless, -rng.uniform(0.0, 0.9, K), 0.0), now + const)
    state = BudgetState(H, const, worst)
    start = rng.random(N) if rng.random() < 0.5 else np.full(N, float(rng.choice([0.0, 0.5, 1.0])))
    tolerance = float(rng.choice([1e-12, 2.0 ** -int(rng.integers(5, 40))]))
    pattern = dependency_pattern(g, [(0, idx, ids) for _, idx, ids in calls], N)
    return HardCase(seed, sentences, facts, pw, raw, weights, state, start, tolerance, pattern, tuple(kinds))


def _random_trade(rng, g: ExpressionGraph, N: int, blocks, index, sentences):
    """One trader's trade: a random kind over a random subset of the sentences."""
    kind = str(rng.choice(["steep", "saturated", "band", "block", "negation", "mixed"]))
    if kind == "block" and blocks:
        members = blocks[int(rng.integers(len(blocks)))]
        idx = np.array([index[s] for s in members])
        tot = g.price(idx[:1])
        for j in idx[1:]:
            tot = tot + g.price(np.array([j]))
        q = g.affine_clip(tot, -float(rng.uniform(10, 200)), float(rng.uniform(10, 200)), -1.0, 1.0)
        return kind, idx, q.__class__(g, np.repeat(q.ids, len(idx)))
    if kind == "negation":
        pairs = [(i, index[s.args[0]]) for i, s in enumerate(sentences) if s.kind == "not" and s.args[0] in index]
        if pairs:
            i, j = pairs[int(rng.integers(len(pairs)))]
            tot = g.price(np.array([i])) + g.price(np.array([j]))
            slope = float(rng.uniform(10, 200))
            q = g.affine_clip(tot, -slope, slope, -2.0, 2.0)
            return kind, np.array([i, j]), q.__class__(g, np.repeat(q.ids, 2))
    idx = np.sort(rng.choice(N, int(rng.integers(1, N + 1)), replace=False))
    P = g.price(idx)
    target = rng.uniform(0, 1, len(idx))
    if kind == "steep":
        slope, cap = float(rng.uniform(50, 400)), float(rng.choice([1.0, 3.0, 8.0]))
        return kind, idx, g.affine_clip(P, -slope, target * slope, -cap, cap)
    if kind == "saturated":  # targets far outside [0, 1]: flat, saturated trades everywhere
        t = np.where(rng.random(len(idx)) < 0.5, -2.0, 3.0)
        return kind, idx, g.affine_clip(P, -5.0, t * 5.0, -1.0, 1.0)
    if kind == "band":
        lo = rng.uniform(0, 0.6, len(idx))
        hi = lo + rng.uniform(0.05, 0.4, len(idx))
        s = float(rng.uniform(10, 100))
        return kind, idx, g.affine_clip(P, -s, lo * s, 0.0, 1.0) + g.affine_clip(P, -s, hi * s, -1.0, 0.0)
    # mixed: an s-curve whose target depends on another sentence's price (a cross-coupled trade)
    other = g.price(rng.integers(0, N, len(idx)))
    return "mixed", idx, g.affine_clip(P * -1.0 + other * float(rng.uniform(-1, 1)), 20.0, target * 20.0, -2.0, 2.0)


def solve_case(case: HardCase, **kw) -> MakerResult:
    """The maker on a case (keyword arguments go to :func:`.market.make_market`)."""
    return make_market(
        case.pw,
        case.pw.decided(),
        case.raw_trades,
        case.weights,
        case.state,
        case.start,
        case.tolerance,
        pattern=case.pattern,
        **kw,
    )


def brute_force_value(case: HardCase, res: MakerResult) -> float:
    """``max_W F.(W - P)`` over the brute-force consistent worlds, with the multipliers recomputed
    exactly at the result's prices (independent of the solver's report)."""
    from aflab.logical_induction.market import budget_multipliers

    P = res.prices
    T = case.raw_trades(P)
    m = budget_multipliers(case.pw, T, P, case.state)
    F = (case.weights * m) @ T
    worlds = brute_force_worlds(case.facts, case.sentences)
    return float(max(F @ (w - P) for w in worlds))
