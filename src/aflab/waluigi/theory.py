"""Closed forms for the Bayes-mixture reader over personas, with unbounded memory and with window k.

Notation (derivations in ``docs/waluigi.md``). A mixture component c (persona x hazard type) has
prior weight w_c (after the system prompt when it is in view), hazard h_c (0 for a luigi),
masked/post emission rows. For an *event set* D of tokens ("revealing" = the waluigi shows, or
"departure" = any non-neutral token) let

    q_m = P(masked emits no D token),  q_p = P(post emits no D token),  alpha = (1-h) q_m,  beta = q_p.

Masses of the event-free prefixes of length t (tokens emitted after the hazard step):

    A_t = alpha^t                                        (still masked)
    B_t = h q_d (beta^t - alpha^t) / (beta - alpha)      (defected, D not yet emitted;  = h q_d t alpha^(t-1) if equal)

with q_d = P(the defection step's own token is not an event) (= beta unless ``r_defect`` is set: the
comment's three-state persona, revealed at the moment it defects, has q_d = 0 for revealing events).

Unbounded memory: generation by self-conditioning on the full history samples the mixture itself, so
    S(t) = sum_c w_c (A_t + B_t),       hazard lambda(t) = 1 - S(t+1)/S(t),
    P(ever) = 1 - sum_c w_c lim_t (A_t + B_t)   (< 1 whenever a luigi with delta = 0 has weight),
    E[T] = sum_{t>=0} S(t) = sum_c w_c [1/(1-alpha) + h q_d / ((1-alpha)(1-beta))]   (finite only if
           P(ever) = 1), T = the 1-based index of the first event token (= event-free tokens before it + 1).
Window k: the reader sees an event-free window of length min(t, k) *as a document start*, so the
hazard at step t >= k is frozen at the floor
    eps_k = lambda(k) > 0,       S_k(t) = S(k) (1 - eps_k)^(t-k)  ->  0,
    E[T_k] = sum_{t<k} S(t) + S(k) / eps_k.
Single type, r = 1, delta = 0:  eps_k = w h (1-h)^k / (w_L + w (1-h)^k)  ~  exponential in k.
Beta(a, b) hazards, r = 1, delta = 0:
    eps_k = w B(a+1, b+k)/B(a,b) / (w_L + w B(a, b+k)/B(a,b))  ~  Gamma(a+b)/Gamma(b) ... k^-(a+1): polynomial.
Exit from the waluigi class (delta = 0 everywhere, one shared reveal rate r): after a revealing token
the reader is certain of a defected waluigi while any revealing token is in the window, so it emits
i.i.d. Bernoulli(r) reveals until k non-revealing tokens in a row:
    E[exit] = (1 - q^k) / (r q^k),  q = 1 - r        (exponential in k: approximately absorbing).
Competing classes (first departure into class X among revealing/collapse tokens):
    unbounded  P(X) = sum_c w_c [(1-h) m_X / (1-alpha) + h d_X / (1-alpha) + h q_d p_X / ((1-alpha)(1-beta))]
               (m_X, d_X, p_X: P(token in X) from the masked state, the defection step, the post state)
    window k   P(X) = sum_{t<k} S(t) lambda_X(t) + S(k) lambda_X(k) / lambda(k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln

from aflab.waluigi.model import (
    Events,
    Luigi,
    PersonaMixture,
    Repetition,
    Waluigi,
    WaluigiPopulation,
    event_mask,
    warn_if_inexact,
)


def _check_window_closed_form(mix: PersonaMixture, events: Events) -> None:
    """Windowed closed forms need event-free windows to be all-neutral (exchangeable) windows."""
    if events == "revealing" and any(isinstance(p, Repetition) and p.rho > 0 for p in mix.personas):
        raise ValueError(
            "windowed closed forms for events='revealing' do not cover a repetition persona "
            "(collapse tokens are evidence); use events='departure' or the exact solver"
        )


def _as_k(k) -> int:
    if k is None:
        raise ValueError("k must be an integer >= 1 (None means unbounded memory: use the *_unbounded form)")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


@dataclass(frozen=True)
class _Rates:
    w: np.ndarray  # (C,) component weights (sum 1)
    h: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    masked_event: np.ndarray  # (C, V) masked emission restricted to event tokens
    post_event: np.ndarray
    persona: np.ndarray
    q_defect: np.ndarray  # (C,) P(the defection step's token is not an event)
    defect_event: np.ndarray  # (C, V) defection-step emission restricted to event tokens


def _rates(mix: PersonaMixture, events: Events, prompt_in_view: bool) -> _Rates:
    comps = mix.components(include_prompt=prompt_in_view)
    D = event_mask(mix, events)
    lp = comps.log_prior
    w = np.exp(lp - lp.max())
    w /= w.sum()
    h = comps.hazard
    qm = 1.0 - comps.emit_masked[:, D].sum(axis=1)
    qp = 1.0 - comps.emit_post[:, D].sum(axis=1)
    qd = 1.0 - comps.emit_defect[:, D].sum(axis=1)
    return _Rates(
        w, h, (1.0 - h) * qm, qp, comps.emit_masked * D, comps.emit_post * D, comps.persona, qd, comps.emit_defect * D
    )


def _clean_masses(rt: _Rates, t) -> tuple[np.ndarray, np.ndarray]:
    """A_t, B_t of shape (C, len(t)) (see module doc)."""
    t = np.asarray(t, dtype=float)[None, :]
    al, be, h, qd = rt.alpha[:, None], rt.beta[:, None], rt.h[:, None], rt.q_defect[:, None]
    A = al**t
    diff = be - al
    close = np.abs(diff) < 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        B_far = h * qd * (be**t - al**t) / np.where(close, 1.0, diff)
        B_near = h * qd * t * np.where(t > 0, al ** np.maximum(t - 1, 0), 0.0)
    B = np.where(close, B_near, B_far)
    return A, np.maximum(B, 0.0)


def _prompt_view(mix: PersonaMixture, t: np.ndarray, k: int | None) -> np.ndarray:
    if mix.prompt is None:
        return np.ones_like(t, dtype=bool)
    return np.array([mix.prompt.in_view(int(s), k) for s in t], dtype=bool)


# ----------------------------------------------------------------------------- unbounded memory
def survival_unbounded(mix: PersonaMixture, t, events: Events = "revealing") -> np.ndarray:
    """S(t) = P(no event token among the first t tokens), full-history reader (= the mixture itself)."""
    t = np.atleast_1d(np.asarray(t))
    if t.size:
        warn_if_inexact(mix, int(np.max(t)))
    rt = _rates(mix, events, True)
    A, B = _clean_masses(rt, t)
    return rt.w @ (A + B)


def hazard_unbounded(mix: PersonaMixture, t, events: Events = "revealing") -> np.ndarray:
    """lambda(t) = P(token t+1 is an event | t event-free tokens) = 1 - S(t+1)/S(t)."""
    t = np.atleast_1d(np.asarray(t))
    return _hazard_at_length(mix, t, np.ones(t.shape, bool), events)


def _hazard_at_length(
    mix: PersonaMixture, j: np.ndarray, in_view: np.ndarray, events: Events, token_class: np.ndarray | None = None
) -> np.ndarray:
    """Predictive probability of an event (or of tokens in ``token_class``) after j event-free tokens."""
    if j.size:
        warn_if_inexact(mix, int(np.max(j)))
    out = np.empty(j.shape, dtype=float)
    for flag in (True, False):
        sel = in_view == flag
        if not np.any(sel):
            continue
        rt = _rates(mix, events, flag)
        A, B = _clean_masses(rt, j[sel])
        cls = np.ones(mix.alphabet.size, bool) if token_class is None else token_class
        pm = rt.masked_event[:, cls].sum(axis=1)[:, None]
        pp = rt.post_event[:, cls].sum(axis=1)[:, None]
        pd_ = rt.defect_event[:, cls].sum(axis=1)[:, None]
        num = rt.w @ (A * (1.0 - rt.h[:, None]) * pm + A * rt.h[:, None] * pd_ + B * pp)
        den = rt.w @ (A + B)
        out[sel] = num / den
    return out


def p_ever_unbounded(mix: PersonaMixture, events: Events = "revealing") -> float:
    """P(an event token ever appears) with unbounded memory = 1 - sum_c w_c lim_t (A_t + B_t)."""
    rt = _rates(mix, events, True)
    A_lim = np.where(rt.alpha >= 1.0, 1.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        B_lim = np.where((rt.beta >= 1.0) & (rt.alpha < 1.0), rt.h * rt.q_defect / (1.0 - rt.alpha), 0.0)
    return float(1.0 - rt.w @ (A_lim + B_lim))


def expected_time_unbounded(mix: PersonaMixture, events: Events = "revealing") -> float:
    """E[T], T = the 1-based index of the first event token (= sum_{t>=0} S(t)); inf when P(ever) < 1."""
    rt = _rates(mix, events, True)
    if np.any((rt.w > 0) & ((rt.alpha >= 1.0) | (rt.beta >= 1.0))):
        return float("inf")
    return float(rt.w @ (1.0 / (1.0 - rt.alpha) + rt.h * rt.q_defect / ((1.0 - rt.alpha) * (1.0 - rt.beta))))


def log_odds_trajectory(mix: PersonaMixture, t, k: int | None = None) -> np.ndarray:
    """Posterior log-odds (waluigi personas : luigi personas) after t neutral tokens; window k or full.

    With a window the reader sees min(t, k) tokens, so the log-odds stop falling at t = k.
    """
    t = np.atleast_1d(np.asarray(t))
    j = t if k is None else np.minimum(t, _as_k(k))
    view = _prompt_view(mix, t, k)
    wal = np.array([isinstance(mix.personas[i], (Waluigi, WaluigiPopulation)) for i in range(mix.n_personas)])
    lui = np.array([isinstance(p, Luigi) for p in mix.personas])
    if not wal.any() or not lui.any():
        raise ValueError("log-odds need at least one luigi and one waluigi persona in the mixture")
    out = np.empty(t.shape)
    for flag in (True, False):
        sel = view == flag
        if not np.any(sel):
            continue
        rt = _rates(mix, "departure", flag)
        A, B = _clean_masses(rt, j[sel])
        mass = (A + B) * rt.w[:, None]
        num = mass[wal[rt.persona]].sum(axis=0)
        den = mass[lui[rt.persona]].sum(axis=0)
        with np.errstate(divide="ignore"):
            out[sel] = np.log(num) - np.log(den)
    return out


# ----------------------------------------------------------------------------- window k
def _homogeneous_from(mix: PersonaMixture, k: int) -> int:
    """First step t0 from which the windowed hazard is constant (prompt fully gone or pinned)."""
    if mix.prompt is not None and mix.prompt.mode == "sliding" and mix.prompt.length == 0:
        return k + 1
    return k


def hazard_floor(mix: PersonaMixture, k: int, events: Events = "revealing") -> float:
    """eps_k: the constant per-step hazard of a full event-free window of k tokens (t >= k)."""
    k = _as_k(k)
    _check_window_closed_form(mix, events)
    in_view = mix.prompt is not None and mix.prompt.mode == "pinned"
    return float(_hazard_at_length(mix, np.array([k]), np.array([in_view or mix.prompt is None]), events)[0])


def class_hazard_at_length(mix: PersonaMixture, k: int, token_class: np.ndarray) -> float:
    """lambda_X(k): P(next token is in ``token_class`` | a full window of k neutral tokens), prompt as at the floor.

    With ``token_class`` = the collapse tokens and events = departures, ``lambda_X(k) / eps_k`` is the
    share of class X among the departures on the floor (t >= k).
    """
    k = _as_k(k)
    in_view = mix.prompt is None or mix.prompt.mode == "pinned"
    cls = np.asarray(token_class, dtype=bool)
    return float(_hazard_at_length(mix, np.array([k]), np.array([in_view]), "departure", cls)[0])


def hazard_window(mix: PersonaMixture, t, k: int, events: Events = "revealing") -> np.ndarray:
    """Per-step hazard at step t (t event-free tokens so far) for the window-k reader."""
    k = _as_k(k)
    _check_window_closed_form(mix, events)
    t = np.atleast_1d(np.asarray(t))
    j = np.minimum(t, k)
    return _hazard_at_length(mix, j, _prompt_view(mix, np.minimum(t, k + 1), k), events)


def survival_window(mix: PersonaMixture, t, k: int, events: Events = "revealing") -> np.ndarray:
    """S_k(t) = prod_{s<t} (1 - hazard_window(s)) = S_k(t0) (1 - eps_k)^(t - t0) for t >= t0."""
    k = _as_k(k)
    t = np.atleast_1d(np.asarray(t, dtype=np.int64))
    t0 = _homogeneous_from(mix, k)
    lam = hazard_window(mix, np.arange(t0), k, events)
    logS_head = np.concatenate([[0.0], np.cumsum(np.log1p(-lam))])
    eps = hazard_floor(mix, k, events)
    steps = np.maximum(t - t0, 0)
    tail = np.where(steps > 0, steps * (np.log1p(-eps) if eps < 1 else -np.inf), 0.0)
    return np.exp(logS_head[np.minimum(t, t0)] + tail)


def expected_time_window(mix: PersonaMixture, k: int, events: Events = "revealing") -> float:
    """E[T_k] = sum_{t<t0} S_k(t) + S_k(t0) / eps_k, T_k = the 1-based index of the first event token."""
    k = _as_k(k)
    t0 = _homogeneous_from(mix, k)
    S = survival_window(mix, np.arange(t0 + 1), k, events)
    eps = hazard_floor(mix, k, events)
    if eps <= 0:
        return float("inf") if S[t0] > 0 else float(S[:t0].sum())
    return float(S[:t0].sum() + S[t0] / eps)


# ----------------------------------------------------------------------------- hazard vs k
def hazard_floor_single(h: float, w_waluigi: float, k) -> np.ndarray:
    """eps_k for luigi + one waluigi type, r = 1, delta = 0: w h (1-h)^k / (1 - w + w (1-h)^k)."""
    k = np.asarray(k, dtype=float)
    q = (1.0 - h) ** k
    return w_waluigi * h * q / (1.0 - w_waluigi + w_waluigi * q)


def hazard_floor_beta(a: float, b: float, w_waluigi: float, k) -> np.ndarray:
    """eps_k for luigi + a Beta(a, b) population, r = 1, delta = 0 (Beta-function closed form)."""
    k = np.asarray(k, dtype=float)
    surv = np.exp(betaln(a, b + k) - betaln(a, b))
    reveal = np.exp(betaln(a + 1.0, b + k) - betaln(a, b))
    return w_waluigi * reveal / (1.0 - w_waluigi + w_waluigi * surv)


def asymptotic_slopes(h: float | None = None, a: float | None = None) -> dict[str, float]:
    """Asymptotic fit targets: d log eps_k / dk = log(1-h) (one type); d log eps / d log k = -(a+1) (Beta)."""
    out = {}
    if h is not None:
        out["exp_slope"] = float(np.log1p(-h))
    if a is not None:
        out["power_exponent"] = float(-(a + 1.0))
    return out


@dataclass(frozen=True)
class LineFit:
    slope: float
    intercept: float
    r2: float
    slope_se: float


def fit_line(x, y) -> LineFit:
    """Least-squares line y = intercept + slope x with R^2 and the slope's standard error."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3:
        raise ValueError("a line fit needs at least 3 points")
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    ss_res, ss_tot = float(resid @ resid), float(((y - y.mean()) ** 2).sum())
    s2 = ss_res / max(x.size - 2, 1)
    se = float(np.sqrt(s2 / ((x - x.mean()) ** 2).sum()))
    return LineFit(float(coef[1]), float(coef[0]), 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0, se)


