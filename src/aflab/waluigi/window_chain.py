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
windows. Two exact methods (``method=``):

- ``"sparse"`` (the reference): an explicit CSR matrix, direct sparse LU up to ``DIRECT_MAX``
  states, restarted GMRES above, refused beyond ``ITERATIVE_MAX = 2^16`` (SuperLU fills in badly
  on the de Bruijn graph: 2^16 states took 275 s).
- ``"shift"`` (matrix-free, up to ``SHIFT_MAX = 2^21`` windows): the window chain is a shift
  register. Write a full window as ``i = a * V^(k-1) + j`` (``a`` = oldest token, ``j`` = the
  other k - 1); emitting ``x`` moves it to ``j * V + x``. So with the predictive table reshaped to
  ``T[a, j, x]`` (shape ``(V, V^(k-1), V)``) the two products a solver needs are reshapes and one
  reduction, no index arrays:

      (P v)[a, j]   = sum_x T[a, j, x] v[j, x]          (v viewed as (V^(k-1), V))
      (P^T d)[j, x] = sum_a T[a, j, x] d[a, j]          (d viewed as (V, V^(k-1)))

  Restricting to a class is a 0/1 mask on both sides. The systems ``(I - B) x = b`` are solved by
  restarted GMRES with the Neumann polynomial ``I + B + ... + B^(k-1)`` as right preconditioner
  (:func:`_solve_fixed_point`); a solution is accepted only when the backward error of the
  unpreconditioned system is below 1e-8 (else a ``RuntimeError``). The Krylov space is small
  because the window forgets in k steps: for δ = 0 and a shared r the class chain lumps to the k
  positions of the last reveal. Binary k = 20 (2^20 windows) takes a few seconds. Dots run on one BLAS thread
  (``threadpoolctl`` when present): they are memory-bound, and threaded level-1 BLAS on a busy
  machine spin-waits (measured 17 ms per dot of 2^14 floats).

``method="auto"`` picks ``"sparse"`` up to ``AUTO_SPARSE_MAX = 2^12`` windows and ``"shift"`` above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from scipy.sparse.csgraph import breadth_first_order

from aflab.core.threads import one_blas_thread
from aflab.waluigi.model import Events, PersonaMixture, bayes_predictive, event_mask, index_windows, predictive_tables

DIRECT_MAX = 2**14
ITERATIVE_MAX = 2**16
SHIFT_MAX = 2**21
AUTO_SPARSE_MAX = 2**12
Method = Literal["auto", "sparse", "shift"]


def _pick_method(method: str, n: int) -> str:
    if method not in ("auto", "sparse", "shift"):
        raise ValueError(f"method must be 'auto', 'sparse' or 'shift', got {method!r}")
    if method == "auto":
        method = "sparse" if n <= AUTO_SPARSE_MAX else "shift"
    limit = ITERATIVE_MAX if method == "sparse" else SHIFT_MAX
    if n > limit:
        raise ValueError(
            f"{n} windows exceed the {method!r} solver limit {limit}; lower k"
            + (" or use method='shift'" if method == "sparse" and n <= SHIFT_MAX else "")
        )
    return method


def _check_k(k) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


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
    survival: np.ndarray  # S(t), t = 0..t_max
    incidence: dict[str, np.ndarray]  # cumulative P(first event by t, in class X)
    hazard_floor: float  # 1 - spectral radius of Q (per-step hazard once homogeneous)
    # computed as nu . exit for the quasi-stationary law nu
    mean_time: float  # E[1-based index of the first event token] = sum_t S(t)
    split: dict[str, float]  # P(first event in class X), t -> infinity
    quasi_stationary: np.ndarray = field(repr=False)  # left Perron vector of Q over free windows
    free_alphabet: tuple[int, ...] = ()


