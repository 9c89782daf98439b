"""Run the logical induction market: the day loop, the ledger, the history tables, the online API.

:class:`LogicalInductor` is LIA (Garrabrant et al. 2016, def. 5.4.1) as an online object: each call of
:meth:`LogicalInductor.update` is one day -- the deductive process reveals ``observations`` (D_n), new
traders may join the firm, and the market maker prices ``priced`` (plus every undecided sentence some
trader holds). :func:`run_market` drives it over a :class:`.deduction.Scenario`. Besides the firm, a run
may book *held-out adversaries*: traders that are not in the firm and do not move prices, but whose
holdings are valued at the market's prices so we can measure whether they could exploit it (sec. 3.5:
plausible value range ``[min_W, max_W] W(holdings)`` over ``PC(D_n)``).

One day is one function per step (:meth:`LogicalInductor.update`): reveal D_n and the introspective
price atoms whose day has passed (:meth:`~LogicalInductor._reveal`), today's universe and the traders'
trades as expressions of today's prices (:meth:`~LogicalInductor._plan_day`), the maker's certified
prices (:meth:`~LogicalInductor._make_prices`), booking (:meth:`~LogicalInductor._book`), the tables'
rows (:meth:`~LogicalInductor._record`) and settlement (:meth:`~LogicalInductor._settle`).

Returned tables (tidy, Parquet-ready):

- ``prices``: day, sentence, label, price, decided (1/0/-1 today), truth (ground truth, -1 unknown),
  revealed_on (day its truth is revealed, -1 never);
- ``ledger``: day, trader, role (firm/adversary), multiplier (budget multiplier m_k), worst / best
  (min / max over consistent worlds of the *effective* holdings' value: who earned what), mark
  (mark-to-market at today's prices), moved (|effective trade| summed: who moved the market);
- ``maker``: day, n_priced, n_undecided, max_value, split_bound, tolerance, certified, evaluations, seconds
  (the engine's own diagnostics; the audits' tables leave the wall-clock column out).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from aflab.core.threads import one_blas_thread
from aflab.logical_induction.deduction import Scenario
from aflab.logical_induction.expressions import ExpressionGraph
from aflab.logical_induction.market import (
    BudgetState,
    DayContext,
    MakerResult,
    dependency_pattern,
    make_market,
    rational_market,
)
from aflab.logical_induction.sentences import NOT, Sentence, neg, parse, price_atom_meaning, to_text
from aflab.logical_induction.traders import ResolvedLog
from aflab.logical_induction.worlds import KnowledgeBase, ProjectedWorlds

#: version of the checkpoint format written by :func:`save_checkpoint`
CHECKPOINT_VERSION = 2


class MarketRun:
    """A run's four tables: ``prices`` (one row per priced sentence and day), ``ledger`` (one row per
    trader and day), ``maker`` (one row per day: the certificate) and ``resolved`` (one row per decided
    sentence). Each is a DataFrame or a function building it; a function is called on first access, so a
    run read only for its prices does not pay for the ledger's frame (10% of a 16-day run)."""

    def __init__(self, prices, ledger, maker, resolved):
        self._tables = {"prices": prices, "ledger": ledger, "maker": maker, "resolved": resolved}

    def _table(self, name: str) -> pd.DataFrame:
        table = self._tables[name]
        if callable(table):
            table = self._tables[name] = table()
        return table

    prices = property(lambda self: self._table("prices"))
    ledger = property(lambda self: self._table("ledger"))
    maker = property(lambda self: self._table("maker"))
    resolved = property(lambda self: self._table("resolved"))


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

    def add_rows(self, extra: int) -> None:
        """New traders join with empty books."""
        if extra > 0:
            self.H = np.concatenate([self.H, np.zeros((extra, self.H.shape[1]))], axis=0)
            self.cash = np.concatenate([self.cash, np.zeros(extra)])

    def settle(self, cols: np.ndarray, value: np.ndarray) -> None:
        """cash += H[:, cols] . value (the settled sentences' truth values)."""
        if len(cols):
            self.cash = self.cash + self.H[:, cols] @ value

    def keep(self, mask: np.ndarray) -> None:
        self.H = np.ascontiguousarray(self.H[:, mask])