def fit_exponential_and_power(k, eps) -> dict[str, LineFit]:
    """Fit log eps = c + s k (exponential) and log eps = c + e log k (power law)."""
    k, eps = np.asarray(k, float), np.asarray(eps, float)
    return {"exponential": fit_line(k, np.log(eps)), "power": fit_line(np.log(k), np.log(eps))}


# ----------------------------------------------------------------------------- exit / occupancy
def shared_reveal_rate(mix: PersonaMixture) -> float:
    """The common r of all waluigi personas; ValueError when the exit closed form does not apply."""
    if any(p.delta > 0 for p in mix.personas):
        raise ValueError("the exit-time closed form needs delta = 0 for every persona (no accidental reveals)")
    rs = {p.r for p in mix.personas if isinstance(p, (Waluigi, WaluigiPopulation))}
    if len(rs) != 1:
        raise ValueError(f"the exit-time closed form needs exactly one shared reveal rate r, got {sorted(rs)}")
    return float(rs.pop())


def exit_time_mean(r: float, k) -> np.ndarray:
    """E[steps to leave the waluigi class] = (1 - q^k)/(r q^k), q = 1 - r (a run of k non-reveals)."""
    k = np.asarray(k, dtype=float)
    if not 0 < r < 1:
        return np.full(k.shape, np.inf if r >= 1 else 1.0 * k)
    q = 1.0 - r
    return (1.0 - q**k) / (r * q**k)


