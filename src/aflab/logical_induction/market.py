"""The logical induction algorithm LIA (Garrabrant et al. 2016, sec. 5): Budgeter, TradingFirm, MarketMaker.

Day ``n``:

1. the deductive process reveals ``D_n`` (facts are added to the SAT back-end, :mod:`.worlds`);
2. every trader ``T^k`` (already entered) writes its trade ``T^k_n``: one expressible feature of
   today's prices per sentence (:mod:`.expressions`);
3. **Budgeter** (def. 5.2.1). For budget ``b`` the trader is silenced (factor 0) once, on some earlier
   day ``m``, some world ``W in PC(D_m)`` valued its holdings at ``<= -b``; otherwise its trade is
   scaled by ``inf_W 1/max(1, -W(T_n) / (b + W(sum_{i<n} T_i)))``. The infimum over worlds of a ratio of
   two *separable* linear functions is computed exactly by Dinkelbach's method with a per-component
   maximum (:class:`.worlds.ProjectedWorlds`; on a lazy component, the MaxSAT oracle's maximiser).
4. **TradingFirm** (def. 5.3.2): ``F_n = sum_k sum_{b>=1} w_k 2^-b Budgeter^b(T^k)`` with ``w_k = 2^-k``
   in the paper (here: the trader's prior weight, ``2^-size`` for enumerated programs). The sum over
   ``b`` is exact and finite: budgets ``b <= -worst_k`` are dead (factor 0); for
   ``b >= b*_k = max_W(-W(T_n) - W(S_{n-1}))`` the factor is exactly 1, so their tail sums in closed
   form to ``2^{1-B}``; only the few budgets in between need the Dinkelbach infimum. This is the
   paper's closed-form tail (there cut at the trader's magnitude bound ``C``), cut earlier and exactly.
   The result is ``F_n(P) = sum_k w_k m_k(P) T^k_n(P)`` with a budget multiplier ``m_k in [0, 1]``.
5. **MarketMaker** (def. 5.1 / thm. 5.1.1): prices ``P_n`` with ``max_{W in PC(D_n)} W(F_n(P_n)) <= eps_n``.
   Decided sentences are priced at their truth value (their term is 0 in every consistent world).
   For the others we solve the complementarity problem ``P_phi = clip(P_phi + F_phi(P))``: exact
   batched k-section for sentences no other trade reads; for coupled components, a Gauss-Seidel sweep
   of one-sentence k-sections, semismooth Levenberg-Marquardt, and -- where a steep arbitrage coupling
   sits next to flat (saturated) trades, which stalls both -- k-sections in the null space of the steep
   couplings (:func:`_nullspace_sweeps`). Budget multipliers are frozen during a solve and refreshed
   after it; traders whose multiplier keeps moving are then solved *jointly* (their exact multiplier
   recomputed at every price vector, :func:`batch_multipliers`). The **certified check** closes the
   day: ``max_W F.(W - P)`` computed exactly over the consistent worlds enumerated by the SAT back-end
   (separable over components; a large linked group's maximum by the exact MaxSAT oracle,
   :mod:`.worlds`) is ``<= eps_n``. ``eps_n = max(2^-n, eps_floor)``: float64 cannot
   resolve ``2^-n`` beyond n ~ 50, so the floor (default 1e-12) is the one place we deviate from the
   paper. The inductor asks the solver to *aim* at ``eps_floor`` on every day (a second round if the
   first is only within ``eps_n``), so early days' prices depend less on where a loose stopping rule
   happened to stop; the expensive null-space sweeps run only while a day is not yet certifiable.

Non-unique fixed points (position-targeting traders make a day's fixed point an interval): the prices
returned are the first certified point along a fixed, deterministic solver path -- the solve from the start
(yesterday's prices, new sentences at 1/2), then the fallback's steps in order (:func:`_fallback`) -- so
they are a function of the day's problem and the start; there is no path-independent selection rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse import csgraph

from aflab.logical_induction.expressions import OP_ADD, OP_PRICE, Expr, ExpressionGraph
from aflab.logical_induction.sentences import Sentence
from aflab.logical_induction.worlds import ProjectedWorlds

#: at most this many budget levels per trader get an exact Dinkelbach factor; beyond it the factor of
#: the last computed level is used (a lower bound, since the factor is nondecreasing in b), which
#: changes the firm by < 2^-MAX_BUDGET_LEVELS relative to the paper and keeps the budget sound.
MAX_BUDGET_LEVELS = 48
#: a round whose certificate is within this factor of the tolerance, while some multipliers still move, tries
#: a short proximal polish before the joint solve (:meth:`_MakerRun._near_miss_prox`): on the 24-day
#: introspection run's day 22 the joint solve spent 5,087 evaluations and ended 20x worse, where proximal
#: steps from the best point certified in ~120
NEAR_MISS = 4.0
NEAR_MISS_STEPS = 4
NEAR_MISS_EVALS = 300


# ---------------------------------------------------------------------------------------------
# day context and trader protocol


@dataclass
class DayContext:
    """What a trader may look at on day ``n``: the sentences priced today, past prices and outcomes."""

    day: int
    sentences: tuple[Sentence, ...]
    index: dict[Sentence, int]
    graph: ExpressionGraph
    truth: np.ndarray  # (N,) 1/0 decided by D_n, -1 undecided
    labels: tuple[str, ...]  # (N,) the scenario's class label of each sentence
    past_prices: Callable[[Sentence, int], float]
    resolved: pd.DataFrame  # columns sentence, label, value, day_resolved (revealed so far)
    blocks: tuple[np.ndarray, ...] = ()  # index arrays of exclusive-exhaustive blocks priced today
    negation_pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    prev_price: np.ndarray | None = None  # (N,) yesterday's price of today's sentences (nan if new)
    #: the calling trader's own (raw, unbudgeted) holdings of today's sentences: a function of the
    #: price history, so an e.c. trader may use it; position-targeting traders trade ``target - held``
    own_holdings: np.ndarray | None = None

    def held(self, idx) -> np.ndarray:
        if self.own_holdings is None:
            return np.zeros(len(idx))
        return self.own_holdings[idx]

    @property
    def undecided(self) -> np.ndarray:
        return np.flatnonzero(self.truth < 0)

    def price(self, idx) -> Expr:
        return self.graph.price(idx)


@dataclass(frozen=True)
class Trade:
    """A trader's day-n trade: shares of today's sentences ``index`` bought, as expressions of prices."""

    index: np.ndarray
    quantity: Expr


class Trader(Protocol):
    name: str
    weight: float  # prior weight w_k in the firm (paper: 2^-k)
    start_day: int  # T^k trades nothing before this day (paper: day k)

    def trade(self, ctx: DayContext) -> Trade | None: ...


# ---------------------------------------------------------------------------------------------
# budgeter


@dataclass(frozen=True)
class BudgetState:
    """What the Budgeter needs about one trader's past: holdings ``H`` on today's sentences, the
    constant part ``c`` of ``W(S_{n-1}) = H.W + c`` (cash plus decided holdings) and ``worst`` =
    ``min_{m<n} min_{W in PC(D_m)} W(S_m)``."""

    holdings: np.ndarray  # (K, N)
    const: np.ndarray  # (K,)
    worst: np.ndarray  # (K,)


def budget_factors(
    pw: ProjectedWorlds,
    trades: np.ndarray,
    prices: np.ndarray,
    holdings: np.ndarray,
    const: np.ndarray,
    budgets: np.ndarray,
    trader_of: np.ndarray,
    max_iter: int = 60,
) -> np.ndarray:
    """Budgeter factor ``inf_W 1/max(1, -W(T)/(b + W(S)))`` for pairs (trader_of[i], budgets[i]).

    ``W(T) = T.(W - P)``, ``W(S) = H.W + c``; requires ``b + W(S) > 0`` in every world (alive budget).
    Dinkelbach: ``lambda <- a(W*)/s(W*)`` with ``W* = argmax_W a(W) - lambda s(W)`` (a separable max);
    it increases monotonically to ``max_W a/s`` and stops after finitely many steps.
    """
    if len(budgets) == 0:
        return np.zeros(0)
    A = np.asarray(pw.rows @ (-trades.T))  # (R, K): -T.W per world row
    Hs = np.asarray(pw.rows @ holdings.T)  # (R, K)
    a0 = (trades * prices).sum(1)  # (K,): +T.P
    kk = trader_of
    a_rows, s_rows = A[:, kk], Hs[:, kk]
    a_c, s_c = a0[kk], budgets + const[kk]
    lam = np.ones(len(kk))  # we only need max(1, max ratio)
    live = np.arange(len(kk))  # pairs still improving
    for _ in range(max_iter):
        every = len(live) == len(kk)  # first rounds: plain arrays, no column copies
        a_live, s_live = (a_rows, s_rows) if every else (a_rows[:, live], s_rows[:, live])
        scores = a_live - lam[live] * s_live
        best = pw.argmax_rows(scores)  # (C, M_live)
        a_val = a_rows[best, live].sum(0) + a_c[live]  # the maximising rows' entries, gathered directly
        s_val = s_rows[best, live].sum(0) + s_c[live]
        if np.any(s_val <= 0):
            raise ValueError("budgeter called on a dead budget level (b + W(S) <= 0)")
        new = np.maximum(1.0, a_val / s_val)
        grow = new > lam[live] * (1 + 1e-15)
        lam[live] = np.maximum(lam[live], new)
        live = live[grow]
        if len(live) == 0:
            break
    if pw.lazy:  # the rows of a lazy component are a working set: continue with the exact oracle
        lam = _dinkelbach_exact(pw, -trades[kk], holdings[kk], a_c, s_c, lam, max_iter)
    return 1.0 / lam


def _dinkelbach_exact(pw, a_coef, s_coef, a_c, s_c, lam, max_iter: int) -> np.ndarray:
    """Column generation for :func:`budget_factors` on lazy worlds: per pair ``i``, starting from the
    working set's ratio ``lam[i]`` (a lower bound: its worlds are consistent), Dinkelbach steps with the
    exact maximiser ``W* = argmax_W (a_i - lam s_i).W`` over all of PC(D_n) (:meth:`ProjectedWorlds.
    argmax_world`) until ``max_W a_i(W) - lam s_i(W) <= 0``, i.e. ``lam >= max_W a_i/s_i``: the factor
    is exactly the paper's, never larger (a trader never overspends)."""
    lam = lam.copy()
    for i in range(len(lam)):
        for _ in range(max_iter):
            W = pw.argmax_world(a_coef[i] - lam[i] * s_coef[i])
            a_val, s_val = a_coef[i] @ W + a_c[i], s_coef[i] @ W + s_c[i]
            if s_val <= 0:
                raise ValueError("budgeter called on a dead budget level (b + W(S) <= 0)")
            new = max(1.0, a_val / s_val)
            if new <= lam[i] * (1 + 1e-15):
                break
            lam[i] = new
    return lam