@dataclass
class DayPlan:
    """One day's problem, built by :meth:`LogicalInductor._plan_day` before the maker runs."""

    day: int
    universe: list  # today's sentences: priced ones, then held undecided ones
    U: np.ndarray  # their global ids
    cU: np.ndarray  # their book columns
    pw: ProjectedWorlds  # PC(D_n) projected on the universe
    truth: np.ndarray  # 1/0 decided by D_n, -1 undecided
    graph: ExpressionGraph
    calls: list  # (trader rows, sentence indices, trade node ids), one per distinct program call
    adv_trades: list  # (adversary row, sentence indices, node ids)
    raw_trades: Callable  # prices (N,) or (B, N) -> trade matrix (K, N) or (B, K, N)
    decided_out: np.ndarray  # per live column: truth of decided sentences outside today's universe, else 0
    effective: np.ndarray | None = None  # the booked effective trades (weights x multipliers x raw)


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
    settle: bool = True,
    revival: Callable | None = None,
) -> MarketRun:
    """Run the market over ``scenario`` for ``n_days`` (default: its length). ``maker``: ``"solver"`` (the
    fast certified fixed-point solver), ``"rational"`` (exhaustive rational search, small cases) or a
    callable ``maker(worlds, truth, raw_trades, weights, budget_state, yesterday, tolerance) ->
    MakerResult`` (the audits' deliberately broken makers use this). ``settle=False`` keeps every held
    book column forever (the tests' reference for settlement). ``revival(day, traders, multipliers)``
    may return new traders to join the firm that day (see :func:`.traders.revived_copies`).

    Checkpoint / resume: pass a list as ``state_out`` to receive the final :class:`MarketState`, save
    it with :func:`save_checkpoint`; :func:`load_checkpoint` + ``resume=`` continues from its day with
    identical results (the SAT back-end is rebuilt by replaying the scenario's facts; traders the
    revival policy added are rebuilt from the state).

    BLAS is held to one thread: the maker's products are small, extra threads only double the CPU time.
    """
    n_days = scenario.n_days if n_days is None else n_days
    if n_days < 1 or n_days > scenario.n_days:
        raise ValueError(f"n_days must lie in [1, {scenario.n_days}] for scenario {scenario.name!r}, got {n_days}")
    if resume is not None and resume.day >= n_days:
        raise ValueError(f"checkpoint is at day {resume.day}; n_days must exceed it, got {n_days}")
    last_priced: dict = {}
    for d, ps in enumerate(scenario.priced, start=1):
        for s in ps:
            last_priced[s] = d
    with one_blas_thread():
        market = LogicalInductor(
            traders,
            adversaries,
            labels=scenario.labels,
            blocks=scenario.blocks,
            truth=scenario.truth,
            revealed_on=scenario.revealed_on,
            last_priced=last_priced,
            maker=maker,
            eps_floor=eps_floor,
            keep_prices=keep_prices,
            settle=settle,
            state=resume,
            facts_history=scenario.facts,
            limit_blas=False,
        )
        for day in range(market.day + 1, n_days + 1):
            new = revival(day, market.traders, market.multipliers) if revival is not None else ()
            market.update(scenario.facts[day - 1], scenario.priced[day - 1], new_traders=new)
            if progress is not None:
                progress(day)
    if state_out is not None:
        state_out.append(market.state)
    return market.tables()