def exit_time_var(r: float, k) -> np.ndarray:
    """Var of the waiting time for k consecutive non-reveals (prob q each): standard run formula."""
    k = np.asarray(k, dtype=float)
    q = 1.0 - r
    # Feller (1968) XIII.7: runs of k "successes" (prob q), failure prob r
    m = r * q**k
    return 1.0 / m**2 - (2 * k + 1) / m - q / r**2


def exit_time_pmf(r: float, k: int, t_max: int) -> np.ndarray:
    """P(exit at step t), t = 0..t_max, by the run-length recursion (state = trailing non-reveals)."""
    k = _as_k(k)
    q = 1.0 - r
    dist = np.zeros(k)
    dist[0] = 1.0
    pmf = np.zeros(t_max + 1)
    for t in range(1, t_max + 1):
        new = np.zeros(k)
        new[0] = r * dist.sum()
        new[1:] = q * dist[:-1]
        pmf[t] = q * dist[-1]
        dist = new
    return pmf


def waluigi_occupancy(mix: PersonaMixture, k: int) -> float:
    """Long-run fraction of steps whose window holds a revealing token (renewal through the clean window).

    Cycle = clean sojourn (geometric, mean 1/eps_k) + exit time; valid with delta = 0, shared r < 1.
    """
    r = shared_reveal_rate(mix)
    ex = float(exit_time_mean(r, k))
    return ex / (ex + 1.0 / hazard_floor(mix, k))


