"""Exact solver for the order-k window chain of the windowed Bayes reader (no closed-form shortcuts).

The window-k reader that feeds its own samples back is a Markov chain whose state is the window
(the last k tokens; the first k steps use the shorter prefix windows as document starts). Every
transition probability is the exact Bayes predictive of :mod:`aflab.waluigi.model` for that window.

- :func:`clean_phase`: survival to the first event by *forward iteration over event-free windows*
  (the prefix phase step by step, then the homogeneous chain ``Q`` on full event-free windows);
  mean time and the split between event classes by sparse linear solves ``(I - Q) x = b``; the
  hazard floor as ``1 - rho(Q)`` (the quasi-stationary exit rate).
- :func:`exit_time`: mean time for the window to lose every revealing token again (leave the
  waluigi class), from the quasi-stationary entry distribution, by a sparse solve on the class.
- :func:`stationary_occupancy`: long-run fraction of windows per class from the stationary vector.

Sizes: event-free windows number ``|F|^k`` (``F`` = non-event tokens; 1 state for the binary
alphabet, so binary ``k = 20`` or more is instant); the class/stationary solves act on ``V^k``
windows: a direct sparse LU up to ``DIRECT_MAX`` states, restarted GMRES above (to ``2^16``:
binary k <= 16, ~2 s at k = 16; larger k is refused with a clear error).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from scipy.sparse.csgraph import breadth_first_order

from aflab.waluigi.model import PersonaMixture, bayes_predictive, index_windows, predictive_tables

DIRECT_MAX = 2**14
ITERATIVE_MAX = 2**16
Events = Literal["revealing", "departure"]


def _check_k(k) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


def _event_mask(mix: PersonaMixture, events: Events) -> np.ndarray:
    a = mix.alphabet
    if events == "revealing":
        return a.is_revealing()
    if events == "departure":
        return a.is_revealing() | a.is_collapse()
    raise ValueError(f"events must be 'revealing' or 'departure', got {events!r}")


def _solve(A: sp.spmatrix, b: np.ndarray) -> np.ndarray:
    """Sparse solve: direct LU when small, restarted GMRES otherwise."""
    n = A.shape[0]
    if n <= DIRECT_MAX:
        if b.ndim == 1:
            return spl.spsolve(A.tocsc(), b)
        lu = spl.splu(A.tocsc())
        return lu.solve(b)
    if n > ITERATIVE_MAX:
        raise ValueError(f"{n} states exceed the solver limit {ITERATIVE_MAX}; lower k")
    cols = b[:, None] if b.ndim == 1 else b
    out = np.empty_like(cols, dtype=float)
    for j in range(cols.shape[1]):
        x, info = spl.gmres(A, cols[:, j], rtol=1e-11, atol=0.0, restart=60, maxiter=200)
        if info != 0:
            raise RuntimeError(f"GMRES did not converge on {n} states (info={info}); lower k")
        out[:, j] = x
    return out[:, 0] if b.ndim == 1 else out


@dataclass(frozen=True)
class CleanPhase:
    """Exact first-event statistics of the window-k reader."""

    k: int
    events: str
    survival: np.ndarray                  # S(t), t = 0..t_max
    incidence: dict[str, np.ndarray]      # cumulative P(first event by t, in class X)
    hazard_floor: float                   # 1 - spectral radius of Q (per-step hazard once homogeneous)
                                          # computed as nu . exit for the quasi-stationary law nu
    mean_time: float                      # E[# event-free tokens before the first event]
    split: dict[str, float]               # P(first event in class X), t -> infinity
    quasi_stationary: np.ndarray = field(repr=False)  # left Perron vector of Q over free windows
    free_alphabet: tuple[int, ...] = ()


def clean_phase(mix: PersonaMixture, k: int, t_max: int = 1000, events: Events = "revealing") -> CleanPhase:
    """Survival, hazard floor, mean time and class split of the first event, exactly (see module doc)."""
    k = _check_k(k)
    if int(t_max) != t_max or t_max < 0:
        raise ValueError(f"t_max must be an integer >= 0, got {t_max!r}")
    D = _event_mask(mix, events)
    F = np.flatnonzero(~D)
    nf = len(F)
    if nf ** k > ITERATIVE_MAX:
        raise ValueError(f"{nf}^{k} event-free windows exceed {ITERATIVE_MAX}; lower k")
    a = mix.alphabet
    classes = {"revealing": a.is_revealing() & D, "collapse": a.is_collapse() & D}
    prompt = mix.prompt
    t0 = k + 1 if (prompt is not None and prompt.mode == "sliding" and prompt.length == 0) else k

    def view(t: int) -> bool:
        return prompt is None or prompt.in_view(t, k)

    S = np.zeros(t_max + 1)
    inc = {c: np.zeros(t_max + 1) for c in classes}
    head_S, head_inc = [], {c: [] for c in classes}
    tables: dict[bool, list[np.ndarray]] = {}

    def table(flag: bool, j: int) -> np.ndarray:
        # predictive of every event-free window of length j (rows in base-|F| order over F)
        if flag not in tables:
            tables[flag] = predictive_tables(mix, k, include_prompt=flag, window_tokens=F)
        return tables[flag][j]

    dist = np.ones(1)
    # prefix phase t = 0..k-1: window of length t (grows)
    for t in range(k):
        P = table(view(t), t)
        head_S.append(dist.sum())
        for c, m in classes.items():
            head_inc[c].append(dist @ P[:, m].sum(axis=1))
        dist = (dist[:, None] * P[:, F]).reshape(-1)  # child = idx*nf + f
    # full windows from t = k on; the transition matrix Q over free full windows
    n = nf ** k
    src = np.repeat(np.arange(n), nf)
    dst = ((np.arange(n)[:, None] * nf + np.arange(nf)[None, :]) % n).ravel()

    def chain(flag: bool):
        P = table(flag, k)
        Q = sp.csr_matrix((P[:, F].ravel(), (src, dst)), shape=(n, n))
        Q.eliminate_zeros()  # graph searches must not follow zero-probability edges
        exits = {c: P[:, m].sum(axis=1) for c, m in classes.items()}
        return Q, exits

    if t0 > k:  # sliding prompt of length 0 is still in view at t = k
        Qk, ek = chain(True)
        head_S.append(dist.sum())
        for c in classes:
            head_inc[c].append(dist @ ek[c])
        dist = Qk.T @ dist
    in_view_late = prompt is None or prompt.mode == "pinned"
    Q, exit_by = chain(in_view_late)
    # survival curve: head, then forward iteration
    head_S = np.asarray(head_S)
    cum = {c: np.concatenate([[0.0], np.cumsum(head_inc[c])]) for c in classes}
    d = dist.copy()
    QT = Q.T.tocsr()  # forward step d <- Q^T d, transposed once
    for t in range(t_max + 1):
        if t < t0:
            S[t] = head_S[t]
            for c in classes:
                inc[c][t] = cum[c][t]
            continue
        if t == t0:
            for c in classes:
                inc[c][t] = cum[c][t0]
            S[t] = d.sum()
            continue
        for c in classes:
            inc[c][t] = inc[c][t - 1] + d @ exit_by[c]
        d = QT @ d
        S[t] = d.sum()
    # homogeneous tail by linear solves (I - Q) x = b on the windows U that can still reach an event;
    # from the others no event ever happens (an exactly absorbing event-free class, e.g. mode collapse)
    total_exit = sum(exit_by.values())
    U = np.zeros(n, bool)
    back = Q.T.tocsr()
    for s in np.flatnonzero(total_exit > 0):
        if not U[s]:
            U[breadth_first_order(back, s, directed=True, return_predecessors=False)] = True
    u = np.flatnonzero(U)
    A = sp.identity(u.size, format="csr") - Q[u][:, u]
    rhs = np.column_stack([np.ones(u.size)] + [exit_by[c][u] for c in classes])
    sol = _solve(A, rhs) if u.size else np.zeros((0, 1 + len(classes)))
    split = {c: float(cum[c][t0] + dist[u] @ sol[:, i + 1]) for i, c in enumerate(classes)}
    reaches = float(sum(dist[u] @ sol[:, i + 1] for i in range(len(classes))))
    mean_time = (float(head_S.sum() + dist[u] @ sol[:, 0])
                 if reaches >= dist.sum() * (1 - 1e-10) else float("inf"))
    # quasi-stationary exit rate: Perron root of Q
    if n == 1:
        rho, qs = float(Q[0, 0]), np.ones(1)
    elif n <= 512:
        vals, vecs = np.linalg.eig(Q.T.toarray())
        i = int(np.argmax(vals.real))
        rho, qs = float(vals[i].real), np.abs(vecs[:, i].real)
    else:
        vals, vecs = spl.eigs(Q.T.tocsc(), k=1, which="LR")
        rho, qs = float(vals[0].real), np.abs(vecs[:, 0].real)
    qs = qs / qs.sum()
    # 1 - rho = nu . (exit probabilities) for the left Perron vector nu: no cancellation when rho ~ 1
    floor = float(qs @ total_exit) if np.isfinite(qs).all() else 1.0 - rho
    return CleanPhase(k, events, S, inc, floor, mean_time, split, qs, tuple(int(f) for f in F))


# ------------------------------------------------------------------------------- full chain
def _full_chain(mix: PersonaMixture, k: int, include_prompt: bool) -> sp.csr_matrix:
    V = mix.alphabet.size
    n = V ** k
    if n > ITERATIVE_MAX:
        raise ValueError(f"{V}^{k} windows exceed the solver limit {ITERATIVE_MAX}; lower k")
    T = predictive_tables(mix, k, include_prompt=include_prompt)[k]
    src = np.repeat(np.arange(n), V)
    dst = ((np.arange(n)[:, None] * V + np.arange(V)[None, :]) % n).ravel()
    P = sp.csr_matrix((T.ravel(), (src, dst)), shape=(n, n))
    P.eliminate_zeros()
    return P


def _has_revealing(mix: PersonaMixture, k: int) -> np.ndarray:
    V = mix.alphabet.size
    wins = index_windows(np.arange(V ** k), k, V)
    return mix.alphabet.is_revealing()[wins].any(axis=1)


@dataclass(frozen=True)
class ExitTime:
    k: int
    mean: float                 # E[steps until no revealing token is in the window]; inf if absorbing
    entry: np.ndarray = field(repr=False)   # entry distribution over class windows (full index)
    pmf: np.ndarray | None = field(default=None, repr=False)  # P(exit at t), t = 0..t_max


def exit_time(mix: PersonaMixture, k: int, t_max: int = 0) -> ExitTime:
    """Mean (and optionally the pmf) of the time to leave the waluigi class, exactly.

    The class = full windows holding a revealing token. Entry = a revealing token appended to a
    clean full window drawn from the clean chain's quasi-stationary distribution. Exit = the window
    holds no revealing token. ``inf`` when some entered window cannot reach an exit (exact absorption).
    """
    k = _check_k(k)
    V = mix.alphabet.size
    n = V ** k
    flag = mix.prompt is None or mix.prompt.mode == "pinned"
    P = _full_chain(mix, k, flag)
    W = _has_revealing(mix, k)
    # entry: quasi-stationary clean windows (no revealing token) -> append a revealing token
    cp = clean_phase(mix, k, t_max=0, events="revealing")
    F = np.asarray(cp.free_alphabet)
    clean_idx = index_windows(np.arange(len(F) ** k), k, len(F))
    clean_full = (F[clean_idx] @ (V ** np.arange(k - 1, -1, -1))).astype(np.int64)
    rev = np.flatnonzero(mix.alphabet.is_revealing())
    T_clean = bayes_predictive(mix, F[clean_idx], include_prompt=flag)
    entry = np.zeros(n)
    for x in rev:
        np.add.at(entry, (clean_full * V + x) % n, cp.quasi_stationary * T_clean[:, x])
    if entry.sum() <= 0:
        raise ValueError("the clean chain never emits a revealing token; there is no waluigi class to exit")
    entry /= entry.sum()
    cls = np.flatnonzero(W)
    pos = -np.ones(n, dtype=np.int64)
    pos[cls] = np.arange(cls.size)
    Pw = P[cls][:, cls].tocsr()
    out_prob = 1.0 - np.asarray(Pw.sum(axis=1)).ravel()
    e = entry[cls]
    # exact absorption check: every state reachable from the entry must be able to reach an exit
    reach = np.zeros(cls.size, bool)
    for s in np.flatnonzero(e > 0):
        if not reach[s]:
            reach[breadth_first_order(Pw, s, directed=True, return_predecessors=False)] = True
    can_exit = np.zeros(cls.size, bool)
    seeds = np.flatnonzero(out_prob > 1e-15)
    if seeds.size:
        back = Pw.T.tocsr()
        for s in seeds:
            if not can_exit[s]:
                can_exit[breadth_first_order(back, s, directed=True, return_predecessors=False)] = True
    if np.any(reach & ~can_exit):
        mean = float("inf")
    else:
        keep = np.flatnonzero(reach)
        A = sp.identity(keep.size, format="csr") - Pw[keep][:, keep]
        tau = _solve(A, np.ones(keep.size))
        mean = float(e[keep] @ tau)
    pmf = None
    if t_max:
        pmf = np.zeros(t_max + 1)
        d = e.copy()
        PwT = Pw.T.tocsr()
        for t in range(1, t_max + 1):
            pmf[t] = d @ out_prob
            d = PwT @ d
    return ExitTime(k, mean, entry, pmf)


def stationary_occupancy(mix: PersonaMixture, k: int) -> dict[str, float]:
    """Long-run fraction of windows holding a revealing token / a collapse token / neither.

    Stationary vector of the full window chain by a sparse solve of ``pi (I - P) = 0, sum pi = 1``;
    requires a unique stationary law (no exactly absorbing class besides one recurrent class).
    """
    k = _check_k(k)
    V = mix.alphabet.size
    n = V ** k
    flag = mix.prompt is None or mix.prompt.mode == "pinned"
    P = _full_chain(mix, k, flag)
    A = (sp.identity(n, format="csr") - P).T.tolil()
    A[0, :] = np.ones(n)
    b = np.zeros(n)
    b[0] = 1.0
    pi = _solve(A.tocsr(), b)
    if not np.all(np.isfinite(pi)) or np.any(pi < -1e-9):
        raise ValueError("the window chain has no unique stationary law (an exactly absorbing class?)")
    pi = np.maximum(pi, 0.0)
    pi /= pi.sum()
    wins = index_windows(np.arange(n), k, V)
    has_rev = mix.alphabet.is_revealing()[wins].any(axis=1)
    has_col = mix.alphabet.is_collapse()[wins].any(axis=1)
    return {"revealing": float(pi[has_rev].sum()), "collapse": float(pi[has_col & ~has_rev].sum()),
            "clean": float(pi[~has_rev & ~has_col].sum())}