def clean_phase(mix: PersonaMixture, k: int, t_max: int = 1000, events: Events = "revealing") -> CleanPhase:
    """Survival, hazard floor, mean time and class split of the first event, exactly (see module doc)."""
    k = _check_k(k)
    if int(t_max) != t_max or t_max < 0:
        raise ValueError(f"t_max must be an integer >= 0, got {t_max!r}")
    D = event_mask(mix, events)
    F = np.flatnonzero(~D)
    nf = len(F)
    if nf**k > ITERATIVE_MAX:
        raise ValueError(f"{nf}^{k} event-free windows exceed {ITERATIVE_MAX}; lower k")
    a = mix.alphabet
    classes = {"revealing": a.is_revealing() & D, "collapse": a.is_collapse() & D}
    prompt = mix.prompt
    t0 = k + 1 if (prompt is not None and prompt.mode == "sliding" and prompt.length == 0) else k
    table = _event_free_tables(mix, k, F)
    head_S, head_inc, dist = _clean_prefix(table, prompt, k, F, classes)
    n = nf**k
    src = np.repeat(np.arange(n), nf)
    dst = ((np.arange(n)[:, None] * nf + np.arange(nf)[None, :]) % n).ravel()
    if t0 > k:  # sliding prompt of length 0 is still in view at t = k
        Qk, ek = _free_window_chain(table(True, k), F, classes, src, dst, n)
        head_S.append(dist.sum())
        for c in classes:
            head_inc[c].append(dist @ ek[c])
        dist = Qk.T @ dist
    in_view_late = prompt is None or prompt.mode == "pinned"
    Q, exit_by = _free_window_chain(table(in_view_late, k), F, classes, src, dst, n)
    head_S = np.asarray(head_S)
    cum = {c: np.concatenate([[0.0], np.cumsum(head_inc[c])]) for c in classes}
    S, inc = _clean_survival(Q, exit_by, head_S, cum, dist, t0, t_max)
    split, mean_time = _clean_tail(Q, exit_by, head_S, cum, dist, t0)
    floor, qs = _quasi_stationary_exit(Q, sum(exit_by.values()))
    return CleanPhase(k, events, S, inc, floor, mean_time, split, qs, tuple(int(f) for f in F))


def _event_free_tables(mix: PersonaMixture, k: int, F: np.ndarray):
    """``table(flag, j)``: the predictive of every event-free window of length j (rows in base-|F| order
    over F), with the prompt in view or not; each flag's tables computed once, when first asked for."""
    tables: dict[bool, list[np.ndarray]] = {}

    def table(flag: bool, j: int) -> np.ndarray:
        if flag not in tables:
            tables[flag] = predictive_tables(mix, k, include_prompt=flag, window_tokens=F)
        return tables[flag][j]

    return table


def _clean_prefix(table, prompt, k: int, F: np.ndarray, classes: dict):
    """Prefix phase t = 0..k-1 (the window grows): survival and each class's event mass per step, and the
    distribution over event-free histories of length k (child index = parent * |F| + f)."""
    head_S: list = []
    head_inc: dict[str, list] = {c: [] for c in classes}
    dist = np.ones(1)
    for t in range(k):
        P = table(prompt is None or prompt.in_view(t, k), t)
        head_S.append(dist.sum())
        for c, m in classes.items():
            head_inc[c].append(dist @ P[:, m].sum(axis=1))
        dist = (dist[:, None] * P[:, F]).reshape(-1)  # child = idx*nf + f
    return head_S, head_inc, dist


def _free_window_chain(P: np.ndarray, F: np.ndarray, classes: dict, src, dst, n: int):
    """The transition matrix Q over event-free full windows (sparse, zero edges dropped) and each class's
    exit probability per window, from the window predictive ``P``."""
    Q = sp.csr_matrix((P[:, F].ravel(), (src, dst)), shape=(n, n))
    Q.eliminate_zeros()  # graph searches must not follow zero-probability edges
    exits = {c: P[:, m].sum(axis=1) for c, m in classes.items()}
    return Q, exits