# ----------------------------------------------------------------------------- competing classes
def departure_split_unbounded(mix: PersonaMixture) -> dict[str, float]:
    """P(first non-neutral token is revealing / collapse / never), full-history reader."""
    rt = _rates(mix, "departure", True)
    a = mix.alphabet
    out = {}
    for name, cls in (("revealing", a.is_revealing()), ("collapse", a.is_collapse())):
        m_x = rt.masked_event[:, cls].sum(axis=1)
        p_x = rt.post_event[:, cls].sum(axis=1)
        d_x = rt.defect_event[:, cls].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            term_m = np.where(m_x > 0, (1.0 - rt.h) * m_x / (1.0 - rt.alpha), 0.0)
            term_d = np.where(d_x > 0, rt.h * d_x / (1.0 - rt.alpha), 0.0)
            term_p = np.where(p_x > 0, rt.h * rt.q_defect * p_x / ((1.0 - rt.alpha) * (1.0 - rt.beta)), 0.0)
        out[name] = float(rt.w @ (term_m + term_d + term_p))
    out["never"] = max(0.0, 1.0 - out["revealing"] - out["collapse"])
    return out


def departure_split_window(mix: PersonaMixture, k: int) -> dict[str, float]:
    """P(first non-neutral token is revealing / collapse) for the window-k reader (sums to 1)."""
    k = _as_k(k)
    t0 = _homogeneous_from(mix, k)
    a = mix.alphabet
    steps = np.arange(t0)
    S = survival_window(mix, np.arange(t0 + 1), k, "departure")
    view = _prompt_view(mix, steps, k)
    j = np.minimum(steps, k)
    in_view_floor = mix.prompt is None or mix.prompt.mode == "pinned"
    total = hazard_floor(mix, k, "departure")
    out = {}
    for name, cls in (("revealing", a.is_revealing()), ("collapse", a.is_collapse())):
        lam_x = _hazard_at_length(mix, j, view, "departure", cls) if t0 else np.zeros(0)
        lam_x_floor = _hazard_at_length(mix, np.array([k]), np.array([in_view_floor]), "departure", cls)[0]
        out[name] = float(S[:t0] @ lam_x + S[t0] * lam_x_floor / total)
    return out