class LogicalInductor:
    """LIA, one day per :meth:`update` (the online API; :func:`run_market` drives it over a scenario).

    ``labels`` (sentence -> class, default 'other'), ``blocks`` (exclusive-exhaustive groups the
    arbitrage traders read), ``truth`` / ``revealed_on`` (ground truth, for the tables only: the market
    never reads them) describe the sentences. ``last_priced`` (sentence -> last day it will be priced)
    lets decided sentences be settled as soon as they leave for good; without it (online), a decided
    sentence is settled after each day it is priced -- if it is priced again it comes back with an empty
    column, which changes no value (it is priced at its truth).

    Example::

        market = LogicalInductor([ConstantBelief(p=0.3, name="c")])
        market.update(observations=["rain -> wet"], priced=["rain", "wet"])   # {rain: 0.3, wet: ...}
        market.update(observations=["rain"], priced=["wet"], new_traders=[FloorTrader()])
        market.tables().prices
    """

    def __init__(
        self,
        traders: Sequence = (),
        adversaries: Sequence = (),
        *,
        labels: Mapping | None = None,
        blocks: Sequence = (),
        truth: Mapping | None = None,
        revealed_on: Mapping | None = None,
        last_priced: Mapping | None = None,
        maker: str | Callable = "solver",
        eps_floor: float = 1e-12,
        keep_prices: Callable[[Sentence], bool] | None = None,
        settle: bool = True,
        state: MarketState | None = None,
        facts_history: Sequence = (),
        limit_blas: bool = True,
    ):
        if not callable(maker) and maker not in ("solver", "rational"):
            raise ValueError(f"maker must be 'solver', 'rational' or a callable, got {maker!r}")
        self.traders, self.adversaries = list(traders), list(adversaries)
        self.limit_blas = limit_blas  # BLAS on one thread inside update() (run_market holds it once for the loop)
        self.labels = dict(labels or {})
        self.block_of = {s: tuple(b) for b in blocks for s in b}
        self.truth_of, self.revealed_on = dict(truth or {}), dict(revealed_on or {})
        self.last_priced = last_priced
        self.maker, self.eps_floor, self.keep_prices, self.settle_books = maker, eps_floor, keep_prices, settle
        K, A = len(self.traders), len(self.adversaries)
        st = MarketState.fresh(K, A) if state is None else state
        if st.revived:  # traders a revival policy added: rebuilt from the state
            self.traders += [_revived(self.traders[k], day, w, k) for k, day, w in st.revived]
        if st.raw.H.shape[0] != len(self.traders) or st.adv.H.shape[0] != A:
            raise ValueError(
                f"checkpoint has {st.raw.H.shape[0]} traders and {st.adv.H.shape[0]} adversaries; "
                f"this run has {len(self.traders)} and {A}: resume with the same traders"
            )
        if st.kb is None:  # rebuild PC(D_day) by replaying the deductive process
            if st.day > len(facts_history):
                raise ValueError(f"resuming at day {st.day} needs the facts of days 1..{st.day} (facts_history)")
            st.kb = KnowledgeBase()
            for d in range(st.day):
                for f in facts_history[d]:
                    st.kb.add_fact(f)
            for f in st.price_facts:
                st.kb.add_fact(f)
        self.st = st
        self._refresh_roster()
        self._slot = {int(g): c for c, g in enumerate(st.live)}
        self._glast = np.zeros(max(64, len(st.gtruth)), dtype=np.int64)
        self._glast[: len(st.gsent)] = [self._last_priced(s, 0) for s in st.gsent]
        # introspective price atoms waiting to be settled, by (their day, order of discovery)
        self._pending: list = []
        self._known_atoms: set = set(st.revealed_price_atoms)
        for s in st.gsent:
            self._discover_price_atoms(s)
        for d in range(min(st.day, len(facts_history))):
            for f in facts_history[d]:
                self._discover_price_atoms(f)
        self.multipliers = np.ones(len(self.traders))

    # -- the roster ------------------------------------------------------------------------------
    @property
    def day(self) -> int:
        return self.st.day

    @property
    def state(self) -> MarketState:
        return self.st

    def _refresh_roster(self) -> None:
        if not self.traders:
            raise ValueError("the firm needs at least one trader")
        self.weights = np.array([float(t.weight) for t in self.traders])
        if np.any(self.weights <= 0):
            raise ValueError("every trader's weight must be > 0")
        self.groups = _program_groups(self.traders)
        self.start_days = np.array([int(t.start_day) for t in self.traders], dtype=np.int64)
        self._texts: dict[Sentence, str] = {}
        self.trader_names = np.array([t.name or type(t).__name__ for t in self.traders], dtype=object)
        self.adversary_names = np.array([t.name or type(t).__name__ for t in self.adversaries], dtype=object)

    def _add_traders(self, new: Sequence, day: int) -> None:
        """New traders join the firm today with empty books (a trader entering later waits for its
        ``start_day``); a revived copy (``revived_from`` set) is remembered in the state for resuming."""
        if not new:
            return
        for t in new:
            parent = getattr(t, "revived_from", None)
            if parent is not None:
                self.st.revived.append((int(parent), int(t.start_day), float(t.weight)))
        self.traders += list(new)
        for book in (self.st.raw, self.st.eff):
            book.add_rows(len(new))
        self.st.worst = np.concatenate([self.st.worst, np.zeros(len(new))])
        self.multipliers = np.concatenate([self.multipliers, np.ones(len(new))])
        self._refresh_roster()

    # -- sentences ---------------------------------------------------------------------------------
    def label(self, s: Sentence) -> str:
        return self.labels.get(s, "other")

    def _text(self, s: Sentence) -> str:
        """``to_text(s)``, printed once per sentence: the price table's rows share one string per sentence."""
        text = self._texts.get(s)
        if text is None:
            text = self._texts[s] = to_text(s)
        return text

    def _last_priced(self, s: Sentence, default: int) -> int:
        if self.last_priced is None:
            return default
        return int(self.last_priced.get(s, 0))

    def _gid(self, s: Sentence, day: int) -> int:
        st = self.st
        j = st.gidx.get(s)
        if j is None:
            j = st.gidx[s] = len(st.gsent)
            st.gsent.append(s)
            if j >= len(st.gtruth):
                st.gtruth = np.concatenate([st.gtruth, np.full(len(st.gtruth), -1, dtype=np.int64)])
            if j >= len(self._glast):
                self._glast = np.concatenate([self._glast, np.zeros(len(self._glast), dtype=np.int64)])
            self._discover_price_atoms(s)
        if self.last_priced is None:
            self._glast[j] = day
        elif self._glast[j] == 0:
            self._glast[j] = self._last_priced(s, day)
        return j

    def _discover_price_atoms(self, s: Sentence) -> None:
        for name in sorted(n for n in s.atoms if n.startswith("P_")):
            if name in self._known_atoms:
                continue
            self._known_atoms.add(name)
            meaning = price_atom_meaning(parse(name))
            if meaning is not None:
                heapq.heappush(self._pending, (meaning.day, len(self._known_atoms), name, meaning))

    def past_price(self, s: Sentence, day: int) -> float:
        """The price ``s`` had on ``day`` (nan if it was not priced then)."""
        j = self.st.gidx.get(s)
        return self.st.price_hist.get(j, day) if j is not None else float("nan")

    # -- one day -----------------------------------------------------------------------------------
    def update(self, observations: Sequence = (), priced: Sequence = (), new_traders: Sequence = ()) -> dict:
        """One day: reveal ``observations`` (sentences or their text), let ``new_traders`` join, price
        ``priced`` (plus every held undecided sentence) with the certified maker, book, record, settle.
        Returns ``{sentence: price}`` for today's universe."""
        t0 = time.perf_counter()
        with one_blas_thread() if self.limit_blas else nullcontext():
            day = self.st.day + 1
            facts = [parse(o) if isinstance(o, str) else o for o in observations]
            sentences = [parse(p) if isinstance(p, str) else p for p in priced]
            self._add_traders(list(new_traders), day)
            for s in [*facts, *sentences]:  # atoms about past prices that today mentions can be settled today
                self._discover_price_atoms(s)
            self._reveal(day, facts)
            plan = self._plan_day(day, sentences)
            res = self._make_prices(plan)
            self._book(plan, res)
            self._record(plan, res, time.perf_counter() - t0)
            self._settle(plan)
            self.st.day = day
            self.multipliers = res.multipliers
        return {s: float(p) for s, p in zip(plan.universe, res.prices)}

    def _reveal(self, day: int, facts: Sequence) -> None:
        """D_n: today's facts, then every introspective price atom whose day has passed, settled from the
        price history (an atom about a sentence that was not priced on its day is never settled)."""
        st = self.st
        for f in facts:
            st.kb.add_fact(f)
        while self._pending and self._pending[0][0] < day:
            _, _, name, meaning = heapq.heappop(self._pending)
            if name in st.revealed_price_atoms:
                continue
            p = self.past_price(meaning.sentence, meaning.day)
            if np.isfinite(p):
                a = parse(name)
                fact = a if meaning.holds(p) else neg(a)
                st.kb.add_fact(fact)
                st.price_facts.append(fact)
                st.revealed_price_atoms.add(name)

    def _plan_day(self, day: int, priced: Sequence) -> DayPlan:
        """Today's universe (priced sentences plus held, still-undecided ones), its consistent worlds,
        newly resolved sentences, and every trader's trade as expressions of today's prices."""
        st = self.st
        universe = list(dict.fromkeys(priced))
        seen = set(universe)
        for j in sorted(st.held_undecided):
            if st.gsent[j] not in seen:
                universe.append(st.gsent[j])
                seen.add(st.gsent[j])
        U = np.array([self._gid(s, day) for s in universe], dtype=np.int64)
        new = [int(j) for j in U if int(j) not in self._slot]
        if new:
            for j in new:
                self._slot[j] = len(self._slot)
            st.live = np.concatenate([st.live, np.array(new, dtype=np.int64)])
            for book in (st.raw, st.eff, st.adv):
                book.widen(len(new))
        cU = np.array([self._slot[int(j)] for j in U], dtype=np.int64)
        pw = st.kb.project(universe)
        truth = pw.decided()
        st.gtruth[U] = truth
        self._record_resolutions(day, universe, U, truth)
        graph = ExpressionGraph(len(universe))
        ctx = self._day_context(day, universe, graph, truth, U)
        calls, adv_trades = self._collect_trades(ctx, day, cU)
        raw_trades = _trade_matrix(graph, calls, len(self.traders), len(universe))
        outside = np.ones(len(st.live), dtype=bool)
        outside[cU] = False
        decided_out = np.where(outside, st.gtruth[st.live].clip(0), 0).astype(float)
        return DayPlan(day, universe, U, cU, pw, truth, graph, calls, adv_trades, raw_trades, decided_out)

    def _record_resolutions(self, day: int, universe: list, U: np.ndarray, truth: np.ndarray) -> None:
        st = self.st
        for i in np.flatnonzero(truth >= 0):
            j = int(U[i])
            if j in st.resolved_ids:
                continue
            st.resolved_ids.add(j)
            s = universe[i]
            st.resolved.append(j, to_text(s), self.label(s), int(truth[i]), day, st.first_price.get(j, float("nan")))

    def _day_context(self, day: int, universe: list, graph: ExpressionGraph, truth, U) -> DayContext:
        index = {s: i for i, s in enumerate(universe)}
        negation_pairs = [(index[s], index[s.args[0]]) for s in universe if s.kind == NOT and s.args[0] in index]
        blocks = tuple(  # in order of first member in the universe (not hash order: sentence uids vary by process)
            np.array([index[x] for x in b])
            for b in dict.fromkeys(self.block_of[s] for s in universe if s in self.block_of)
            if all(x in index for x in b)
        )
        prev = np.array([self.st.last_price.get(int(j), np.nan) for j in U])
        return DayContext(
            day,
            tuple(universe),
            index,
            graph,
            truth,
            tuple(self.label(s) for s in universe),
            self.past_price,
            self.st.resolved,
            blocks,
            np.array(negation_pairs, dtype=np.int64).reshape(-1, 2),
            prev,
        )

    def _collect_trades(self, ctx: DayContext, day: int, cU: np.ndarray) -> tuple[list, list]:
        """One call per distinct program (and distinct own holdings, if it reads them): members of a call
        get the same trade (same nodes), see :func:`.traders.program_key`. Then the adversaries."""
        st, calls = self.st, []
        for members, holds in self.groups:
            act = members[self.start_days[members] <= day]
            if len(act) == 0:
                continue
            for mem in _split_by_rows(st.raw.H[act][:, cU], act) if holds and len(act) > 1 else (act,):
                ctx.own_holdings = st.raw.H[mem[0], cU]
                tr = self.traders[mem[0]].trade(ctx)
                if tr is not None and len(tr.index):
                    calls.append((mem, tr.index, tr.quantity.ids))
        adv_trades = []
        for a, t in enumerate(self.adversaries):
            ctx.own_holdings = st.adv.H[a, cU]
            tr = t.trade(ctx)
            if tr is not None and len(tr.index):
                adv_trades.append((a, tr.index, tr.quantity.ids))
        return calls, adv_trades

    def _make_prices(self, plan: DayPlan) -> MakerResult:
        """The Budgeter's state on today's universe and the maker's certified prices. The constant part
        of W(S_{n-1}) is cash (settled sentences included) plus the live decided sentences outside
        today's universe at their truth (undecided ones outside it count 0)."""
        st = self.st
        const = st.raw.cash + st.raw.H @ plan.decided_out
        state = BudgetState(st.raw.H[:, plan.cU], const, st.worst)
        tol = max(2.0**-plan.day, self.eps_floor)
        prev = np.array([st.last_price.get(int(j), np.nan) for j in plan.U])
        args = (plan.pw, plan.truth, plan.raw_trades, self.weights, state)
        if callable(self.maker):
            return self.maker(*args, prev, tol)
        if self.maker == "rational":
            return rational_market(*args, tol)
        N = len(plan.universe)
        pattern = dependency_pattern(plan.graph, [(0, idx, ids) for _, idx, ids in plan.calls], N)
        return make_market(*args, prev, tol, pattern=pattern, aim=min(tol, self.eps_floor))

    def _book(self, plan: DayPlan, res: MakerResult) -> None:
        """Book the raw trades (what the traders asked for), the effective ones (weighted and budgeted)
        and the adversaries' trades at today's prices; update each trader's worst plausible value."""
        st, P, cU = self.st, res.prices, plan.cU
        T = plan.raw_trades(P)
        E = (self.weights * res.multipliers)[:, None] * T
        st.raw.H[:, cU] += T
        st.raw.cash -= T @ P
        st.eff.H[:, cU] += E
        st.eff.cash -= E @ P
        const_after = st.raw.cash + st.raw.H @ plan.decided_out
        st.worst = np.minimum(st.worst, plan.pw.min_linear(st.raw.H[:, cU].T) + const_after)
        if plan.adv_trades:
            vals = plan.graph.evaluate_all(P)
            TA = np.zeros((len(self.adversaries), len(P)))
            for a, idx, ids in plan.adv_trades:
                np.add.at(TA[a], idx, vals[ids])
            st.adv.H[:, cU] += TA
            st.adv.cash -= TA @ P
        held = np.any(st.raw.H != 0, axis=0) | np.any(st.adv.H != 0, axis=0)  # per live column
        st.held_undecided = set(st.live[held & (st.gtruth[st.live] < 0)].tolist())
        plan.effective = E

    def _record(self, plan: DayPlan, res: MakerResult, seconds: float) -> None:
        """Today's rows of the price, ledger and maker tables, and the price history traders read."""
        st, P, day, universe = self.st, res.prices, plan.day, plan.universe
        st.price_hist.record(day, plan.U, P)
        for i, j in enumerate(plan.U):
            st.last_price[int(j)] = float(P[i])
            st.first_price.setdefault(int(j), float(P[i]))
        keep = np.ones(len(universe), dtype=bool) if self.keep_prices is None else None
        if keep is None:
            keep = np.array([self.keep_prices(s) for s in universe], dtype=bool)
        for i in np.flatnonzero(keep):
            s = universe[i]
            gt = self.truth_of.get(s)
            st.price_rows.append(
                (
                    day,
                    self._text(s),
                    self.label(s),
                    float(P[i]),
                    int(plan.truth[i]),
                    -1 if gt is None else int(gt),
                    int(self.revealed_on.get(s, -1)),
                )
            )
        for book, names, role, m in (
            (st.eff, self.trader_names, "firm", res.multipliers),
            (st.adv, self.adversary_names, "adversary", None),
        ):
            if len(names) == 0:
                continue
            HU = book.H[:, plan.cU]
            c = book.cash + book.H @ plan.decided_out
            lo = plan.pw.min_linear(HU.T) + c
            hi = plan.pw.max_linear(HU.T) + c
            mark = HU @ P + c
            moved = np.abs(plan.effective).sum(1) if role == "firm" else np.zeros(len(names))
            st.ledger_rows.append(
                (
                    np.broadcast_to(np.int64(day), len(names)),  # views of one value: no per-trader copies
                    names,
                    np.broadcast_to(np.array(role, dtype=object), len(names)),
                    np.asarray(m, dtype=float) if m is not None else np.ones(len(names)),
                    np.asarray(lo, dtype=float),
                    np.asarray(hi, dtype=float),
                    np.asarray(mark, dtype=float),
                    np.asarray(moved, dtype=float),
                )
            )
        st.maker_rows.append(
            (
                day,
                len(universe),
                int((plan.truth < 0).sum()),
                res.max_value,
                res.split_bound,
                res.tolerance,
                res.certified,
                res.evaluations,
                seconds,
            )
        )

    def _settle(self, plan: DayPlan) -> None:
        """A decided sentence never priced again is never in a universe again; its holdings are worth
        holdings * truth in every consistent world from now on: move them into cash. An undecided one that
        leaves for good (not priced again, no raw / adversary holdings) is never valued again (outside the
        universe, undecided counts 0, and its truth is never looked up): drop it too. Columns with no
        holdings at all go (a sentence coming back gets a zero column)."""
        st = self.st
        if not self.settle_books:
            return
        live = st.live
        gt_live = st.gtruth[live]
        held_ra = np.any(st.raw.H != 0, axis=0) | np.any(st.adv.H != 0, axis=0)
        gone = self._glast[live] <= plan.day
        settle = (gt_live >= 0) & gone
        if settle.any():
            cols, value = np.flatnonzero(settle), gt_live[settle].astype(float)
            for book in (st.raw, st.eff, st.adv):
                book.settle(cols, value)
        held_any = held_ra | np.any(st.eff.H != 0, axis=0)
        keep = held_any & ~settle & ~((gt_live < 0) & gone & ~held_ra)
        if not keep.all():
            for book in (st.raw, st.eff, st.adv):
                book.keep(keep)
            st.live = live[keep]
            self._slot = {int(g): c for c, g in enumerate(st.live)}

    def tables(self) -> MarketRun:
        return run_tables(self.st)