def budget_multipliers(pw: ProjectedWorlds, trades: np.ndarray, prices: np.ndarray, state: BudgetState) -> np.ndarray:
    """``m_k = sum_{b>=1} 2^-b Budgeter^b factor`` for every trader (see module doc), exact up to
    :data:`MAX_BUDGET_LEVELS` levels per trader."""
    K = trades.shape[0]
    if K == 0:
        return np.zeros(0)
    # dead levels: W(S_m) <= -b for some m < n (a 1e-9 margin absorbs float round-off, so an alive
    # level always has b + W(S) > 1e-9 in every world of PC(D_n))
    now = pw.min_linear(state.holdings.T) + state.const
    worst = np.minimum(state.worst, now)
    b_min = np.maximum(1.0, np.floor(-worst + 1e-9) + 1.0)
    # b* = max_W(-(T+H).W) + T.P - c : for b >= b*, -W(T) <= b + W(S) in every world
    b_star = pw.max_linear(-(trades + state.holdings).T) + (trades * prices).sum(1) - state.const
    B = np.maximum(b_min, np.floor(b_star + 1e-9) + 1.0)  # every level <= b* (plus round-off) is exact
    n_levels = np.clip(B - b_min, 0, MAX_BUDGET_LEVELS).astype(np.int64)
    trader_of = np.repeat(np.arange(K), n_levels)
    offs = np.arange(len(trader_of)) - np.repeat(np.cumsum(n_levels) - n_levels, n_levels)
    budgets = b_min[trader_of] + offs
    f = budget_factors(pw, trades, prices, state.holdings, state.const, budgets, trader_of)
    m = np.ldexp(1.0, (1 - B).astype(np.int64)) if len(B) else np.zeros(0)  # closed-form tail b >= B
    m = m.astype(float)
    np.add.at(m, trader_of, np.ldexp(f, (-budgets).astype(np.int64)))
    # levels beyond the cap: the last exact factor as a (sound) lower bound
    capped = (B - b_min) > MAX_BUDGET_LEVELS
    if np.any(capped):
        last = np.zeros(K)
        ends = np.cumsum(n_levels) - 1
        last[n_levels > 0] = f[ends[n_levels > 0]]
        first_unc = b_min + MAX_BUDGET_LEVELS
        extra = np.ldexp(1.0, (1 - first_unc).astype(np.int64)) - np.ldexp(1.0, (1 - B).astype(np.int64))
        m = m + np.where(capped, last * extra, 0.0)
    return m


# ---------------------------------------------------------------------------------------------
# market maker


@dataclass(frozen=True)
class MakerResult:
    prices: np.ndarray
    firm_trade: np.ndarray
    multipliers: np.ndarray
    max_value: float  # max_{W in PC(D_n)} W(F(P)) (exact, solver worlds)
    split_bound: float  # per-sentence split bound sum_phi max_w F_phi (w - P_phi)
    tolerance: float
    certified: bool
    evaluations: int


def split_bound(F: np.ndarray, P: np.ndarray) -> float:
    """Per-sentence split: ``sum_phi max_{w in {0,1}} F_phi (w - P_phi)`` >= the max over consistent worlds."""
    return float((np.maximum(F, 0) * (1 - P) + np.maximum(-F, 0) * P).sum())