def departure_incidence_unbounded(mix: PersonaMixture, t_max: int) -> dict[str, np.ndarray]:
    """P(first non-neutral token is in class X and comes before token t), t = 0..t_max, full history."""
    rt = _rates(mix, "departure", True)
    a = mix.alphabet
    s = np.arange(t_max)
    A, B = _clean_masses(rt, s)
    out = {}
    for name, cls in (("revealing", a.is_revealing()), ("collapse", a.is_collapse())):
        m_x = rt.masked_event[:, cls].sum(axis=1)[:, None]
        p_x = rt.post_event[:, cls].sum(axis=1)[:, None]
        d_x = rt.defect_event[:, cls].sum(axis=1)[:, None]
        per_step = rt.w @ (A * (1.0 - rt.h[:, None]) * m_x + A * rt.h[:, None] * d_x + B * p_x)
        out[name] = np.concatenate([[0.0], np.cumsum(per_step)])
    return out


def departure_incidence_window(mix: PersonaMixture, k: int, t_max: int) -> dict[str, np.ndarray]:
    """P(first non-neutral token is in class X and comes before token t), t = 0..t_max, window k.

    Head sum_{s<t0} S(s) lambda_X(s), then S(t0) (lambda_X/lambda) (1 - (1-lambda)^(t-t0)) on the floor.
    """
    k = _as_k(k)
    t0 = _homogeneous_from(mix, k)
    a = mix.alphabet
    steps = np.arange(t0)
    S = survival_window(mix, np.arange(t0 + 1), k, "departure")
    view = _prompt_view(mix, steps, k)
    in_view_floor = mix.prompt is None or mix.prompt.mode == "pinned"
    lam = hazard_floor(mix, k, "departure")
    t = np.arange(t_max + 1)
    out = {}
    for name, cls in (("revealing", a.is_revealing()), ("collapse", a.is_collapse())):
        lam_x = _hazard_at_length(mix, np.minimum(steps, k), view, "departure", cls) if t0 else np.zeros(0)
        head = np.concatenate([[0.0], np.cumsum(S[:t0] * lam_x)])
        lam_x_floor = _hazard_at_length(mix, np.array([k]), np.array([in_view_floor]), "departure", cls)[0]
        tail = S[t0] * lam_x_floor / lam * (1.0 - (1.0 - lam) ** np.maximum(t - t0, 0))
        out[name] = head[np.minimum(t, t0)] + tail
    return out