def _revived(parent, day: int, weight: float, parent_index: int):
    from aflab.logical_induction.traders import Revived

    return Revived(parent, weight, day, f"{parent.name}@{day}", parent_index)


def _trade_matrix(graph: ExpressionGraph, calls: list, K: int, N: int) -> Callable:
    """The (K, N) trade matrix as a function of today's prices: one sparse scatter maps the trade nodes'
    values to it (rows in trader order, each trader's entries in its own order). ``raw_trades(P, base,
    vary)``: every row of the batch P equals ``base`` outside ``vary`` (see ExpressionGraph.evaluate_at).
    Carries ``support`` (which sentences each trader trades) and ``partial_evaluation``."""
    if calls:
        t_k = np.concatenate([np.repeat(mem, len(idx)) for mem, idx, _ in calls])
        t_n = np.concatenate([np.tile(idx, len(mem)) for mem, idx, _ in calls])
        t_id = np.concatenate([np.tile(ids, len(mem)) for mem, _, ids in calls])
        order = np.argsort(t_k, kind="stable")
        t_rows, t_ids = (t_k * N + t_n)[order], t_id[order]
    else:
        t_rows, t_ids = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    KN = K * N
    distinct_rows = len(np.unique(t_rows)) == len(t_rows)
    scatter = None
    if not distinct_rows:  # a trader trades one sentence twice: sum its entries in order
        scatter = sp.csr_matrix((np.ones(len(t_rows)), (t_rows, np.arange(len(t_rows)))), shape=(KN, len(t_rows)))

    def raw_trades(P: np.ndarray, base: np.ndarray | None = None, vary: np.ndarray | None = None) -> np.ndarray:
        # the trade nodes' values placed in the (K, N) trade matrix (``+ 0.0``: the sum 0 + v, as a scatter-add)
        if vary is not None:
            vt = graph.evaluate_at(P, t_ids, base, vary)
        else:
            vt = graph.evaluate_all(P)[..., t_ids]
        if scatter is not None:
            if vt.ndim == 1:
                return (scatter @ vt).reshape(K, N)
            return np.asarray(scatter @ vt.T).T.reshape(-1, K, N)
        out = np.zeros(vt.shape[:-1] + (KN,))
        out[..., t_rows] = vt + 0.0
        return out.reshape(vt.shape[:-1] + (K, N))

    def values(P, base=None, vary=None):
        return graph.evaluate_at(P, t_ids, base, vary) if vary is not None else graph.evaluate_all(P)[..., t_ids]

    t_k, t_n = t_rows // max(N, 1), t_rows % max(N, 1)
    flat_bins: dict[int, np.ndarray] = {}

    def weighted(P, coef, base=None, vary=None):
        """``sum_k coef_k T_k(P)`` without the (K, N) matrix: the trade nodes' values, weighted, summed per
        sentence with one bincount (the firm's trade at frozen multipliers, for a batch of price vectors)."""
        vt = values(P, base, vary) * coef[t_k]
        if vt.ndim == 1:
            return np.bincount(t_n, weights=vt, minlength=N).astype(float)
        B = vt.shape[0]
        if B not in flat_bins:  # the bins of a batch of B price vectors (a solve reuses a few batch sizes)
            flat_bins[B] = (np.arange(B)[:, None] * N + t_n[None, :]).ravel()
        flat = flat_bins[B]
        return np.bincount(flat, weights=vt.ravel(), minlength=B * N).reshape(B, N)

    row_maps: dict[bytes, tuple] = {}  # which -> (its trade nodes, their scatter into (len(which), N))

    def rows(P, which, base=None, vary=None):
        """The trades of traders ``which`` only: (len(which), N), or (B, len(which), N) for a batch."""
        key = np.asarray(which, dtype=np.int64).tobytes()
        if key not in row_maps:  # a solve asks for the same movers at every evaluation: build the map once
            pos = np.full(K, -1, dtype=np.int64)
            pos[which] = np.arange(len(which))
            sel = np.flatnonzero(pos[t_k] >= 0)
            flat = pos[t_k[sel]] * N + t_n[sel]
            if len(row_maps) >= 32:
                row_maps.pop(next(iter(row_maps)))
            row_maps[key] = (
                sel,
                sp.csr_matrix((np.ones(len(sel)), (flat, np.arange(len(sel)))), shape=(len(which) * N, len(sel))),
            )
        sel, Sc = row_maps[key]
        vt = values(P, base, vary)[..., sel]
        out = Sc @ vt if vt.ndim == 1 else np.asarray((Sc @ vt.T).T)
        return out.reshape(vt.shape[:-1] + (len(which), N))

    raw_trades.partial_evaluation = True
    raw_trades.weighted = weighted
    raw_trades.rows = rows
    support = np.zeros(KN, dtype=bool)
    support[t_rows] = True
    raw_trades.support = support.reshape(K, N)
    return raw_trades