def dependency_pattern(
    graph: ExpressionGraph, trades: list[tuple[int, np.ndarray, np.ndarray]], N: int
) -> sp.csr_matrix:
    """Boolean (N, N) sparse pattern: does the firm's trade on sentence i depend on today's price j?

    Computed by propagating price-leaf sets up the DAG: densely, level by level, when the graph is
    small (``size * N <= DENSE_PATTERN_CELLS``); else ``D = L + A D`` to a fixed point with one sparse
    product per level of depth."""
    n = graph.size
    if trades and n * N <= DENSE_PATTERN_CELLS and N * N <= DENSE_PATTERN_CELLS:
        return _dense_dependency_pattern(graph, trades, N)
    op, a, b = graph.op[:n], graph.a[:n], graph.b[:n]
    leaf = np.flatnonzero(op == OP_PRICE)
    L = sp.csr_matrix((np.ones(len(leaf)), (leaf, a[leaf])), shape=(n, N))
    inner = np.flatnonzero(op >= OP_ADD)
    rows = np.concatenate([inner, inner])
    cols = np.concatenate([a[inner], b[inner]])
    A = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    D = L.copy()
    for _ in range(int(graph.level[:n].max(initial=0)) + 1):
        new = ((L + A @ D) > 0).astype(np.float64)
        if (new != D).nnz == 0:
            break
        D = new
    if not trades:
        return sp.csr_matrix((N, N))
    idx = np.concatenate([t[1] for t in trades])
    ids = np.concatenate([t[2] for t in trades])
    Sel = sp.csr_matrix((np.ones(len(idx)), (idx, ids)), shape=(N, n))
    return ((Sel @ D) > 0).astype(np.float64).tocsr()


#: the dependency pattern is propagated with dense boolean arrays below this many cells
DENSE_PATTERN_CELLS = 1 << 21


def _dense_dependency_pattern(graph: ExpressionGraph, trades, N: int) -> sp.csr_matrix:
    """:func:`dependency_pattern` with dense boolean rows: ``D[node] = D[a] | D[b]`` level by level."""
    n = graph.size
    op, a, b, level = graph.op[:n], graph.a[:n], graph.b[:n], graph.level[:n]
    D = np.zeros((n, N), dtype=bool)
    leaf = np.flatnonzero(op == OP_PRICE)
    D[leaf, a[leaf]] = True
    inner = np.flatnonzero(op >= OP_ADD)
    if len(inner):
        inner = inner[np.argsort(level[inner], kind="stable")]
        cuts = np.flatnonzero(np.diff(level[inner])) + 1
        for grp in np.split(inner, cuts):  # children sit at lower levels: already final
            D[grp] = D[a[grp]] | D[b[grp]]
    idx = np.concatenate([t[1] for t in trades])
    ids = np.concatenate([t[2] for t in trades])
    out = np.zeros((N, N), dtype=bool)
    order = np.argsort(idx, kind="stable")
    idx, rows = idx[order], D[ids[order]]
    starts = np.flatnonzero(np.r_[True, np.diff(idx) != 0])
    out[idx[starts]] = np.logical_or.reduceat(rows, starts, axis=0)
    return sp.csr_matrix(out.astype(np.float64))


def color_columns(pattern: sp.csr_matrix) -> np.ndarray:
    """Greedy colouring: columns sharing a row get different colours (for batched finite differences)."""
    N = pattern.shape[1]
    conflict = (pattern.T @ pattern).tocsr()
    colors = np.full(N, -1, dtype=np.int64)
    indptr, indices = conflict.indptr, conflict.indices
    for j in range(N):
        used = colors[indices[indptr[j] : indptr[j + 1]]]
        c = 0
        used_set = set(used[used >= 0].tolist())
        while c in used_set:
            c += 1
        colors[j] = c
    return colors


def _tiled_state(state: BudgetState, which: np.ndarray, reps: int) -> BudgetState:
    """``state`` restricted to traders ``which`` and repeated ``reps`` times (one copy per price vector)."""
    return BudgetState(
        np.tile(state.holdings[which], (reps, 1)), np.tile(state.const[which], reps), np.tile(state.worst[which], reps)
    )


def batch_multipliers(
    pw: ProjectedWorlds, trades: np.ndarray, prices: np.ndarray, state: BudgetState, which: np.ndarray
) -> np.ndarray:
    """Budget multipliers of traders ``which`` at a batch of price vectors: trades (B, K, N), prices
    (B, N) -> (B, len(which)). Each (price vector, trader) pair is budgeted as a trader of its own
    (the same holdings), so this is :func:`budget_multipliers` applied row by row, in one call."""
    B, N = prices.shape
    ka = np.asarray(which, dtype=np.int64)
    if len(ka) == 0 or B == 0:
        return np.zeros((B, len(ka)))
    T = trades[:, ka, :].reshape(B * len(ka), N)
    P = np.repeat(prices, len(ka), axis=0)
    return budget_multipliers(pw, T, P, _tiled_state(state, ka, B)).reshape(B, len(ka))


def _firm_weighted(raw_trades, weights, m_fixed, act_idx, pw, state, P, base, vary):
    """``F(P) = sum_k w_k m_k T_k(P)`` from the trade nodes directly (``raw_trades.weighted``), with the
    exact multipliers of the active traders recomputed at every price vector (``raw_trades.rows``)."""
    if vary is None:
        base = None
    coef = weights * m_fixed
    if len(act_idx):
        coef = coef.copy()
        coef[act_idx] = 0.0
    F = raw_trades.weighted(P, coef, base, vary)
    if len(act_idx) == 0:
        return F
    Ta = raw_trades.rows(P, act_idx, base, vary)
    P2 = np.atleast_2d(np.asarray(P, dtype=float))
    Tb = Ta if Ta.ndim == 3 else Ta[None]
    B, a, N = Tb.shape
    m = budget_multipliers(pw, Tb.reshape(B * a, N), np.repeat(P2, a, axis=0), _tiled_state(state, act_idx, B))
    Fa = np.einsum("ba,ban->bn", weights[act_idx] * m.reshape(B, a), Tb)
    return F + (Fa if Ta.ndim == 3 else Fa[0])


@dataclass(frozen=True)
class SolveKnobs:
    """The effort knobs of one maker solve (see :func:`make_market`), passed unchanged to every restart."""

    bisection_steps: int
    max_rounds: int
    newton_steps: int
    sweep_calls: int
    init_sweeps: int
    init_steps: int


