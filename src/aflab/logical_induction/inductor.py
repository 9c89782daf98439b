"""Run the logical induction market over a scenario: the day loop, the ledger, the history tables.

:func:`run_market` is LIA (Garrabrant et al. 2016, def. 5.4.1) over a :class:`.deduction.Scenario`
with a list of traders (the firm) and, optionally, *held-out adversaries*: traders that are not in
the firm and do not move prices, but whose holdings are booked at the market's prices so we can
measure whether they could exploit it (sec. 3.5: plausible value range ``[min_W, max_W] W(holdings)``
over ``PC(D_n)``).

Returned tables (tidy, Parquet-ready):

- ``prices``: day, sentence, label, price, decided (1/0/-1 today), truth (ground truth, -1 unknown),
  revealed_on (day its truth is revealed, -1 never);
- ``ledger``: day, trader, role (firm/adversary), multiplier (budget multiplier m_k), worst / best
  (min / max over consistent worlds of the *effective* holdings' value: who earned what), mark
  (mark-to-market at today's prices), moved (|effective trade| summed: who moved the market);
- ``maker``: day, n_priced, n_undecided, max_value, split_bound, tolerance, certified, evaluations, seconds.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from aflab.core.threads import one_blas_thread
from aflab.logical_induction.deduction import Scenario
from aflab.logical_induction.expressions import ExpressionGraph
from aflab.logical_induction.market import (
    BudgetState,
    DayContext,
    dependency_pattern,
    make_market,
    rational_market,
)
from aflab.logical_induction.sentences import NOT, Sentence, neg, to_text
from aflab.logical_induction.traders import ResolvedLog
from aflab.logical_induction.worlds import KnowledgeBase

#: version of the checkpoint format written by :func:`save_checkpoint`
CHECKPOINT_VERSION = 2

#: settle decided sentences into cash and drop dead book columns (see :class:`_Book`). Switching it
#: off keeps every held column forever (books grow with the run, the constant part of W(S) is
#: recomputed from the decided columns every day): same tables, used by the tests as the reference.
SETTLE = True


@dataclass(frozen=True)
class MarketRun:
    prices: pd.DataFrame
    ledger: pd.DataFrame
    maker: pd.DataFrame
    resolved: pd.DataFrame


class _Book:
    """Holdings of a group of traders over the *live* sentences (``MarketState.live``, one column
    each), plus cash. A sentence that is decided and will never be traded again is *settled*: its
    holdings' value (holdings times its truth, the same in every consistent world from then on) moves
    into cash and its column goes, so the book's width is the number of live sentences, not every
    sentence ever seen."""

    def __init__(self, n: int, width: int = 0):
        self.H = np.zeros((n, width))
        self.cash = np.zeros(n)

    def widen(self, extra: int) -> None:
        if extra > 0:
            self.H = np.concatenate([self.H, np.zeros((self.H.shape[0], extra))], axis=1)

    def settle(self, cols: np.ndarray, value: np.ndarray) -> None:
        """cash += H[:, cols] . value (the settled sentences' truth values)."""
        if len(cols):
            self.cash = self.cash + self.H[:, cols] @ value

    def keep(self, mask: np.ndarray) -> None:
        self.H = np.ascontiguousarray(self.H[:, mask])


def run_market(
    scenario: Scenario,
    traders: Sequence,
    adversaries: Sequence = (),
    n_days: int | None = None,
    eps_floor: float = 1e-12,
    keep_prices: Callable[[Sentence], bool] | None = None,
    progress: Callable[[int], None] | None = None,
    maker: str | Callable = "solver",
    resume: MarketState | None = None,
    state_out: list | None = None,
) -> MarketRun:
    """Run the market for ``n_days`` (default: the scenario's length). ``maker``: ``"solver"`` (the
    fast certified fixed-point solver), ``"rational"`` (exhaustive rational search, small cases) or a
    callable ``maker(worlds, truth, raw_trades, weights, budget_state, yesterday, tolerance) ->
    MakerResult`` (the audits' deliberately broken makers use this).

    Checkpoint / resume: pass a list as ``state_out`` to receive the final :class:`MarketState`, save
    it with :func:`save_checkpoint`; :func:`load_checkpoint` + ``resume=`` continues from its day with
    identical results (the SAT back-end is rebuilt by replaying the scenario's facts).

    BLAS is held to one thread: the maker's products are small, extra threads only double the CPU time.
    """
    with one_blas_thread():
        return _run_market(
            scenario, traders, adversaries, n_days, eps_floor, keep_prices, progress, maker, resume, state_out
        )


def _run_market(
    scenario: Scenario,
    traders: Sequence,
    adversaries: Sequence = (),
    n_days: int | None = None,
    eps_floor: float = 1e-12,
    keep_prices: Callable[[Sentence], bool] | None = None,
    progress: Callable[[int], None] | None = None,
    maker: str | Callable = "solver",
    resume: MarketState | None = None,
    state_out: list | None = None,
) -> MarketRun:
    """The day loop of :func:`run_market`."""
    if not callable(maker) and maker not in ("solver", "rational"):
        raise ValueError(f"maker must be 'solver', 'rational' or a callable, got {maker!r}")
    n_days = scenario.n_days if n_days is None else n_days
    if n_days < 1 or n_days > scenario.n_days:
        raise ValueError(f"n_days must lie in [1, {scenario.n_days}] for scenario {scenario.name!r}, got {n_days}")
    if not traders:
        raise ValueError("the firm needs at least one trader")
    K, A = len(traders), len(adversaries)
    weights = np.array([float(t.weight) for t in traders])
    if np.any(weights <= 0):
        raise ValueError("every trader's weight must be > 0")
    st = MarketState.fresh(K, A) if resume is None else resume
    if st.raw.H.shape[0] != K or st.adv.H.shape[0] != A:
        raise ValueError(
            f"checkpoint has {st.raw.H.shape[0]} traders and {st.adv.H.shape[0]} adversaries; "
            f"this run has {K} and {A}: resume with the same traders"
        )
    if st.day >= n_days:
        raise ValueError(f"checkpoint is at day {st.day}; n_days must exceed it, got {n_days}")
    if st.kb is None:  # rebuild PC(D_day) by replaying the deductive process
        st.kb = KnowledgeBase()
        for d in range(st.day):
            for f in scenario.facts[d]:
                st.kb.add_fact(f)
        for f in st.price_facts:
            st.kb.add_fact(f)
    kb, gidx, gsent, gtruth = st.kb, st.gidx, st.gsent, st.gtruth
    raw, eff, adv, worst = st.raw, st.eff, st.adv, st.worst
    last_price, price_hist, first_price = st.last_price, st.price_hist, st.first_price
    resolved, price_rows, ledger_rows, maker_rows = st.resolved, st.price_rows, st.ledger_rows, st.maker_rows
    revealed_price_atoms, held_undecided, resolved_ids = st.revealed_price_atoms, st.held_undecided, st.resolved_ids
    groups = _program_groups(traders)
    start_days = np.array([int(t.start_day) for t in traders], dtype=np.int64)
    trader_names = np.array([t.name or type(t).__name__ for t in traders], dtype=object)
    adversary_names = np.array([t.name or type(t).__name__ for t in adversaries], dtype=object)
    block_of = {}
    for b in scenario.blocks:
        for s in b:
            block_of[s] = b
    # the last day each sentence is priced: a decided sentence held past it is never in a universe
    # again (held_undecided holds undecided ones only), so it can be settled into cash
    last_priced: dict = {}
    for d, ps in enumerate(scenario.priced, start=1):
        for s in ps:
            last_priced[s] = d
    glast = np.zeros(max(64, len(gtruth)), dtype=np.int64)
    glast[: len(gsent)] = [last_priced.get(s, 0) for s in gsent]
    # live columns of the books: gid -> column
    slot = {int(g): c for c, g in enumerate(st.live)}

    def gid(s: Sentence) -> int:
        nonlocal gtruth, glast
        j = gidx.get(s)
        if j is None:
            j = gidx[s] = len(gsent)
            gsent.append(s)
            if j >= len(gtruth):
                gtruth = np.concatenate([gtruth, np.full(len(gtruth), -1, dtype=np.int64)])
            if j >= len(glast):
                glast = np.concatenate([glast, np.zeros(len(glast), dtype=np.int64)])
            glast[j] = last_priced.get(s, 0)
        return j

    def past_price(s: Sentence, day: int) -> float:
        j = gidx.get(s)
        return price_hist.get((j, day), float("nan")) if j is not None else float("nan")

    # introspective price atoms of the scenario not yet revealed, by (day, order of mention): each is
    # looked at once, the day after its day (its price is then final: recorded, or never recordable)
    pa_heap = [
        (meaning.day, k, a)
        for k, (a, meaning) in enumerate(scenario.price_atoms.items())
        if a.name not in revealed_price_atoms
    ]
    heapq.heapify(pa_heap)

    for day in range(st.day + 1, n_days + 1):
        t0 = time.perf_counter()
        # 1. deductive process: D_n (plus introspective price atoms whose day has passed)
        for f in scenario.facts[day - 1]:
            kb.add_fact(f)
        while pa_heap and pa_heap[0][0] < day:
            _, _, a = heapq.heappop(pa_heap)
            meaning = scenario.price_atoms[a]
            p = past_price(meaning.sentence, meaning.day)
            if np.isfinite(p):
                fact = a if meaning.holds(p) else neg(a)
                kb.add_fact(fact)
                st.price_facts.append(fact)
                revealed_price_atoms.add(a.name)
        # 2. today's universe: priced sentences plus held, still-undecided ones
        universe = list(dict.fromkeys(scenario.priced[day - 1]))
        seen = set(universe)
        for j in sorted(held_undecided):
            if gsent[j] not in seen:
                universe.append(gsent[j])
                seen.add(gsent[j])
        U = np.array([gid(s) for s in universe], dtype=np.int64)
        new = [int(j) for j in U if int(j) not in slot]
        if new:
            for j in new:
                slot[j] = len(slot)
            st.live = np.concatenate([st.live, np.array(new, dtype=np.int64)])
            for book in (raw, eff, adv):
                book.widen(len(new))
        live = st.live
        cU = np.array([slot[int(j)] for j in U], dtype=np.int64)  # today's sentences' book columns
        pw = kb.project(universe)
        truth = pw.decided()
        gtruth[U] = truth
        index = {s: i for i, s in enumerate(universe)}
        # record newly decided sentences (resolution) with their first price
        for i in np.flatnonzero(truth >= 0):
            j = U[i]
            if int(j) in resolved_ids:
                continue
            resolved_ids.add(int(j))
            resolved.append(
                int(j),
                to_text(universe[i]),
                scenario.label(universe[i]),
                int(truth[i]),
                day,
                first_price.get(int(j), float("nan")),
            )
        # 3. traders' trades as expressions of today's prices
        N = len(universe)
        graph = ExpressionGraph(N)
        negation_pairs = [(index[s], index[s.args[0]]) for s in universe if s.kind == NOT and s.args[0] in index]
        blocks = tuple(  # in order of first member in the universe (not hash order: sentence uids vary by process)
            np.array([index[x] for x in b])
            for b in dict.fromkeys(block_of[s] for s in universe if s in block_of)
            if all(x in index for x in b)
        )
        prev = np.array([last_price.get(int(j), np.nan) for j in U])
        ctx = DayContext(
            day,
            tuple(universe),
            index,
            graph,
            truth,
            tuple(scenario.label(s) for s in universe),
            past_price,
            resolved,
            blocks,
            np.array(negation_pairs, dtype=np.int64).reshape(-1, 2),
            prev,
        )
        # one call per distinct program (and distinct own holdings, if it reads them): members of a
        # call get the same trade (same nodes), see traders.program_key
        calls = []
        for members, holds in groups:
            act = members[start_days[members] <= day]
            if len(act) == 0:
                continue
            for mem in _split_by_rows(raw.H[act][:, cU], act) if holds and len(act) > 1 else (act,):
                ctx.own_holdings = raw.H[mem[0], cU]
                tr = traders[mem[0]].trade(ctx)
                if tr is not None and len(tr.index):
                    calls.append((mem, tr.index, tr.quantity.ids))
        adv_trades = []
        for a, t in enumerate(adversaries):
            ctx.own_holdings = adv.H[a, cU]
            tr = t.trade(ctx)
            if tr is not None and len(tr.index):
                adv_trades.append((a, tr.index, tr.quantity.ids))

        # one sparse scatter (K*N, L) maps the trade nodes' values to the (K, N) trade matrix
        if calls:  # rows in trader order, each trader's entries in its own order
            t_k = np.concatenate([np.repeat(mem, len(idx)) for mem, idx, _ in calls])
            t_n = np.concatenate([np.tile(idx, len(mem)) for mem, idx, _ in calls])
            t_id = np.concatenate([np.tile(ids, len(mem)) for mem, _, ids in calls])
            order = np.argsort(t_k, kind="stable")
            t_rows, t_ids = (t_k * N + t_n)[order], t_id[order]
        else:
            t_rows, t_ids = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        KN = K * N
        distinct_rows = len(np.unique(t_rows)) == len(t_rows)
        if not distinct_rows:  # a trader trades one sentence twice: sum its entries in order
            scatter = sp.csr_matrix((np.ones(len(t_rows)), (t_rows, np.arange(len(t_rows)))), shape=(KN, len(t_rows)))

        def raw_trades(P: np.ndarray, base: np.ndarray | None = None, vary: np.ndarray | None = None) -> np.ndarray:
            # the trade nodes' values placed in the (K, N) trade matrix (``+ 0.0``: the sum 0 + v, as a scatter-add);
            # base/vary: every row of the batch P equals base outside vary (see ExpressionGraph.evaluate_at)
            if vary is not None:
                vt = graph.evaluate_at(P, t_ids, base, vary)
            else:
                vt = graph.evaluate_all(P)[..., t_ids]
            if not distinct_rows:
                if vt.ndim == 1:
                    return (scatter @ vt).reshape(K, N)
                return np.asarray(scatter @ vt.T).T.reshape(-1, K, N)
            out = np.zeros(vt.shape[:-1] + (KN,))
            out[..., t_rows] = vt + 0.0
            return out.reshape(vt.shape[:-1] + (K, N))

        raw_trades.partial_evaluation = True
        support = np.zeros(K * N, dtype=bool)  # which sentences each trader trades (for joint budgets)
        support[t_rows] = True
        raw_trades.support = support.reshape(K, N)

        # 4. budget state on today's universe; the constant part of W(S_{n-1}) is cash (settled
        # sentences included) plus the live decided sentences outside today's universe at their truth
        # (undecided ones outside it count 0, as they always have)
        outside = np.ones(len(live), dtype=bool)
        outside[cU] = False
        decided_out = np.where(outside, gtruth[live].clip(0), 0).astype(float)
        const = raw.cash + raw.H @ decided_out
        state = BudgetState(raw.H[:, cU], const, worst)
        tol = max(2.0**-day, eps_floor)
        if callable(maker):
            res = maker(pw, truth, raw_trades, weights, state, prev, tol)
        elif maker == "rational":
            res = rational_market(pw, truth, raw_trades, weights, state, tol)
        else:
            pattern = dependency_pattern(graph, [(0, idx, ids) for _, idx, ids in calls], N)
            res = make_market(
                pw, truth, raw_trades, weights, state, prev, tol, pattern=pattern, aim=min(tol, eps_floor)
            )
        P = res.prices
        # 5. book the trades
        T = raw_trades(P)
        E = (weights * res.multipliers)[:, None] * T
        raw.H[:, cU] += T
        raw.cash -= T @ P
        eff.H[:, cU] += E
        eff.cash -= E @ P
        const_after = raw.cash + raw.H @ decided_out
        worst = np.minimum(worst, pw.min_linear(raw.H[:, cU].T) + const_after)
        if adv_trades:
            vals = graph.evaluate_all(P)
            TA = np.zeros((A, N))
            for a, idx, ids in adv_trades:
                np.add.at(TA[a], idx, vals[ids])
            adv.H[:, cU] += TA
            adv.cash -= TA @ P
        held_ra = np.any(raw.H != 0, axis=0) | np.any(adv.H != 0, axis=0)  # per live column
        gt_live = gtruth[live]
        held_undecided = set(live[held_ra & (gt_live < 0)].tolist())
        # 6. record
        for i, j in enumerate(U):
            price_hist[(int(j), day)] = float(P[i])
            last_price[int(j)] = float(P[i])
            first_price.setdefault(int(j), float(P[i]))
        keep = np.ones(N, dtype=bool) if keep_prices is None else np.array([keep_prices(s) for s in universe])
        for i in np.flatnonzero(keep):
            s = universe[i]
            gt = scenario.truth.get(s)
            price_rows.append(
                (
                    day,
                    to_text(s),
                    scenario.label(s),
                    float(P[i]),
                    int(truth[i]),
                    -1 if gt is None else int(gt),
                    int(scenario.revealed_on.get(s, -1)),
                )
            )
        for book, names, role, m in (
            (eff, trader_names, "firm", res.multipliers),
            (adv, adversary_names, "adversary", None),
        ):
            if len(names) == 0:
                continue
            HU = book.H[:, cU]
            c = book.cash + book.H @ decided_out
            lo = pw.min_linear(HU.T) + c
            hi = pw.max_linear(HU.T) + c
            mark = HU @ P + c
            moved = np.abs(E).sum(1) if role == "firm" else np.zeros(len(names))
            ledger_rows.append(
                (
                    np.full(len(names), day, dtype=np.int64),
                    names,
                    np.full(len(names), role, dtype=object),
                    np.asarray(m, dtype=float) if m is not None else np.ones(len(names)),
                    np.asarray(lo, dtype=float),
                    np.asarray(hi, dtype=float),
                    np.asarray(mark, dtype=float),
                    np.asarray(moved, dtype=float),
                )
            )
        # 7. settle: a decided sentence never priced again is never in a universe again; its holdings
        # are worth holdings * truth in every consistent world from now on: move them into cash. An
        # undecided one that leaves for good (not priced again, no raw / adversary holdings) is never
        # valued again (outside the universe, undecided counts 0, and its truth is never looked up):
        # drop it too. Columns with no holdings at all go (a sentence coming back gets a zero column).
        gone = (glast[live] <= day) if SETTLE else np.zeros(len(live), dtype=bool)
        settle = (gt_live >= 0) & gone
        if settle.any():
            cols, value = np.flatnonzero(settle), gt_live[settle].astype(float)
            for book in (raw, eff, adv):
                book.settle(cols, value)
        held_any = held_ra | np.any(eff.H != 0, axis=0)
        keep = (held_any & ~settle & ~((gt_live < 0) & gone & ~held_ra)) if SETTLE else np.ones(len(live), dtype=bool)
        if not keep.all():
            for book in (raw, eff, adv):
                book.keep(keep)
            st.live = live[keep]
            slot = {int(g): c for c, g in enumerate(st.live)}
        maker_rows.append(
            (
                day,
                N,
                int((truth < 0).sum()),
                res.max_value,
                res.split_bound,
                res.tolerance,
                res.certified,
                res.evaluations,
                time.perf_counter() - t0,
            )
        )
        st.gtruth, st.worst, st.held_undecided, st.day = gtruth, worst, held_undecided, day
        if progress is not None:
            progress(day)
    if state_out is not None:
        state_out.append(st)
    return run_tables(st)


def run_tables(state: MarketState) -> MarketRun:
    """The tables of a run from its state (e.g. a checkpoint from :func:`load_checkpoint`)."""
    prices = pd.DataFrame(
        state.price_rows, columns=["day", "sentence", "label", "price", "decided", "truth", "revealed_on"]
    )
    maker = pd.DataFrame(
        state.maker_rows,
        columns=[
            "day",
            "n_priced",
            "n_undecided",
            "max_value",
            "split_bound",
            "tolerance",
            "certified",
            "evaluations",
            "seconds",
        ],
    )
    return MarketRun(prices, _ledger_frame(state.ledger_rows), maker, state.resolved.frame().drop(columns=["gid"]))


LEDGER_COLUMNS = ("day", "trader", "role", "multiplier", "worst", "best", "mark", "moved")


def _ledger_frame(chunks: list) -> pd.DataFrame:
    """The ledger table from per-day column chunks (one array per column, one row per trader)."""
    if not chunks:
        return pd.DataFrame([], columns=list(LEDGER_COLUMNS))
    cols = [np.concatenate([ch[i] for ch in chunks]) for i in range(len(LEDGER_COLUMNS))]
    return pd.DataFrame(
        {name: (col.tolist() if col.dtype == object else col) for name, col in zip(LEDGER_COLUMNS, cols)}
    )


def _ledger_rows(chunks: list) -> list:
    return [list(row) for ch in chunks for row in zip(*(c.tolist() for c in ch))]


def _ledger_chunks(rows: list) -> list:
    if not rows:
        return []
    cols = list(zip(*rows))
    return [
        (
            np.array(cols[0], dtype=np.int64),
            np.array(cols[1], dtype=object),
            np.array(cols[2], dtype=object),
            *(np.array(c, dtype=float) for c in cols[3:]),
        )
    ]


def _program_groups(traders: Sequence) -> list[tuple[np.ndarray, bool]]:
    """Traders grouped by :func:`.traders.program_key` (unshareable ones alone), in order of first member,
    with whether the program reads its own holdings."""
    from aflab.logical_induction.traders import program_key, reads_holdings

    by_key: dict = {}
    out: list[tuple[list, bool]] = []
    for k, t in enumerate(traders):
        key = program_key(t)
        if key is None:
            out.append(([k], True))
            continue
        if key not in by_key:
            by_key[key] = len(out)
            out.append(([], reads_holdings(t)))
        out[by_key[key]][0].append(k)
    return [(np.array(m, dtype=np.int64), h) for m, h in out]


def _split_by_rows(H: np.ndarray, members: np.ndarray) -> list[np.ndarray]:
    """Split ``members`` into groups whose rows of ``H`` are bit-identical (first-appearance order)."""
    if H.shape[1] == 0:
        return [members]
    H = np.ascontiguousarray(H)
    keys = H.view(np.dtype((np.void, H.dtype.itemsize * H.shape[1]))).ravel()
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    parts = np.split(members[order], np.cumsum(np.bincount(inv.ravel()))[:-1])
    return [parts[u] for u in np.argsort(first)]


@dataclass
class MarketState:
    """Everything the day loop carries from one day to the next (see :func:`run_market`).

    The books (``raw``: traders' own trades, ``eff``: budgeted and weighted, ``adv``: adversaries)
    have one column per *live* sentence, ``live[c]`` being the global id of column ``c``; settled
    sentences live on only in the books' cash."""

    day: int
    kb: KnowledgeBase | None
    gidx: dict
    gsent: list
    gtruth: np.ndarray
    raw: _Book
    eff: _Book
    adv: _Book
    worst: np.ndarray
    last_price: dict
    price_hist: dict
    first_price: dict
    resolved: ResolvedLog
    price_rows: list
    ledger_rows: list
    maker_rows: list
    revealed_price_atoms: set
    held_undecided: set
    resolved_ids: set
    price_facts: list
    live: np.ndarray

    @classmethod
    def fresh(cls, K: int, A: int) -> MarketState:
        return cls(
            0,
            KnowledgeBase(),
            {},
            [],
            np.full(64, -1, dtype=np.int64),
            _Book(K),
            _Book(K),
            _Book(A),
            np.zeros(K),
            {},
            {},
            {},
            ResolvedLog(),
            [],
            [],
            [],
            set(),
            set(),
            set(),
            [],
            np.zeros(0, dtype=np.int64),
        )


def save_checkpoint(state: MarketState, path) -> None:
    """Write a checkpoint as one ``.npz`` (arrays + a JSON document); no pickle, safe to load."""
    import json

    res = state.resolved
    doc = {
        "version": CHECKPOINT_VERSION,
        "day": state.day,
        "sentences": [to_text(s) for s in state.gsent],
        "last_price": [[k, v] for k, v in state.last_price.items()],
        "price_hist": [[j, d, v] for (j, d), v in state.price_hist.items()],
        "first_price": [[k, v] for k, v in state.first_price.items()],
        "resolved_sentence": list(res.sentence),
        "resolved_label": list(res.label),
        "price_rows": [list(r) for r in state.price_rows],
        "ledger_rows": _ledger_rows(state.ledger_rows),
        "maker_rows": [[bool(x) if isinstance(x, (bool, np.bool_)) else x for x in r] for r in state.maker_rows],
        "revealed_price_atoms": sorted(state.revealed_price_atoms),
        "held_undecided": sorted(state.held_undecided),
        "resolved_ids": sorted(state.resolved_ids),
        "price_facts": [to_text(f) for f in state.price_facts],
    }
    np.savez_compressed(
        path,
        doc=np.array(json.dumps(doc, default=float)),
        gtruth=state.gtruth,
        worst=state.worst,
        live=state.live,
        raw_H=state.raw.H,
        raw_cash=state.raw.cash,
        eff_H=state.eff.H,
        eff_cash=state.eff.cash,
        adv_H=state.adv.H,
        adv_cash=state.adv.cash,
        resolved_gid=res.gid,
        resolved_value=res.value,
        resolved_day=res.day_resolved,
        resolved_first_price=res.first_price,
    )


def load_checkpoint(path) -> MarketState:
    """Read a checkpoint written by :func:`save_checkpoint` (sentences are parsed, never unpickled)."""
    import json

    from aflab.logical_induction.sentences import parse

    with np.load(path, allow_pickle=False) as z:
        doc = json.loads(str(z["doc"]))
        version = doc.get("version")
        if version != CHECKPOINT_VERSION:
            hint = (
                " (written before settlement / live-column books: version 1 books span every sentence "
                "ever seen; re-run from day 0 to produce a version-2 checkpoint)"
                if version == 1
                else ""
            )
            raise ValueError(
                f"unsupported checkpoint version {version!r} in {path}: this code reads version "
                f"{CHECKPOINT_VERSION} only{hint}"
            )
        books = []
        for name in ("raw", "eff", "adv"):
            b = _Book(0)
            b.H, b.cash = z[f"{name}_H"].copy(), z[f"{name}_cash"].copy()
            books.append(b)
        gtruth, worst, live = z["gtruth"].copy(), z["worst"].copy(), z["live"].astype(np.int64)
        resolved = ResolvedLog.from_columns(
            z["resolved_gid"],
            doc["resolved_sentence"],
            doc["resolved_label"],
            z["resolved_value"],
            z["resolved_day"],
            z["resolved_first_price"],
        )
    gsent = [parse(t) for t in doc["sentences"]]
    return MarketState(
        int(doc["day"]),
        None,
        {s: i for i, s in enumerate(gsent)},
        gsent,
        gtruth,
        books[0],
        books[1],
        books[2],
        worst,
        {int(k): float(v) for k, v in doc["last_price"]},
        {(int(j), int(d)): float(v) for j, d, v in doc["price_hist"]},
        {int(k): float(v) for k, v in doc["first_price"]},
        resolved,
        [tuple(r) for r in doc["price_rows"]],
        _ledger_chunks(doc["ledger_rows"]),
        [tuple(r) for r in doc["maker_rows"]],
        set(doc["revealed_price_atoms"]),
        set(doc["held_undecided"]),
        set(doc["resolved_ids"]),
        [parse(t) for t in doc["price_facts"]],
        live,
    )