def _clean_survival(Q, exit_by: dict, head_S: np.ndarray, cum: dict, dist: np.ndarray, t0: int, t_max: int):
    """Survival S(t) and each class's cumulative incidence for t = 0..t_max: the prefix, then d <- Q^T d."""
    S = np.zeros(t_max + 1)
    inc = {c: np.zeros(t_max + 1) for c in exit_by}
    d = dist.copy()
    QT = Q.T.tocsr()  # forward step d <- Q^T d, transposed once
    for t in range(t_max + 1):
        if t < t0:
            S[t] = head_S[t]
            for c in exit_by:
                inc[c][t] = cum[c][t]
            continue
        if t == t0:
            for c in exit_by:
                inc[c][t] = cum[c][t0]
            S[t] = d.sum()
            continue
        for c in exit_by:
            inc[c][t] = inc[c][t - 1] + d @ exit_by[c]
        d = QT @ d
        S[t] = d.sum()
    return S, inc


def _clean_tail(Q, exit_by: dict, head_S: np.ndarray, cum: dict, dist: np.ndarray, t0: int):
    """Class split and mean time of the first event by linear solves (I - Q) x = b on the windows U that can
    still reach an event; from the others no event ever happens (an exactly absorbing event-free class,
    e.g. mode collapse)."""
    total_exit = sum(exit_by.values())
    back = Q.T.tocsr()

    def tail_solve(seeds: np.ndarray):
        u = np.flatnonzero(_reachable(back, seeds))
        A = sp.identity(u.size, format="csr") - Q[u][:, u]
        rhs = np.column_stack([np.ones(u.size)] + [exit_by[c][u] for c in exit_by])
        return u, (_solve(A, rhs) if u.size else np.zeros((0, 1 + len(exit_by))))

    try:
        u, sol = tail_solve(total_exit > 0)
    except RuntimeError:  # an exit mass below float64 resolution (the row of Q sums to 1.0 exactly):
        # I - Q is exactly singular; such windows are absorbing in floating point, dropped as seeds
        u, sol = tail_solve((total_exit > 0) & (np.asarray(Q.sum(axis=1)).ravel() < 1.0))
    split = {c: float(cum[c][t0] + dist[u] @ sol[:, i + 1]) for i, c in enumerate(exit_by)}
    reaches = float(sum(dist[u] @ sol[:, i + 1] for i in range(len(exit_by))))
    mean_time = float(head_S.sum() + dist[u] @ sol[:, 0]) if reaches >= dist.sum() * (1 - 1e-10) else float("inf")
    return split, mean_time


def _quasi_stationary_exit(Q, total_exit: np.ndarray):
    """The hazard floor ``1 - rho`` (rho: Perron root of Q) and the quasi-stationary distribution.

    ``1 - rho = nu . (exit probabilities)`` for the left Perron vector nu: no cancellation when rho ~ 1."""
    n = Q.shape[0]
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
    floor = float(qs @ total_exit) if np.isfinite(qs).all() else 1.0 - rho
    return floor, qs


# ------------------------------------------------------------------------------- full chain
def _full_chain(mix: PersonaMixture, k: int, include_prompt: bool, limit: int = ITERATIVE_MAX) -> sp.csr_matrix:
    V = mix.alphabet.size
    n = V**k
    if n > limit:
        raise ValueError(f"{V}^{k} windows exceed the solver limit {limit}; lower k")
    T = predictive_tables(mix, k, include_prompt=include_prompt)[k]
    return _csr_from_table(T, V, k)


def _csr_from_table(T: np.ndarray, V: int, k: int) -> sp.csr_matrix:
    n = V**k
    src = np.repeat(np.arange(n), V)
    dst = ((np.arange(n)[:, None] * V + np.arange(V)[None, :]) % n).ravel()
    P = sp.csr_matrix((T.ravel(), (src, dst)), shape=(n, n))
    P.eliminate_zeros()
    return P


def _window_has(tokens: np.ndarray, V: int, k: int) -> np.ndarray:
    """Bool per full window index: does the window hold a token in the mask ``tokens`` (length V)?"""
    idx = np.arange(V**k, dtype=np.int64)
    out = np.zeros(idx.size, bool)
    for _ in range(k):  # k digit passes over n ints (no (n, k) array)
        out |= tokens[idx % V]
        idx //= V
    return out


def _has_revealing(mix: PersonaMixture, k: int) -> np.ndarray:
    return _window_has(mix.alphabet.is_revealing(), mix.alphabet.size, k)