def run_tables(state: MarketState) -> MarketRun:
    """The tables of a run from its state (e.g. a checkpoint from :func:`load_checkpoint`), each built on
    first access from the rows the state holds now (its row lists only grow: their lengths are the snapshot,
    so a market that trades on does not change a run taken earlier).

    The builders hold the four row lists, not ``state``: a kept run (``experiments.pi_run`` caches 64) must
    not keep the books, the worlds and the expression caches alive (~0.5 GB for a 120-day pi run)."""
    price_rows, ledger_rows, maker_rows, resolved = (
        state.price_rows,
        state.ledger_rows,
        state.maker_rows,
        state.resolved,
    )
    n_price, n_ledger, n_maker, n_resolved = len(price_rows), len(ledger_rows), len(maker_rows), len(resolved)
    return MarketRun(
        lambda: pd.DataFrame(price_rows[:n_price], columns=list(PRICE_COLUMNS)),
        lambda: _ledger_frame(ledger_rows[:n_ledger]),
        lambda: pd.DataFrame(maker_rows[:n_maker], columns=list(MAKER_COLUMNS)),
        lambda: resolved.frame(n_resolved).drop(columns=["gid"]),
    )


PRICE_COLUMNS = ("day", "sentence", "label", "price", "decided", "truth", "revealed_on")
MAKER_COLUMNS = (
    "day",
    "n_priced",
    "n_undecided",
    "max_value",
    "split_bound",
    "tolerance",
    "certified",
    "evaluations",
    "seconds",
)


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


