"""Monte Carlo of self-conditioned generation by the Bayes reader, vectorised over trajectories.

Generation: the reader samples the next token from its own predictive and appends it. With a
window of ``k`` tokens the predictive of every possible window is precomputed
(:func:`aflab.waluigi.model.predictive_tables`), so one step of ``n`` trajectories is a gather, a
comparison with uniforms and an index update (``idx <- idx*V + x mod V^k``): no Python loop over
trajectories. With unbounded memory each trajectory carries the exact Bayes filter over mixture
components (masked/post masses), updated in one vectorised step.

Survival is estimated by Kaplan-Meier with Greenwood variance and log(-log) confidence bands
(Kalbfleisch & Prentice 2002, sec. 1.4); ``T`` = number of event-free tokens before the first event,
``S(t) = P(T >= t)``; trajectories still event-free at ``t_max`` are right-censored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from aflab.waluigi.model import Events, PersonaMixture, event_mask, predictive_tables

CLASS_CODES = {"revealing": 0, "collapse": 1}


def _check_sizes(n_traj: int, t_max: int, k: int | None = None) -> None:
    if int(n_traj) != n_traj or n_traj < 1:
        raise ValueError(f"n_traj must be an integer >= 1, got {n_traj!r}")
    if int(t_max) != t_max or t_max < 1:
        raise ValueError(f"t_max must be an integer >= 1, got {t_max!r}")
    if k is not None and (int(k) != k or k < 1):
        raise ValueError(f"k must be an integer >= 1, got {k!r}")


@dataclass(frozen=True)
class FirstEvents:
    """First-event times of ``n`` trajectories (``time = t_max`` and ``observed = False`` if censored)."""

    time: np.ndarray  # int64 (n,): event-free tokens before the first event
    observed: np.ndarray  # bool (n,)
    event_class: np.ndarray  # int8 (n,): 0 revealing, 1 collapse, -1 censored
    t_max: int
    token_steps: int  # tokens generated in total (the work done)


def _cumulative(tables: list[np.ndarray]) -> list[np.ndarray]:
    return [np.cumsum(t, axis=1)[:, :-1].copy() for t in tables]


def _sample(cum_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Token index per row from cumulative rows (n, V-1) and uniforms (n,)."""
    if cum_rows.shape[1] == 1:
        return (u >= cum_rows[:, 0]).astype(np.int64)
    return (u[:, None] >= cum_rows).sum(axis=1)