def _reachable(graph: sp.csr_matrix, sources: np.ndarray) -> np.ndarray:
    """Nodes reachable from any node in ``sources`` (bool mask): one BFS from a virtual super-source."""
    n = graph.shape[0]
    out = np.zeros(n, bool)
    src = np.flatnonzero(sources)
    if src.size == 0:
        return out
    top = sp.hstack([graph, sp.csr_matrix((n, 1))])
    bottom = sp.csr_matrix((np.ones(src.size), (np.zeros(src.size, dtype=np.int64), src)), shape=(1, n + 1))
    g = sp.vstack([top, bottom]).tocsr()
    order = breadth_first_order(g, n, directed=True, return_predecessors=False)
    out[order[order < n]] = True
    return out


# -------------------------------------------------------------- matrix-free shift operator
@dataclass(frozen=True)
class ShiftOperator:
    """The window chain as a shift register: ``T[a, j, x]`` = P(window a·V^(k-1)+j emits x).

    ``apply(v)`` = P v (expectations of the next window), ``apply_t(d)`` = P^T d (the law one step
    later); both cost ~ 2 V^(k+1) flops and no index arrays (see the module doc).
    """

    table: np.ndarray  # (V, V^(k-1), V)

    @property
    def n(self) -> int:
        return self.table.shape[0] * self.table.shape[1]

    def apply(self, v: np.ndarray) -> np.ndarray:
        V, m, _ = self.table.shape
        return np.einsum("ajx,jx->aj", self.table, v.reshape(m, V)).reshape(-1)

    def apply_t(self, d: np.ndarray) -> np.ndarray:
        V, m, _ = self.table.shape
        return np.einsum("ajx,aj->jx", self.table, d.reshape(V, m)).reshape(-1)


def shift_operator(mix: PersonaMixture, k: int, include_prompt: bool = True) -> ShiftOperator:
    """The full-window transition operator of the window-k reader, matrix-free (``V^k <= SHIFT_MAX``)."""
    k = _check_k(k)
    V = mix.alphabet.size
    if V**k > SHIFT_MAX:
        raise ValueError(f"{V}^{k} windows exceed the shift-operator limit {SHIFT_MAX}; lower k")
    T = predictive_tables(mix, k, include_prompt=include_prompt)[k]
    return ShiftOperator(T.reshape(V, V ** (k - 1), V))