class PriceHistory:
    """Every price the market set, by day: ``get(j, day)`` is sentence ``j``'s price on ``day`` (nan if it was
    not priced then), what price-reading sentences (``P_n(phi) > p``) are resolved against.

    One pair of arrays per day (global ids sorted, prices): 12 bytes a price, against ~50 for a dict entry
    keyed by ``(j, day)`` (the benchmark's memory section: 9.3 MB of the 84 MB a pi run held at day 800)."""

    def __init__(self) -> None:
        self._days: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def record(self, day: int, ids: np.ndarray, prices: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        self._days[int(day)] = ids[order], np.asarray(prices, dtype=float)[order]

    def get(self, j: int, day: int) -> float:
        ids, prices = self._days.get(int(day), (None, None))
        if ids is None:
            return float("nan")
        k = int(np.searchsorted(ids, j))
        return float(prices[k]) if k < len(ids) and ids[k] == j else float("nan")

    def triples(self) -> list[list]:
        """``[sentence id, day, price]`` rows (the checkpoint's JSON form)."""
        return [[int(j), d, float(v)] for d, (ids, ps) in self._days.items() for j, v in zip(ids, ps)]

    @classmethod
    def from_triples(cls, rows: list) -> PriceHistory:
        out, by_day = cls(), {}
        for j, d, v in rows:
            by_day.setdefault(int(d), ([], []))
            by_day[int(d)][0].append(int(j))
            by_day[int(d)][1].append(float(v))
        for d, (ids, ps) in by_day.items():
            out.record(d, np.array(ids, dtype=np.int64), np.array(ps))
        return out


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
    price_hist: PriceHistory
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
    #: traders a revival policy added: (parent trader index, entry day, weight)
    revived: list = field(default_factory=list)

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
            PriceHistory(),
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
        "price_hist": state.price_hist.triples(),
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
        "revived": [list(r) for r in state.revived],
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
        PriceHistory.from_triples(doc["price_hist"]),
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
        [(int(k), int(d), float(w)) for k, d, w in doc.get("revived", [])],
    )