def make_market(
    pw: ProjectedWorlds,
    truth: np.ndarray,
    raw_trades: Callable[[np.ndarray], np.ndarray],
    weights: np.ndarray,
    state: BudgetState,
    start: np.ndarray,
    tolerance: float,
    pattern: sp.csr_matrix | None = None,
    bisection_steps: int = 7,
    max_rounds: int = 8,
    newton_steps: int = 60,
    support: np.ndarray | None = None,
    aim: float | None = None,
    sweep_calls: int = 8,
    init_sweeps: int = 2,
    init_steps: int = 4,
    fallback: bool = True,
    max_evals: int = 5000,
) -> MakerResult:
    """Find prices with the firm's worst-case value ``<= tolerance`` (see module doc).

    The firm is ``F(P) = sum_k w_k m_k(P) T^k(P)``. Each round solves for P with the budget multipliers
    frozen: sentences no other trade reads (singleton components of the dependency ``pattern``) by
    batched k-section; in round 0, coupled components holding a new sentence get a first sweep, starting
    from yesterday's prices: on days whose tolerance is tight (``eps_n <= aim``) k-sections in the null
    space of the steep couplings (:func:`_nullspace_sweeps`, ``init_sweeps`` passes; 2.7x fewer firm
    evaluations than a coordinate sweep once budgets bind), on loose early days -- which may stop at
    their first certifiable point, so the start matters -- a coordinate Gauss-Seidel sweep of exact
    one-sentence k-sections (``init_steps`` rounds; the null-space start left the 24-day audits' prices
    visibly worse: a never-decided sentence at 0, block sums off by 0.1); then semismooth
    Levenberg-Marquardt polishes everything (Jacobian by coloured finite differences). Components the
    polish leaves with a residual while the day is not yet certifiable -- a steep arbitrage coupling next
    to flat, saturated trades -- get :func:`_nullspace_sweeps` and the polish again (up to
    ``sweep_calls`` times). The exact firm value at the result is certified over PC(D_n); the
    multipliers are then refreshed at the new prices and, if needed, another round runs. Traders whose
    multiplier still moves after a refresh become *active*: from then on their exact multiplier
    ``m_k(P)`` is recomputed at every price vector the solver evaluates (:func:`batch_multipliers`),
    so the solver sees the true, continuous ``F`` for them instead of alternating between frozen
    multipliers and prices (which need not converge once a budget binds hard). An active trader
    couples every sentence it trades (its multiplier reads all of them), so the pattern is widened by
    its ``support`` (K, N: which sentences each trader trades; default ``raw_trades.support`` or a probe
    at three price vectors). The result is the best point found, with its certified worst-case value.

    If the day is still not certified, the fallback (``fallback=True``, :func:`_fallback`) restarts the
    solve from 1/2, runs proximal-point continuation from the best point found, polishes over the
    undecided prices only and, last, follows Merrill's PL homotopy (:mod:`.pl_homotopy`) on days with at
    most :data:`PL_MAX_PRICES` undecided prices.

    Knobs: ``aim`` (stop early only below it; default ``tolerance``; a second round is still skipped
    once the day certifies after a budget refresh), ``bisection_steps`` (k-section
    rounds of 64-point grids for separable sentences), ``init_sweeps`` / ``init_steps`` (the first
    sweep of new coupled blocks), ``newton_steps``,
    ``sweep_calls`` (null-space sweep + polish repeats per round), ``max_rounds``.
    """
    solver = _MakerRun(
        pw, truth, raw_trades, weights, state, start, tolerance, pattern, support, aim, max_evals=max_evals
    )
    knobs = SolveKnobs(bisection_steps, max_rounds, newton_steps, sweep_calls, init_sweeps, init_steps)
    res = solver.solve(knobs)
    if res.certified or not fallback or len(truth) == 0:
        return res
    return _fallback(solver, res, knobs)