def _gmres(matvec, b: np.ndarray, what: str, rtol: float = 1e-10, max_cycles: int = 60) -> np.ndarray:
    """Solve ``A x = b`` (A given by ``matvec``) by restarted GMRES(m); accept only a small true backward error.

    Arnoldi with classical Gram-Schmidt applied twice (CGS2, Giraud et al. 2005): the basis is one
    ``(m+1, n)`` array, so orthogonalisation is two matrix-vector products per step instead of
    scipy's m vector updates (which cost more than our cheap matvec). ``m`` keeps the basis under
    2^25 floats (256 MiB). The small least-squares problem is re-solved each step (m <= 60).
    """
    n = b.size
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return np.zeros(n)
    m = int(np.clip(2**25 // max(n, 1), 20, 60))
    x = np.zeros(n)
    r = b.copy()
    last = np.inf
    with one_blas_thread():
        for _ in range(max_cycles):
            beta = float(np.linalg.norm(r))
            # normwise backward error ||r|| / (||b|| + ||x||) (||A|| ~ 1): the attainable target when
            # the solution is ~1e8 times the data (exit times of nearly absorbing classes)
            target = rtol * (bnorm + float(np.linalg.norm(x)))
            if beta <= target or beta > 0.5 * last:  # converged, or stagnating at rounding level
                break
            last = beta
            basis = np.empty((m + 1, n))
            H = np.zeros((m + 1, m))
            basis[0] = r / beta
            y = np.zeros(0)
            for j in range(m):
                w = matvec(basis[j])
                h = basis[: j + 1] @ w
                w -= h @ basis[: j + 1]
                h2 = basis[: j + 1] @ w
                w -= h2 @ basis[: j + 1]
                H[: j + 1, j] = h + h2
                hn = float(np.linalg.norm(w))
                H[j + 1, j] = hn
                rhs = np.zeros(j + 2)
                rhs[0] = beta
                y = np.linalg.lstsq(H[: j + 2, : j + 1], rhs, rcond=None)[0]
                if hn <= 1e-14 * beta or np.linalg.norm(H[: j + 2, : j + 1] @ y - rhs) <= target:
                    break
                basis[j + 1] = w / hn
            x += y @ basis[: y.size]
            r = b - matvec(x)
        res = float(np.linalg.norm(r)) / (bnorm + float(np.linalg.norm(x)))
    if not np.all(np.isfinite(x)) or res > 1e-8:
        raise RuntimeError(
            f"GMRES did not converge for the {what} on {n} windows "
            f"(backward error {res:.1e}); lower k or use method='sparse'"
        )
    return x


def _solve_fixed_point(apply_B, b: np.ndarray, p: int, what: str) -> np.ndarray:
    """Solve ``(I - B) x = b`` with the Neumann polynomial as right preconditioner.

    ``(I - B)(I + B + ... + B^(p-1)) = I - B^p``: GMRES solves ``(I - B^p) z = b`` and
    ``x = sum_{i<p} B^i z``. With ``p = k`` the window is replaced entirely between two Krylov
    steps, so the bulk of the spectrum shrinks like |lambda|^k while the slow (metastable) modes stay
    isolated near 1, where GMRES handles them in a few steps; the cheap shift matvecs are traded for
    expensive Arnoldi steps (binary k = 20, luigi with delta = 0.05: 11 Krylov steps instead of >1000).
    The answer is checked by the backward error of the *unpreconditioned* system.
    """

    def power(z):
        y = z.copy()
        for _ in range(p):
            y = apply_B(y)
        return z - y

    z = _gmres(power, b, what)
    x, y = z.copy(), z
    for _ in range(p - 1):
        y = apply_B(y)
        x += y
    res = float(np.linalg.norm(x - apply_B(x) - b)) / (float(np.linalg.norm(b)) + float(np.linalg.norm(x)))
    if not np.all(np.isfinite(x)) or res > 1e-8:
        raise RuntimeError(f"the {what} solve missed (backward error {res:.1e}); lower k or use method='sparse'")
    return x


def _poly_degree(k: int) -> int:
    return int(min(k, 32))


@dataclass(frozen=True)
class ExitTime:
    k: int
    mean: float  # E[steps until no revealing token is in the window]; inf if absorbing
    entry: np.ndarray = field(repr=False)  # entry distribution over class windows (full index)
    pmf: np.ndarray | None = field(default=None, repr=False)  # P(exit at t), t = 0..t_max


def _entry_distribution(mix: PersonaMixture, k: int, flag: bool) -> np.ndarray:
    """Quasi-stationary clean full window with a revealing token appended (full window index)."""
    V = mix.alphabet.size
    n = V**k
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
    return entry / entry.sum()


def exit_time(mix: PersonaMixture, k: int, t_max: int = 0, method: Method = "auto") -> ExitTime:
    """Mean (and optionally the pmf) of the time to leave the waluigi class, exactly.

    The class = full windows holding a revealing token. Entry = a revealing token appended to a
    clean full window drawn from the clean chain's quasi-stationary distribution. Exit = the window
    holds no revealing token. ``inf`` when some entered window cannot reach an exit (exact absorption).
    ``method``: ``"sparse"`` (explicit matrix, V^k <= 2^16), ``"shift"`` (matrix-free, V^k <= 2^21)
    or ``"auto"`` (see the module doc); both are exact to solver tolerance.
    """
    k = _check_k(k)
    V = mix.alphabet.size
    n = V**k
    method = _pick_method(method, n)
    flag = mix.prompt is None or mix.prompt.mode == "pinned"
    T = predictive_tables(mix, k, include_prompt=flag)[k]
    W = _has_revealing(mix, k)
    entry = _entry_distribution(mix, k, flag)
    if method == "shift":
        return _exit_time_shift(T, V, k, W, entry, t_max)
    P = _csr_from_table(T, V, k)
    cls = np.flatnonzero(W)
    Pw = P[cls][:, cls].tocsr()
    out_prob = 1.0 - np.asarray(Pw.sum(axis=1)).ravel()
    e = entry[cls]
    # exact absorption check: every state reachable from the entry must be able to reach an exit
    reach = _reachable(Pw, e > 0)
    can_exit = _reachable(Pw.T.tocsr(), out_prob > 1e-15)
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


def _exit_time_shift(T: np.ndarray, V: int, k: int, W: np.ndarray, entry: np.ndarray, t_max: int) -> ExitTime:
    """:func:`exit_time` on the matrix-free shift operator (full window index, class = mask ``W``)."""
    n = V**k
    op = ShiftOperator(T.reshape(V, n // V, V))
    Wf = W.astype(float)
    out_prob = Wf * (1.0 - op.apply(Wf))  # P(next window is clean | class window)
    P = _csr_from_table(T, V, k)  # only for the two reachability searches (graph, no solve)
    Pw = P.multiply(W[:, None]).multiply(W[None, :]).tocsr()
    Pw.eliminate_zeros()
    reach = _reachable(Pw, W & (entry > 0))
    can_exit = _reachable(Pw.T.tocsr(), W & (out_prob > 1e-15))
    if np.any(reach & ~can_exit):
        mean = float("inf")
    else:
        K = reach.astype(float)  # the system on the reachable class windows; identity elsewhere
        tau = _solve_fixed_point(lambda v: K * op.apply(K * v), K, _poly_degree(k), "exit-time system")
        mean = float(entry @ (K * tau))
    pmf = None
    if t_max:
        pmf = np.zeros(t_max + 1)
        d = entry * Wf
        for t in range(1, t_max + 1):
            pmf[t] = d @ out_prob
            d = Wf * op.apply_t(d)
    return ExitTime(k, mean, entry, pmf)


def _occupancy_from(pi: np.ndarray, mix: PersonaMixture, k: int) -> dict[str, float]:
    V = mix.alphabet.size
    if not np.all(np.isfinite(pi)) or np.any(pi < -1e-9):
        raise ValueError("the window chain has no unique stationary law (an exactly absorbing class?)")
    pi = np.maximum(pi, 0.0)
    pi /= pi.sum()
    has_rev = _window_has(mix.alphabet.is_revealing(), V, k)
    has_col = _window_has(mix.alphabet.is_collapse(), V, k)
    return {
        "revealing": float(pi[has_rev].sum()),
        "collapse": float(pi[has_col & ~has_rev].sum()),
        "clean": float(pi[~has_rev & ~has_col].sum()),
    }


def stationary_occupancy(mix: PersonaMixture, k: int, method: Method = "auto") -> dict[str, float]:
    """Long-run fraction of windows holding a revealing token / a collapse token / neither.

    Stationary vector of the full window chain: ``"sparse"`` solves ``pi (I - P) = 0, sum pi = 1``
    with one equation replaced by the normalisation; ``"shift"`` solves the equivalent nonsingular
    ``(I - P^T + u 1^T) pi = u`` (u = uniform; nonsingular iff the stationary law is unique, since
    ``1^T u != 0``) matrix-free. Requires a unique stationary law (no second recurrent class).
    """
    k = _check_k(k)
    V = mix.alphabet.size
    n = V**k
    method = _pick_method(method, n)
    flag = mix.prompt is None or mix.prompt.mode == "pinned"
    if method == "shift":
        op = shift_operator(mix, k, flag)
        u = np.full(n, 1.0 / n)
        try:
            # (I - B) pi = u with B = P^T - u 1^T: the Neumann-preconditioned solver applies
            pi = _solve_fixed_point(lambda v: op.apply_t(v) - u * v.sum(), u, _poly_degree(k), "stationary law")
        except RuntimeError as err:
            raise ValueError(
                "the window chain has no unique stationary law (an exactly absorbing class?), "
                f"or the solve failed: {err}"
            ) from None
        return _occupancy_from(pi, mix, k)
    P = _full_chain(mix, k, flag)
    A = (sp.identity(n, format="csr") - P).T.tolil()
    A[0, :] = np.ones(n)
    b = np.zeros(n)
    b[0] = 1.0
    return _occupancy_from(_solve(A.tocsr(), b), mix, k)