def _free_tables(mix: PersonaMixture, k: int, F: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Cumulative predictive tables over event-free windows, without and with the prompt in view."""
    pinned = mix.prompt is not None and mix.prompt.mode == "pinned"
    with_prompt = (
        _cumulative(predictive_tables(mix, k, include_prompt=True, window_tokens=F)) if mix.prompt is not None else None
    )
    without = (
        _cumulative(predictive_tables(mix, k, include_prompt=False, window_tokens=F)) if not pinned else with_prompt
    )
    return without, with_prompt


def simulate_window(
    mix: PersonaMixture, k: int, n_traj: int, t_max: int, rng: np.random.Generator, events: Events = "revealing"
) -> FirstEvents:
    """First event of the window-k reader generating from a document start (vectorised).

    Only event-free windows are ever visited before the first event, so the tables enumerate those
    (``|F|^k`` windows over the non-event tokens ``F``: one per length for the binary alphabet).
    """
    _check_sizes(n_traj, t_max, k)
    V = mix.alphabet.size
    D = event_mask(mix, events)
    F = np.flatnonzero(~D)
    nf = F.size
    pos = np.zeros(V, dtype=np.int64)
    pos[F] = np.arange(nf)
    code = np.full(V, -1, dtype=np.int8)
    code[mix.alphabet.is_revealing() & D] = 0
    code[mix.alphabet.is_collapse() & D] = 1
    no_prompt, prompted = _free_tables(mix, k, F)
    n_full = nf**k
    time = np.full(n_traj, t_max, dtype=np.int64)
    cls = np.full(n_traj, -1, dtype=np.int8)
    alive = np.arange(n_traj)
    idx = np.zeros(n_traj, dtype=np.int64)
    steps = 0
    for t in range(t_max):
        if alive.size == 0:
            break
        j = min(t, k)
        view = mix.prompt is not None and mix.prompt.in_view(t, k)
        cum = (prompted if view else no_prompt)[j]
        x = _sample(cum[idx], rng.random(alive.size))
        steps += alive.size
        hit = D[x]
        if hit.any():
            time[alive[hit]] = t
            cls[alive[hit]] = code[x[hit]]
            keep = ~hit
            alive, idx, x = alive[keep], idx[keep], x[keep]
        if nf > 1:
            idx = idx * nf + pos[x]
            if t + 1 >= k:
                idx %= n_full
    observed = cls >= 0
    return FirstEvents(time, observed, cls, t_max, steps)


def simulate_unbounded(
    mix: PersonaMixture, n_traj: int, t_max: int, rng: np.random.Generator, events: Events = "revealing"
) -> FirstEvents:
    """First event of the full-history reader (exact recursive Bayes filter per trajectory)."""
    _check_sizes(n_traj, t_max)
    comps = mix.components(include_prompt=True)
    h = comps.hazard
    Em, Ep, Ed = comps.emit_masked, comps.emit_post, comps.emit_defect
    V = mix.alphabet.size
    D = event_mask(mix, events)
    code = np.full(V, -1, dtype=np.int8)
    code[mix.alphabet.is_revealing() & D] = 0
    code[mix.alphabet.is_collapse() & D] = 1
    m = np.tile(np.exp(comps.log_prior - comps.log_prior.max()), (n_traj, 1))
    p = np.zeros_like(m)
    EmT, EpT, EdT = (np.ascontiguousarray(E.T) for E in (Em, Ep, Ed))  # (V, C): row gather per token
    time = np.full(n_traj, t_max, dtype=np.int64)
    cls = np.full(n_traj, -1, dtype=np.int8)
    alive = np.arange(n_traj)
    steps = 0
    for t in range(t_max):
        if alive.size == 0:
            break
        stay = m * (1.0 - h)  # masked mass that does not defect this step
        defect = m - stay  # masked mass that defects now (emits from Ed)
        pred = stay @ Em + defect @ Ed + p @ Ep
        cum = np.cumsum(pred, axis=1)
        u = rng.random(alive.size) * cum[:, -1]
        x = (u[:, None] >= cum[:, :-1]).sum(axis=1)
        steps += alive.size
        m, p = stay * EmT[x], p * EpT[x] + defect * EdT[x]
        if t % 8 == 7:  # rescale now and then (ratios are all that matter)
            s = (m + p).max(axis=1, keepdims=True)
            m /= s
            p /= s
        hit = D[x]
        if hit.any():
            time[alive[hit]] = t
            cls[alive[hit]] = code[x[hit]]
            keep = ~hit
            alive, m, p = alive[keep], m[keep], p[keep]
    return FirstEvents(time, cls >= 0, cls, t_max, steps)


@dataclass(frozen=True)
class ExitTimes:
    time: np.ndarray  # int64 (n,): steps from entering the waluigi class until no revealing token is in view
    observed: np.ndarray  # bool (n,): False if still inside at t_max (censored)
    token_steps: int


def simulate_exit(
    mix: PersonaMixture, k: int, n_traj: int, t_max: int, rng: np.random.Generator, entry_budget: int = 1_000_000
) -> ExitTimes:
    """Exit time from the waluigi class of the window-k reader.

    Each trajectory starts at a full window of uniformly drawn neutral tokens (the stationary law of
    the clean chain, neutral tokens being exchangeable), runs until its first revealing token (entry),
    then counts steps until the window holds no revealing token (exit), censored at ``t_max``.
    """
    _check_sizes(n_traj, t_max, k)
    V = mix.alphabet.size
    n_full = V**k
    pinned = mix.prompt is not None and mix.prompt.mode == "pinned"
    cum = _cumulative([predictive_tables(mix, k, include_prompt=pinned)[k]])[0]
    reveal = mix.alphabet.is_revealing()
    powers = V ** np.arange(k - 1, -1, -1, dtype=np.int64)
    neutral = np.asarray(mix.alphabet.neutral)
    idx = neutral[rng.integers(0, neutral.size, size=(n_traj, k))] @ powers
    steps = 0
    # phase 1: wait for the first revealing token (all trajectories, vectorised)
    pending = np.arange(n_traj)
    for _ in range(entry_budget):
        if pending.size == 0:
            break
        x = _sample(cum[idx[pending]], rng.random(pending.size))
        steps += pending.size
        idx[pending] = (idx[pending] * V + x) % n_full
        pending = pending[~reveal[x]]
    if pending.size:
        raise ValueError(
            f"{pending.size} trajectories never entered the waluigi class within {entry_budget} "
            "steps; the hazard floor is too small for a Monte Carlo of exits"
        )
    # phase 2: steps until the window is clean of revealing tokens
    wins = (np.arange(n_full)[:, None] // powers) % V
    has_rev = reveal[wins].any(axis=1)
    time = np.full(n_traj, t_max, dtype=np.int64)
    alive = np.arange(n_traj)
    cur = idx.copy()
    for t in range(1, t_max + 1):
        if alive.size == 0:
            break
        x = _sample(cum[cur], rng.random(alive.size))
        steps += alive.size
        cur = (cur * V + x) % n_full
        out = ~has_rev[cur]
        if out.any():
            time[alive[out]] = t
            alive, cur = alive[~out], cur[~out]
    observed = np.ones(n_traj, bool)
    observed[alive] = False
    return ExitTimes(time, observed, steps)


def naive_window_loop(
    mix: PersonaMixture, k: int, n_traj: int, t_max: int, rng: np.random.Generator, events: Events = "revealing"
) -> FirstEvents:
    """The per-trajectory, per-step Python loop (same tables): the benchmark baseline and a cross-check."""
    _check_sizes(n_traj, t_max, k)
    V = mix.alphabet.size
    D = event_mask(mix, events)
    tables = [t.tolist() for t in predictive_tables(mix, k, include_prompt=False)]
    n_full = V**k
    time = np.full(n_traj, t_max, dtype=np.int64)
    cls = np.full(n_traj, -1, dtype=np.int8)
    steps = 0
    for i in range(n_traj):
        idx = 0
        for t in range(t_max):
            row = tables[min(t, k)][idx]
            u, acc, x = rng.random(), 0.0, V - 1
            for tok in range(V - 1):
                acc += row[tok]
                if u < acc:
                    x = tok
                    break
            steps += 1
            if D[x]:
                time[i], cls[i] = t, 0 if mix.alphabet.is_revealing()[x] else 1
                break
            idx = idx * V + x
            if t + 1 >= k:
                idx %= n_full
    return FirstEvents(time, cls >= 0, cls, t_max, steps)


# ------------------------------------------------------------------------------ survival analysis
@dataclass(frozen=True)
class KaplanMeier:
    t: np.ndarray  # 0..t_max
    survival: np.ndarray  # S(t) = P(T >= t)
    stderr: np.ndarray  # Greenwood
    lower: np.ndarray  # log(-log) band
    upper: np.ndarray
    at_risk: np.ndarray  # n(t): trajectories with T >= t
    events: np.ndarray  # d(t): events at t


def kaplan_meier(time, observed, t_max: int, level: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier S(t) = prod_{s<t} (1 - d_s/n_s) with Greenwood s.e. and log(-log) band."""
    time = np.asarray(time, dtype=np.int64)
    observed = np.asarray(observed, dtype=bool)
    if time.shape != observed.shape:
        raise ValueError("time and observed must have the same shape")
    d = np.bincount(time[observed], minlength=t_max + 1)[: t_max + 1].astype(float)
    left = np.bincount(np.minimum(time, t_max), minlength=t_max + 1)[: t_max + 1]
    n = (time.size - np.concatenate([[0], np.cumsum(left)[:-1]])).astype(float)  # T >= s
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n > 0, d / n, 0.0)
        gw = np.where((n > d) & (n > 0), d / (n * (n - d)), 0.0)
    S = np.concatenate([[1.0], np.cumprod(1.0 - frac)[:-1]])
    V = np.concatenate([[0.0], np.cumsum(gw)[:-1]])
    se = S * np.sqrt(V)
    z = norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        logS = np.log(S)
        sig = np.sqrt(V) / np.abs(logS)
        ll = np.log(-logS)
        lower = np.exp(-np.exp(ll + z * sig))
        upper = np.exp(-np.exp(ll - z * sig))
    ok = (S > 0) & (S < 1)
    lower = np.where(ok, lower, S)
    upper = np.where(ok, upper, S)
    return KaplanMeier(np.arange(t_max + 1), S, se, lower, upper, n, d)


def constant_hazard(time, observed, t_from: int, t_to: int) -> tuple[float, float, int]:
    """MLE of a constant per-step hazard on steps [t_from, t_to): events / exposure, its s.e., exposure."""
    time = np.asarray(time, dtype=np.int64)
    observed = np.asarray(observed, dtype=bool)
    at = time >= t_from
    # exposure: steps s in [t_from, min(T, t_to-1)] during which the trajectory was at risk
    last = np.minimum(np.where(observed[at], time[at], time[at] - 1), t_to - 1)
    exposure = int(np.maximum(last - t_from + 1, 0).sum())
    ev = int((observed[at] & (time[at] < t_to)).sum())
    if exposure == 0:
        return float("nan"), float("nan"), 0
    lam = ev / exposure
    return lam, float(np.sqrt(max(lam * (1 - lam), 1e-300) / exposure)), exposure