class _MakerRun:
    """One maker solve (see :func:`make_market`): the prices, the frozen multipliers, the *active* traders
    (solved jointly with their exact multipliers), the coupling structure and the best point so far.
    ``prox = (mu, Q)`` adds ``mu (Q - P)`` to the firm's trade on undecided sentences (the proximal
    regularisation of the fallback; the certificate always uses the true firm)."""

    def __init__(
        self, pw, truth, raw_trades, weights, state, start, tolerance, pattern, support, aim, prox=None, max_evals=5000
    ):
        N = len(truth)
        self.max_evals = max_evals
        self.pw, self.truth, self.raw_trades, self.weights, self.state = pw, truth, raw_trades, weights, state
        self.start = start
        self.free_only = False  # the polish's least squares over undecided prices only (fallback, _newton)
        self.tolerance, self.support, self.prox = tolerance, support, prox
        self.aim = tolerance if aim is None else min(aim, tolerance)
        self.und = truth < 0
        self.fresh = ~np.isfinite(np.asarray(start, dtype=float)) if start is not None else np.ones(N, dtype=bool)
        self.P = np.where(~self.und, truth.astype(float), np.clip(np.nan_to_num(start, nan=0.5), 0, 1))
        self.base_pattern = _with_diagonal(pattern, N)
        self.partial = getattr(raw_trades, "partial_evaluation", False)
        self.weighted = getattr(raw_trades, "weighted", None)
        self.m_fixed = budget_multipliers(pw, raw_trades(self.P), self.P, state)
        self.active = np.zeros(len(weights), dtype=bool)
        self.act_idx = np.flatnonzero(self.active)
        self.evals = 0
        self.best = None

    def firm_at(self, P, base=None, vary=None):
        """F(P) with the multipliers frozen except the active traders' (exact at every price vector)."""
        self.evals += 1
        F = self._firm(P, base, vary)
        if self.prox is not None:
            mu, Q = self.prox
            F = F + np.where(self.und, mu * (Q - P), 0.0)
        return F

    def _firm(self, P, base, vary):
        pw, state, weights, act_idx = self.pw, self.state, self.weights, self.act_idx
        if self.weighted is not None:  # no (B, K, N) tensor: frozen multipliers in one sparse product
            return _firm_weighted(self.raw_trades, weights, self.m_fixed, act_idx, pw, state, P, base, vary)
        raw = self.raw_trades
        T = raw(P, base=base, vary=vary) if self.partial and vary is not None else raw(P)
        if T.ndim == 2:
            m = self.m_fixed.copy()
            if len(act_idx):
                m[act_idx] = batch_multipliers(pw, T[None], P[None], state, act_idx)[0]
            return (weights * m) @ T
        m = np.repeat(self.m_fixed[None, :], T.shape[0], axis=0)
        if len(act_idx):
            m[:, act_idx] = batch_multipliers(pw, T, np.asarray(P, dtype=float), state, act_idx)
        return np.einsum("bk,bkn->bn", weights * m, T)

    def solve(self, knobs: SolveKnobs) -> MakerResult:
        """Rounds of: solve with frozen multipliers, certify with exact ones, refresh (see make_market)."""
        N, structure = len(self.P), None
        for rnd in range(knobs.max_rounds):
            if structure is None:
                act_support = self.support[self.act_idx] if len(self.act_idx) else np.zeros((0, N), dtype=bool)
                structure = _coupling(self.base_pattern, act_support)
            self._solve_frozen(rnd, structure, knobs)
            value, m, T = self._certify()
            changed = np.abs(m - self.m_fixed) > 1e-12  # none changed: a new round would solve the same problem
            if value <= self.aim or (value <= self.tolerance and (rnd >= 1 or not changed.any())):
                break
            if self.prox is not None and self._prox_solved(m, T):
                break
            if self.evals > self.max_evals:  # a hard day: leave it to the fallback
                break
            moved = ~self.active & changed
            self.m_fixed = np.where(self.active, self.m_fixed, m)
            near_miss = rnd >= 1 and moved.any() and self.prox is None and value <= NEAR_MISS * self.tolerance
            if near_miss and self._near_miss_prox(knobs):  # a short proximal polish before the joint solve
                break
            if rnd >= 1 and moved.any():  # still reacting after a refresh: solve jointly with them
                if self.support is None:
                    self.support = _trade_support(self.raw_trades, N, T)
                self.active |= moved
                self.act_idx = np.flatnonzero(self.active)
                structure = None
        return self.result()

    def _solve_frozen(self, rnd, structure, knobs: SolveKnobs):
        bisection_steps, newton_steps, sweep_calls = knobs.bisection_steps, knobs.newton_steps, knobs.sweep_calls
        init_sweeps, init_steps = knobs.init_sweeps, knobs.init_steps
        pat, comp, colors = structure
        P, und, firm_at = self.P, self.und, self.firm_at
        size = np.bincount(comp)[comp] if len(P) else np.zeros(0, dtype=np.int64)
        single, coupled = und & (size == 1), und & (size > 1)
        if single.any():
            P = _ksection(P, firm_at, single, bisection_steps)
        if coupled.any():
            if rnd == 0:
                fresh_comp = np.zeros(comp.max() + 1, dtype=bool)
                fresh_comp[comp[self.fresh & coupled]] = True
                sweep = coupled & fresh_comp[comp]
                if sweep.any():
                    if self.tolerance > self.aim:  # a loose day may stop at its first certifiable point: start well
                        P = _gauss_seidel_bisection(P, firm_at, sweep, colors, init_steps, sweeps=1)
                    else:
                        P = _nullspace_sweeps(P, firm_at, und, comp, sweep, sweeps=init_sweeps)
            P = _newton(P, firm_at, und, colors, pat, newton_steps, self.free_only)
            # components the polish could not solve (a steep coupling next to flat trades): sweep them
            # in the null space of the steep couplings, then polish again
            for _ in range(sweep_calls):
                if self.evals > self.max_evals:
                    break
                Fm = firm_at(P)
                if float(self.pw.max_linear(Fm) - Fm @ P) <= self.tolerance:
                    break  # certifiable (up to the budget refresh): no fallback needed
                R = np.abs(np.where(und, P - np.clip(P + Fm, 0.0, 1.0), 0.0))
                bad = np.zeros(comp.max() + 1, dtype=bool)
                bad[comp[R > 1e-13]] = True
                stuck = coupled & bad[comp]
                if not stuck.any():
                    break
                P = _nullspace_sweeps(P, firm_at, und, comp, stuck)
                P = _newton(P, firm_at, und, colors, pat, newton_steps, self.free_only)
        self.P = P

    def _near_miss_prox(self, knobs: SolveKnobs) -> bool:
        """A round ended just above the tolerance and some multipliers still move: before solving jointly
        with those traders (thousands of evaluations, each recomputing their exact multipliers), try a few
        proximal-point steps from the best point (:func:`_prox_continuation`, ``NEAR_MISS_STEPS`` steps of
        ``NEAR_MISS_EVALS`` evaluations at most). The best point found is kept either way; True if it is
        certified (the joint solve is then skipped)."""
        tries = _prox_continuation(self, self.best[1], [], NEAR_MISS_EVALS, knobs, NEAR_MISS_STEPS)
        self.evals += sum(r.evaluations for r in tries)
        best = min(tries, key=lambda r: r.max_value, default=None)
        if best is not None and best.max_value < self.best[0]:
            self.best = (best.max_value, best.prices.copy(), best.firm_trade.copy(), best.multipliers.copy())
        return self.best[0] <= self.tolerance

    def _prox_solved(self, m, T) -> bool:
        """Is P a fixed point of the regularised firm ``F(P) + mu (Q - P)`` (exact multipliers), up to
        round-off? Then the proximal step is done, certified or not."""
        mu, Q = self.prox
        F = (self.weights * m) @ T + mu * (Q - self.P)
        R = np.where(self.und, self.P - np.clip(self.P + F, 0.0, 1.0), 0.0)
        return float(np.abs(R).max(initial=0.0)) <= 1e-13

    def exact_firm(self, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The true firm at ``P``, every multiplier exact (what the certificate judges): ``(F, m, T)``."""
        T = self.raw_trades(P)
        m = budget_multipliers(self.pw, T, P, self.state)
        return (self.weights * m) @ T, m, T

    def _certify(self):
        """The exact worst-case value of the true firm at the current prices (multipliers recomputed)."""
        P = self.P
        F, m, T = self.exact_firm(P)
        value = float(self.pw.max_linear(F) - F @ P) if len(P) else 0.0
        if self.best is None or value < self.best[0]:
            self.best = (value, P.copy(), F.copy(), m.copy())
        return value, m, T

    def result(self) -> MakerResult:
        value, P, F, m = self.best
        return MakerResult(P, F, m, value, split_bound(F, P), self.tolerance, bool(value <= self.tolerance), self.evals)


def _fallback(first: _MakerRun, res: MakerResult, knobs: SolveKnobs, max_prox: int = 12) -> MakerResult:
    """When the solve does not certify: (1) the same solve restarted from 1/2 (the start matters on
    non-monotone days); (2) proximal-point continuation from the best point Q found: solve the
    regularised firm ``F(P) + mu (Q - P)`` (for large ``mu`` its fixed point is a short step from Q, and
    for a monotone firm it is unique), move Q there, shrink ``mu`` by 4 and repeat; for a monotone firm
    the iterates converge to a fixed point of F itself (Rockafellar 1976); (3) if still uncertified, the
    first solve again from its own start with the polish's least squares over the undecided prices only
    (:func:`_free_polish_solve`; last, so the days (1)-(2) certify keep their prices); (4) on a day with at
    most :data:`PL_MAX_PRICES` undecided prices still uncertified, Merrill's PL homotopy
    (:func:`_pl_homotopy_solve`), which converges for any continuous firm. The best certified
    point, or the best point found, is returned with its exact certificate (never an uncertified day reported as
    certified)."""
    args = (first.pw, first.truth, first.raw_trades, first.weights, first.state)
    budget = max(first.max_evals // 2, 200)
    tries = [res]
    half = _MakerRun(
        *args,
        np.full(len(first.truth), 0.5),
        first.tolerance,
        first.base_pattern,
        first.support,
        first.aim,
        max_evals=budget,
    )
    tries.append(half.solve(knobs))
    Q = min(tries, key=lambda r: r.max_value).prices
    if min(r.max_value for r in tries) > first.tolerance:
        tries += _prox_continuation(first, Q, tries, budget, knobs, max_prox)
    if min(r.max_value for r in tries) > first.tolerance:  # last, so the days (1)-(2) certify keep their prices
        tries.append(_free_polish_solve(first, knobs, budget))
    if min(r.max_value for r in tries) > first.tolerance and 0 < first.und.sum() <= PL_MAX_PRICES:
        tries.append(_pl_homotopy_solve(first, min(tries, key=lambda r: r.max_value).prices, PL_MAX_EVALS))
    return _merged(tries)


def _prox_continuation(
    first: _MakerRun, Q: np.ndarray, tries: list[MakerResult], budget: int, knobs: SolveKnobs, steps: int
) -> list[MakerResult]:
    """Proximal-point continuation from Q: solve the regularised firm ``F(P) + mu (Q - P)`` (``mu`` from
    4x the firm's total weight, shrinking by 4 a step; for large ``mu`` the fixed point is a short step
    from Q, unique for a monotone firm), move Q there, repeat; for a monotone firm the iterates converge
    to a fixed point of F itself (Rockafellar 1976). Stops at the first try certified (counting ``tries``
    already made). Returns the new tries, each with its exact certificate for the true firm."""
    args = (first.pw, first.truth, first.raw_trades, first.weights, first.state)
    mu = 4.0 * max(float(np.abs(first.weights).sum()), 1e-12)
    new: list[MakerResult] = []
    for _ in range(steps):
        if min((r.max_value for r in tries + new), default=np.inf) <= first.tolerance:
            break
        run = _MakerRun(
            *args, Q, first.tolerance, first.base_pattern, first.support, first.aim, prox=(mu, Q), max_evals=budget
        )
        r = run.solve(knobs)
        new.append(r)
        Q, mu = r.prices, mu / 4.0
    return new


def _free_polish_solve(first: _MakerRun, knobs: SolveKnobs, budget: int) -> MakerResult:
    """The first solve again from its own start, with the polish's least squares over the undecided
    prices only (``free_only`` in :func:`_newton`): the fallback's last step."""
    run = _MakerRun(
        first.pw,
        first.truth,
        first.raw_trades,
        first.weights,
        first.state,
        first.start,
        first.tolerance,
        first.base_pattern,
        first.support,
        first.aim,
        max_evals=budget,
    )
    run.free_only = True
    return run.solve(knobs)


#: the last resort's limits: undecided prices (a level's path grows like n^2 pivots) and firm evaluations
PL_MAX_PRICES = 24
PL_MAX_EVALS = 60_000


def _pl_homotopy_solve(first: _MakerRun, Q: np.ndarray, budget: int) -> MakerResult:
    """The fallback's last step (4), globally convergent: Merrill's restart algorithm
    (:mod:`.pl_homotopy`) for a zero of ``g(x) = clip(x + F(x), 0, 1) - x`` on the undecided prices, with
    the true firm (exact multipliers), from the best point ``Q`` found. Each level's PL zero is certified
    exactly; it stops at the first certified one or after ``budget`` firm evaluations. The first path's mesh
    is 4x the residual ``max |g(Q)|`` (a near miss usually has its fixed point that close: seed 294 of
    :mod:`.hardcases` certifies in 59 evaluations this way against 6,683 from a coarse mesh); if that path
    ends uncertified (it may spend a tenth of the budget), a second from a coarse mesh (1/4) spends the rest."""
    from aflab.logical_induction.pl_homotopy import merrill_restart

    und = np.flatnonzero(first.und)
    best: list[tuple] = [(np.inf, Q, None, None)]
    spent = [0]

    def at(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        spent[0] += 1
        P = Q.copy()
        P[und] = np.clip(x, 0.0, 1.0)
        F, m, _ = first.exact_firm(P)
        return P, F, m

    def g(x: np.ndarray) -> np.ndarray:
        P, F, _ = at(x)
        return np.clip(P[und] + F[und], 0.0, 1.0) - x

    def certified(x: np.ndarray) -> bool:
        P, F, m = at(x)
        value = float(first.pw.max_linear(F) - F @ P)
        if value < best[0][0]:
            best[0] = (value, P, F, m)
        return value <= first.tolerance

    if not certified(Q[und]):
        local = min(0.25, max(4.0 * float(np.abs(g(Q[und])).max()), 1e-9))
        for delta0, cap in {local: budget // 10, 0.25: budget}.items():  # fine (near miss's scale), then coarse
            merrill_restart(g, Q[und], delta0=delta0, max_evals=min(cap, budget - spent[0]), stop=certified)
            if best[0][0] <= first.tolerance or spent[0] >= budget:
                break
    value, P, F, m = best[0]
    first.evals += spent[0]
    return MakerResult(P, F, m, value, split_bound(F, P), first.tolerance, bool(value <= first.tolerance), spent[0])


def _merged(tries: list[MakerResult]) -> MakerResult:
    """The best try (lowest exact worst-case value), with the evaluations of all tries."""
    best = min(tries, key=lambda r: r.max_value)
    evals = sum(r.evaluations for r in tries)
    return MakerResult(
        best.prices,
        best.firm_trade,
        best.multipliers,
        best.max_value,
        best.split_bound,
        best.tolerance,
        best.certified,
        evals,
    )


def _trade_support(raw_trades, N: int, T: np.ndarray) -> np.ndarray:
    """Which sentences each trader trades (K, N): ``raw_trades.support`` if given, else the nonzero
    entries of its trade at the current and two probe price vectors."""
    given = getattr(raw_trades, "support", None)
    if given is not None:
        return np.asarray(given, dtype=bool)
    return (T != 0) | (raw_trades(np.full(N, 0.25)) != 0) | (raw_trades(np.full(N, 0.75)) != 0)


def _with_diagonal(pattern: sp.csr_matrix | None, N: int) -> sp.csr_matrix:
    """``pattern`` or the identity, as a 0/1 CSR matrix (every sentence's trade reads its own price).
    A pattern with no off-diagonal entry -- every day of a market whose trades read only their own
    sentence's price -- is the identity itself, built directly (10x cheaper than the sparse sum)."""
    if pattern is None or N == 0:
        return sp.eye(N, format="csr")
    pattern = sp.csr_matrix(pattern)
    rows = np.repeat(np.arange(N), np.diff(pattern.indptr))
    if np.array_equal(pattern.indices, rows):
        return sp.eye(N, format="csr")
    return ((pattern + sp.eye(N)) > 0).astype(np.float64).tocsr()


def _coupling(base_pattern: sp.csr_matrix, active_support: np.ndarray):
    """Dependency pattern widened by the active traders (each couples the sentences it trades with
    every price its trade reads), its connected components and a column colouring. With no coupling at
    all (the identity pattern) every sentence is its own component, in order, and one colour serves."""
    N = base_pattern.shape[0]
    pat = base_pattern
    if len(active_support) and active_support.any():
        Sa = sp.csr_matrix(active_support.astype(np.float64))
        reads = (((Sa @ base_pattern) + Sa) > 0).astype(np.float64)
        pat = ((pat + Sa.T @ reads) > 0).astype(np.float64).tocsr()
    if N == 0:
        return pat, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if pat.nnz == N:  # the identity (the diagonal is always in): no edges
        return pat, np.arange(N, dtype=np.int64), np.zeros(N, dtype=np.int64)
    _, comp = csgraph.connected_components(pat + pat.T, directed=False)
    colors = color_columns(pat) if np.bincount(comp).max() > 1 else np.zeros(N, dtype=np.int64)
    return pat, comp, colors


def _ksection(P, firm_at, sel, rounds, grid=64):
    """Root of each selected sentence's own trade ``F_phi(P_phi) = 0`` on [0, 1] (others fixed at ``P``
    or moving together), by k-section: each round evaluates a batch of ``grid - 1`` price vectors and
    keeps the first sign change from ``F > 0`` to ``F <= 0``; ``rounds`` rounds give width 64^-rounds.
    Sentences whose trade is negative at 0 end at 0; positive at 1 end at 1 (complementarity)."""
    N = len(P)
    lo, hi = np.zeros(N), np.ones(N)
    frac = (np.arange(1, grid) / grid)[:, None]
    for _ in range(rounds):
        pts = lo[None, :] + (hi - lo)[None, :] * frac  # (G-1, N)
        f = firm_at(np.where(sel[None, :], pts, P[None, :]), base=P, vary=sel)
        lo, hi = _first_sign_change(pts, f, lo, hi)
    # endpoints: at 0 if F(lo=0) side never positive, at 1 if never non-positive
    out = 0.5 * (lo + hi)
    out = np.where(lo <= 0, 0.0, np.where(hi >= 1, 1.0, out))
    cand = np.stack([out, lo, hi])
    fc = firm_at(np.where(sel[None, :], cand, P[None, :]), base=P, vary=sel)
    # the secant root inside the last bracket (exact where the trade is linear there: steep s-curves)
    f_lo, f_hi = fc[1], fc[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        sec = np.where((f_lo > 0) & (f_hi <= 0) & (f_lo > f_hi), lo - f_lo * (hi - lo) / (f_hi - f_lo), out)
    sec = np.clip(np.nan_to_num(sec, nan=0.5), lo, hi)
    f_sec = firm_at(np.where(sel, sec, P)[None, :], base=P, vary=sel)
    cand, fc = np.vstack([cand, sec[None, :]]), np.vstack([fc, f_sec])
    term = np.maximum(fc, 0) * (1 - cand) + np.maximum(-fc, 0) * cand
    best = cand[term.argmin(axis=0), np.arange(N)]
    return np.where(sel, best, P)


def _first_sign_change(pts: np.ndarray, f: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """One k-section round per column: ``f`` at the grid ``pts`` (G-1, C) inside ``[lo, hi]``; the new
    bracket is the first grid step where ``f`` turns from ``> 0`` to ``<= 0`` (``[lo, first]`` if
    already ``<= 0`` at the first point, ``[last, hi]`` if never)."""
    nonpos = f <= 0
    any_np = nonpos.any(axis=0)
    first = np.argmax(nonpos, axis=0)
    cols = np.arange(pts.shape[1])
    new_hi = np.where(any_np, pts[first, cols], hi)
    new_lo = np.where(any_np, np.where(first > 0, pts[np.maximum(first - 1, 0), cols], lo), pts[-1])
    return new_lo, new_hi


def _gauss_seidel_bisection(P, firm_at, und, colors, steps, sweeps=3, tol=1e-10):
    """Nonlinear Gauss-Seidel: for each colour, k-section the own price of all its undecided
    sentences at once (their trades do not depend on each other's prices), others held fixed; repeat
    sweeps (only over sentences whose natural residual is still above ``tol``) until it is below.
    Exact in flat (saturated) regions where Newton-type steps have no gradient to follow."""
    P = P.copy()
    active = und.copy()
    for _ in range(sweeps):
        for c in range(int(colors.max(initial=-1)) + 1):
            sel = active & (colors == c)
            if sel.any():
                P = _ksection(P, firm_at, sel, steps)
        F = firm_at(P)
        R = np.abs(np.where(und, P - np.clip(P + F, 0.0, 1.0), 0.0))
        if R.max(initial=0.0) <= tol:
            break
        active = active & (tol * 1e-3 < R)
    return P


def _stiff_subspace(J: np.ndarray, gap: float = 10.0) -> np.ndarray:
    """Orthonormal basis of the *stiff* directions of a component's Jacobian: eigenvectors of
    ``-(J + J^T)/2`` whose eigenvalue is within a factor ``gap`` of the largest one. Arbitrage traders
    (block / negation coherence) put a steep rank-one term on every aggregate they trade, next to much
    flatter single-sentence terms (zero where a trade is saturated)."""
    w, V = np.linalg.eigh(-(J + J.T) / 2)
    top = w.max(initial=0.0)
    if top <= 0:
        return V[:, :0]
    return V[:, w >= top / gap]


def _nullspace_sweeps(P, firm_at, und, comp, sel, sweeps=3, rounds=3, grid=32, tol=1e-9):
    """Gauss-Seidel in the null space of the stiff couplings (a "water-filling" sweep).

    Plain coordinate sweeps crawl when a steep coupling (an arbitrage trader on a block's sum) sits
    next to flat single-sentence trades: moving one price changes the sum, the arbitrageur pushes
    it back. Here each step moves sentence ``i`` along ``d_i = (I - U U^T) e_i`` (``U``: the stiff
    subspace of the component's Jacobian, :func:`_stiff_subspace`), which leaves the stiff trades
    unchanged to first order, and k-sections ``phi(t) = d_i . F(P + t d_i)`` (non-increasing for a
    monotone firm) on the segment that keeps prices in [0, 1]. K-sections cross flat (saturated)
    regions exactly, where Newton steps have no gradient. Components are independent: the i-th step
    of every selected component is taken in the same batch. Prices pinned at a bound by their trade
    (``P = 0, F < 0`` or ``P = 1, F > 0``) stay out of the directions."""
    P = P.copy()
    N = len(P)
    comps = np.unique(comp[sel])
    if len(comps) == 0:
        return P
    members = [np.flatnonzero(sel & und & (comp == c)) for c in comps]
    h = 1e-6
    frac = (np.arange(1, grid) / grid)[:, None]
    every = np.concatenate(members)
    for _ in range(sweeps):
        F = firm_at(P)
        if np.abs(P[every] - np.clip(P[every] + F[every], 0.0, 1.0)).max() <= tol:
            break  # close enough for the polish (Newton) to finish
        pinned = ((P <= 0.0) & (F < 0)) | ((P >= 1.0) & (F > 0))
        frees = [idx[~pinned[idx]] for idx in members]
        frees = [f for f in frees if len(f)]
        if not frees:
            break
        width = max(len(f) for f in frees)
        E = np.zeros((width, N))
        for f in frees:
            E[np.arange(len(f)), f] = h
        Fh = firm_at(P[None, :] + E)
        bases = []
        for f in frees:
            J = ((Fh[: len(f)][:, f] - F[f][None, :]) / h).T  # J[r, s] = dF_{f_r} / dP_{f_s}
            U = _stiff_subspace(J)
            bases.append(np.eye(len(f)) - U @ U.T)
        for s in range(width):
            D = np.zeros((len(frees), N))  # one direction per component
            for c, (f, Q) in enumerate(zip(frees, bases)):
                if s < len(f):
                    D[c, f] = Q[:, s]
            D[np.abs(D) < 1e-12] = 0.0
            live = np.flatnonzero(np.abs(D).sum(1) > 0)
            if len(live) == 0:
                continue
            D = D[live]
            with np.errstate(divide="ignore", invalid="ignore"):
                up = np.where(D > 0, (1.0 - P) / D, np.where(D < 0, -P / D, np.inf))
                down = np.where(D > 0, -P / D, np.where(D < 0, (1.0 - P) / D, -np.inf))
            hi, lo = np.minimum(up.min(1), 1.0), np.maximum(down.max(1), -1.0)
            touched = np.abs(D).sum(0) > 0

            def phi(T):  # T (B, C) step per component -> (B, C) directional residuals d_c . F
                Fq = firm_at(np.clip(P[None, :] + T @ D, 0.0, 1.0), base=P, vary=touched)
                return Fq @ D.T  # the directions have disjoint supports

            a, b = lo.copy(), hi.copy()
            for _r in range(rounds):
                pts = a[None, :] + (b - a)[None, :] * frac  # (G-1, C)
                a, b = _first_sign_change(pts, phi(pts), a, b)
            t = np.where(a <= lo, lo, np.where(b >= hi, hi, 0.5 * (a + b)))
            P = np.clip(P + t @ D, 0.0, 1.0)
    return P


def _newton(P, firm_at, und, colors, pattern, steps, free_only=False):
    """Levenberg-Marquardt on the natural residual ``R(P) = P - clip(P + F(P), 0, 1)`` (zero iff every
    sentence satisfies the complementarity ``F>0 => P=1, F<0 => P=0, else F=0``).

    The Jacobian of F comes from coloured finite differences (one batched evaluation); ``R``'s
    generalised Jacobian is ``-J_F`` on rows where ``P + F`` is inside the box and the identity where it
    is clipped. Damping ``lambda`` is adapted per connected component of the dependency pattern, and a
    step is accepted per component when it lowers that component's ``||R||^2``, so one hard block
    cannot stall the others. Near the solution it is Gauss-Newton (quadratic convergence).

    ``free_only``: drop the decided sentences' columns from the least-squares system. Without it a
    decided price is a free unknown of the step (its row is the identity with weight 1, next to steep
    coupling entries ~100), the step puts most of a steep block's correction on it and then discards it
    (decided prices never move): LM stalls at a residual ~1e-5 that plain Newton on the undecided
    sentences removes in two steps (hard case seed 422). Used by the fallback only, so days the first
    solve certifies keep their prices."""
    N = len(P)
    n_col = int(colors.max(initial=-1)) + 1
    pat = pattern.tocoo()
    _, comp = csgraph.connected_components(pattern + pattern.T, directed=False)
    n_comp = int(comp.max(initial=-1)) + 1
    h = 1e-7
    dirs = np.zeros((n_col, N))
    dirs[colors, np.arange(N)] = 1.0

    def resid(P, F):
        return np.where(und, P - np.clip(P + F, 0.0, 1.0), 0.0)

    F = firm_at(P)
    R = resid(P, F)
    cur = np.bincount(comp, weights=R * R, minlength=n_comp)
    lam = np.full(n_comp, 1e-4)
    dense = N <= DENSE_NEWTON_SIZE  # small days: dense algebra, no sparse-matrix overhead
    for _ in range(steps):
        if cur.max(initial=0.0) <= 1e-29:
            break
        Fh = firm_at(P[None, :] + h * dirs)  # (n_col, N)
        vals = (Fh[colors[pat.col], pat.row] - F[pat.row]) / h
        inside = und & (P + F > 0.0) & (P + F < 1.0)
        rows_in = inside[pat.row] & (und[pat.col] if free_only else True)
        if dense:  # G = -J on rows inside the box, the identity on clipped rows
            G = np.diag((~inside).astype(float))
            G[pat.row[rows_in], pat.col[rows_in]] = -vals[rows_in]
            GtG = G.T @ G
            rhs = -(G.T @ R)
            A = GtG + np.diag(lam[comp] * (np.diag(GtG) + 1e-30) + 1e-300)
        else:
            v = np.where(rows_in, vals, 0.0) if free_only else vals
            J = sp.csr_matrix((v, (pat.row, pat.col)), shape=(N, N))
            G = (sp.diags(inside.astype(float)) @ (-J) + sp.diags((~inside).astype(float))).tocsr()
            GtG = (G.T @ G).tocsr()
            rhs = -(G.T @ R)
            A = GtG + sp.diags(lam[comp] * (GtG.diagonal() + 1e-30) + 1e-300)
        try:
            with np.errstate(all="ignore"):
                d = np.linalg.solve(A, rhs) if dense else np.atleast_1d(spla.spsolve(A.tocsc(), rhs))
        except Exception:
            lam *= 10.0
            continue
        if not np.all(np.isfinite(d)):
            lam *= 10.0
            continue
        d = np.where(und, d, 0.0)
        Pn = np.clip(P + d, 0.0, 1.0)
        Fn = firm_at(Pn)
        Rn = resid(Pn, Fn)
        new = np.bincount(comp, weights=Rn * Rn, minlength=n_comp)
        ok = new < cur
        sel = ok[comp]
        P = np.where(sel, Pn, P)
        F = np.where(sel, Fn, F)
        R = np.where(sel, Rn, R)
        cur = np.where(ok, new, cur)
        lam = np.where(ok, np.maximum(lam / 5.0, 1e-12), lam * 8.0)
        open_ = cur > 1e-29
        if not open_.any() or np.all(lam[open_] > 1e10):
            break
    return P


#: days with at most this many priced sentences use dense linear algebra in the polish
DENSE_NEWTON_SIZE = 400


# ---------------------------------------------------------------------------------------------
# exhaustive rational search (the paper's / logicalinduction's existence proof made literal)


def rational_market(
    pw: ProjectedWorlds,
    truth: np.ndarray,
    raw_trades: Callable[[np.ndarray], np.ndarray],
    weights: np.ndarray,
    state: BudgetState,
    tolerance: float,
    max_candidates: int = 200_000,
) -> MakerResult:
    """The exhaustive mode: the first rational price vector (``logicalinduction``'s enumeration order,
    over the undecided sentences) whose firm trade has worst-case value ``<= tolerance`` -- the
    existence proof of thm 5.1.1 made literal. Exponential in the number of sentences; for parity
    checks on small cases only."""
    und = np.flatnonzero(truth < 0)
    base = truth.astype(float).clip(0)
    evals = 0

    def at(Pu):
        nonlocal evals
        evals += 1
        P = base.copy()
        P[und] = Pu
        T = raw_trades(P)
        m = budget_multipliers(pw, T, P, state)
        F = (weights * m) @ T
        return float(pw.max_linear(F) - F @ P), P, F, m

    if len(und) == 0:
        v, P, F, m = at(np.zeros(0))
    else:
        Pu = rational_search(lambda q: at(q)[0], len(und), tolerance, max_candidates)
        if Pu is None:
            raise ValueError(f"rational search found no prices within {max_candidates} candidates")
        v, P, F, m = at(Pu)
    return MakerResult(P, F, m, v, split_bound(F, P), tolerance, bool(v <= tolerance), evals)


def rationals_between_0_1():
    """0/1, 1/1, 0/2, 1/2, 2/2, 0/3, ...: the enumeration order of ``logicalinduction``'s search."""
    d = 1
    while True:
        for num in range(d + 1):
            yield num / d
        d += 1


def rational_search(value_at: Callable[[np.ndarray], float], n: int, tolerance: float, max_candidates: int = 200_000):
    """First price vector (in ``logicalinduction``'s enumeration order) with worst-case value <= tolerance.

    For one sentence the order is the rationals above; for ``n > 1`` it is the diagonal product order
    of ``enumerator.product`` (allocations of i balls among n jars over the growing cache).
    """
    if n == 1:
        for i, r in enumerate(rationals_between_0_1()):
            if i >= max_candidates:
                break
            P = np.array([r])
            if value_at(P) <= tolerance:
                return P
        return None
    cache: list[float] = []
    gen = rationals_between_0_1()
    count = 0
    for i in range(max_candidates):
        cache.append(next(gen))
        for js in _allocations(i, n):
            P = np.array([cache[j] for j in js])
            count += 1
            if value_at(P) <= tolerance:
                return P
            if count >= max_candidates:
                return None
    return None


def _allocations(balls: int, jars: int):
    if jars == 1:
        yield (balls,)
        return
    for i in range(balls + 1):
        for sub in _allocations(balls - i, jars - 1):
            yield (i,) + sub
