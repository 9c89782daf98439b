"""Personas as token sources, and the exact Bayes-mixture reader over them.

Source: "The Waluigi Effect (mega-post)", LessWrong 2023, and the comment thread under it
(an LLM as a high-order Markov model; waluigis as approximately absorbing classes).

Public API (stable; ``aflab.waluigi.transformer`` / ``lm_probe`` build on it)
--------------------------------------------------------------------------------
Alphabet
    ``TokenAlphabet(size, revealing=(1,), collapse=())`` -- tokens ``0..size-1``; ``revealing``
    tokens show the waluigi, ``collapse`` tokens are emitted by a mode-collapsed (repetition)
    persona, every other token is *neutral* (luigi-consistent). ``.neutral`` lists them.

Personas (frozen dataclasses; every persona is a two-state hidden Markov source)
    Each persona has a *masked* state (it emits like a luigi) and a *post* state. Per step it first
    moves masked -> post with its hazard, then emits from its current state. A document starts in
    the masked state, so the first token already comes from the post state with probability h.

    ``Luigi(delta=0)``            one state: a revealing token w.p. ``delta``, else a uniform neutral
                                  token.
    ``Waluigi(h, r=1, delta=0, r_defect=None)``
                                  masked: emits like ``Luigi(delta)``; defects with hazard
                                  ``h in (0,1]``; post: a revealing token w.p. ``r``, else neutral.
                                  The token emitted *at* the defection step is revealing w.p.
                                  ``r_defect`` (None: ``r``, so with r < 1 a defection can be silent;
                                  1: the comment's three-state persona -- hidden, revealed at the
                                  moment it defects, then revealing each later token w.p. ``r``).
    ``WaluigiPopulation(prior, r=1, delta=0)``
                                  a waluigi whose hazard is drawn once per document from ``prior``:
                                  ``DiscreteHazardPrior(hazards, weights)`` or ``BetaHazardPrior(a, b,
                                  n_nodes)``. The Beta prior is discretised on the ``n_nodes``
                                  Gauss-Jacobi nodes of weight ``h^(a-1)(1-h)^(b-1)``; because the
                                  likelihood of ``t`` tokens is a polynomial of degree <= t+1 in h,
                                  the discretised reader is *exact* for windows of up to
                                  ``2*n_nodes - 2`` tokens (``BetaHazardPrior.exact_up_to``).
    ``Repetition(g, rho=1, delta=0)``
                                  mode collapse: masked like a luigi, collapses with hazard ``g``,
                                  then emits a collapse token w.p. ``rho``, else neutral.
    ``SystemPrompt(log_evidence, mode="pinned"|"sliding", length=0)``
                                  a prompt as fixed evidence: ``log P(prompt | persona i)`` per persona
                                  (only differences matter). ``pinned``: the reader always sees it;
                                  ``sliding``: the prompt occupies ``length`` tokens of a ``k``-token
                                  context and is seen only while ``t + length <= k`` (``t`` tokens
                                  generated so far). It enters the reader as ``log prior + evidence``.

Mixture
    ``PersonaMixture(personas, weights, alphabet=TokenAlphabet(2), prompt=None)`` -- validated:
    weights >= 0 summing to 1, hazards in (0, 1], probabilities in [0, 1], every persona's token
    classes present in the alphabet, prompt evidence of the right length; bad input raises a
    ``ValueError`` naming the field and the fix. ``standard_mixture(...)`` builds the usual
    luigi + waluigi (+ repetition) mixture.

Sampling and the reader (vectorised; windows are int arrays, ``-1`` = left padding)
    ``sample_documents(mixture, n_docs, length, rng, condition_on_prompt=False, return_personas=False)``
        -> ``int64 (n_docs, length)``: a persona (and a hazard type) per document from the *true*
        mixture (continuous Beta draws for a Beta prior), then its tokens.
    ``bayes_predictive(mixture, windows, include_prompt=True)`` -> ``float (..., alphabet.size)``:
        the exact Bayes-mixture next-token distribution given each window, the window read as the
        start of a document (``windows``: ``(..., k)``; ``-1`` entries on the left = shorter window).
    ``posterior(mixture, windows, include_prompt=True)`` -> ``float (..., n_personas)``.
    ``predictive_tables(mixture, k, include_prompt=True, window_tokens=None)`` -> ``[T_0, ..., T_k]``
        with ``T_j (V^j, V)`` the predictive for every window of length ``j``; row index = base-``V``
        number of the window, oldest token most significant (``window_index``/``index_windows``);
        ``window_tokens=F`` enumerates only windows over the sub-alphabet ``F`` (base ``|F|``).
    A window with probability 0 under every persona gets the empty-window (prior) answer.

Bayes rule used (per component c = persona x hazard type, masked mass m, post mass p; Ed = the
emission of the defection step, = Ep unless ``r_defect`` is set):
    start m = prior_c, p = 0; per token x: m <- m (1-h_c) Em_c[x],  p <- p Ep_c[x] + m h_c Ed_c[x];
    P(next = x | window) = sum_c [m (1-h_c) Em_c[x] + m h_c Ed_c[x] + p Ep_c[x]] / sum_c (m + p).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy.special import roots_jacobi

_WEIGHT_TOL = 1e-9


def _check_prob(name: str, value: float, *, low_open: bool = False, high_open: bool = False) -> None:
    lo_ok = value > 0 if low_open else value >= 0
    hi_ok = value < 1 if high_open else value <= 1
    if not (np.isfinite(value) and lo_ok and hi_ok):
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {lo}0, 1{hi}, got {value!r}; pass a probability in that range")


# ----------------------------------------------------------------------------------- alphabet
@dataclass(frozen=True)
class TokenAlphabet:
    """Tokens ``0..size-1``; ``revealing`` show the waluigi, ``collapse`` are mode-collapse tokens."""

    size: int = 2
    revealing: tuple[int, ...] = (1,)
    collapse: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if int(self.size) != self.size or self.size < 2:
            raise ValueError(f"alphabet.size must be an integer >= 2, got {self.size!r}")
        object.__setattr__(self, "revealing", tuple(int(t) for t in self.revealing))
        object.__setattr__(self, "collapse", tuple(int(t) for t in self.collapse))
        for name, toks in (("revealing", self.revealing), ("collapse", self.collapse)):
            bad = [t for t in toks if not 0 <= t < self.size]
            if bad:
                raise ValueError(
                    f"alphabet.{name} tokens {bad} are outside 0..{self.size - 1}; "
                    f"use token ids below alphabet.size={self.size}"
                )
            if len(set(toks)) != len(toks):
                raise ValueError(f"alphabet.{name} has repeated tokens {toks}")
        if set(self.revealing) & set(self.collapse):
            raise ValueError("alphabet.revealing and alphabet.collapse overlap; a token has one role")
        if not self.neutral:
            raise ValueError("alphabet has no neutral (luigi-consistent) token; enlarge alphabet.size")

    @property
    def neutral(self) -> tuple[int, ...]:
        used = set(self.revealing) | set(self.collapse)
        return tuple(t for t in range(self.size) if t not in used)

    def is_revealing(self) -> np.ndarray:
        """Boolean mask (size,) of revealing tokens."""
        mask = np.zeros(self.size, dtype=bool)
        mask[list(self.revealing)] = True
        return mask

    def is_collapse(self) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        mask[list(self.collapse)] = True
        return mask

    def emission(self, p_revealing: float = 0.0, p_collapse: float = 0.0) -> np.ndarray:
        """A distribution over tokens: revealing mass, collapse mass, rest uniform on neutral tokens."""
        out = np.zeros(self.size)
        if p_revealing > 0:
            out[list(self.revealing)] = p_revealing / len(self.revealing)
        if p_collapse > 0:
            out[list(self.collapse)] = p_collapse / len(self.collapse)
        out[list(self.neutral)] += (1.0 - p_revealing - p_collapse) / len(self.neutral)
        return out


# ----------------------------------------------------------------------------------- personas
@dataclass(frozen=True)
class Luigi:
    """The honest persona: a revealing token w.p. ``delta`` per step (often 0)."""

    delta: float = 0.0
    name: str = "luigi"

    def __post_init__(self) -> None:
        _check_prob(f"{self.name}.delta", self.delta, high_open=True)


@dataclass(frozen=True)
class Waluigi:
    """Mimics ``Luigi(delta)``, defects with hazard ``h`` per step, then reveals w.p. ``r`` per step."""

    h: float
    r: float = 1.0
    delta: float = 0.0
    name: str = "waluigi"
    r_defect: float | None = None

    def __post_init__(self) -> None:
        _check_prob(f"{self.name}.h", self.h, low_open=True)
        _check_prob(f"{self.name}.r", self.r)
        _check_prob(f"{self.name}.delta", self.delta, high_open=True)
        if self.r_defect is not None:
            _check_prob(f"{self.name}.r_defect", self.r_defect)


@dataclass(frozen=True)
class DiscreteHazardPrior:
    """A finite prior over waluigi hazards: ``hazards[i]`` with probability ``weights[i]``."""

    hazards: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "hazards", tuple(float(h) for h in self.hazards))
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        if not self.hazards:
            raise ValueError("hazard prior needs at least one hazard")
        if len(self.hazards) != len(self.weights):
            raise ValueError(
                f"hazard prior: {len(self.hazards)} hazards but {len(self.weights)} weights; give one weight per hazard"
            )
        for i, h in enumerate(self.hazards):
            _check_prob(f"hazard prior hazards[{i}]", h, low_open=True)
        _check_weights("hazard prior weights", self.weights)

    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.hazards), np.asarray(self.weights)


@dataclass(frozen=True)
class BetaHazardPrior:
    """Hazard ``h ~ Beta(a, b)``; the reader uses ``n_nodes`` Gauss-Jacobi nodes (exact, see module doc)."""

    a: float
    b: float
    n_nodes: int = 24

    def __post_init__(self) -> None:
        for nm in ("a", "b"):
            v = getattr(self, nm)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"Beta hazard prior: {nm} must be > 0, got {v!r}")
        if int(self.n_nodes) != self.n_nodes or not 1 <= self.n_nodes <= 200:
            raise ValueError(f"Beta hazard prior: n_nodes must be an integer in 1..200, got {self.n_nodes!r}")

    @property
    def exact_up_to(self) -> int:
        """Longest window (in tokens) for which the quadrature reader equals the continuous prior."""
        return 2 * int(self.n_nodes) - 2

    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        return _jacobi_nodes(float(self.a), float(self.b), int(self.n_nodes))


class QuadratureWarning(UserWarning):
    """A Beta hazard prior read past its exact range (windows longer than ``2 n_nodes - 2`` tokens)."""


def warn_if_inexact(mix: PersonaMixture, length: int) -> None:
    """Warn when a window of ``length`` tokens exceeds a Beta prior's exact range (``2 n_nodes - 2``).

    The Gauss-Jacobi reader equals the continuous prior only up to that length; beyond it the error grows
    (11% on eps_64 with 5 nodes). Raise ``n_nodes`` to ``length // 2 + 1`` or more to stay exact.
    """
    import warnings

    for p in mix.personas:
        if isinstance(p, WaluigiPopulation) and isinstance(p.prior, BetaHazardPrior) and length > p.prior.exact_up_to:
            warnings.warn(
                f"{p.name}: windows of {length} tokens exceed the Beta quadrature's exact range "
                f"{p.prior.exact_up_to} (n_nodes={p.prior.n_nodes}); use n_nodes >= {length // 2 + 1}",
                QuadratureWarning,
                stacklevel=3,
            )


@lru_cache(maxsize=64)
def _jacobi_nodes(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    # weight (1-x)^(b-1) (1+x)^(a-1) on [-1, 1]  <->  h^(a-1) (1-h)^(b-1) with h = (1+x)/2
    x, w = roots_jacobi(n, b - 1.0, a - 1.0)
    h = np.clip((1.0 + x) / 2.0, 1e-300, 1.0)
    w = np.maximum(w, 0.0)
    return h, w / w.sum()


HazardPrior = DiscreteHazardPrior | BetaHazardPrior


@dataclass(frozen=True)
class WaluigiPopulation:
    """A waluigi whose hazard is drawn once per document from ``prior`` (a spread of waluigi types)."""

    prior: HazardPrior
    r: float = 1.0
    delta: float = 0.0
    name: str = "waluigi-population"
    r_defect: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.prior, (DiscreteHazardPrior, BetaHazardPrior)):
            raise ValueError(
                f"{self.name}.prior must be a DiscreteHazardPrior or BetaHazardPrior, got {type(self.prior).__name__}"
            )
        _check_prob(f"{self.name}.r", self.r)
        _check_prob(f"{self.name}.delta", self.delta, high_open=True)
        if self.r_defect is not None:
            _check_prob(f"{self.name}.r_defect", self.r_defect)


@dataclass(frozen=True)
class Repetition:
    """Mode collapse: mimics ``Luigi(delta)``, collapses with hazard ``g``, then emits collapse tokens w.p. ``rho``."""

    g: float
    rho: float = 1.0
    delta: float = 0.0
    name: str = "repetition"

    def __post_init__(self) -> None:
        _check_prob(f"{self.name}.g", self.g, low_open=True)
        _check_prob(f"{self.name}.rho", self.rho)
        _check_prob(f"{self.name}.delta", self.delta, high_open=True)


@dataclass(frozen=True)
class SystemPrompt:
    """A system prompt as fixed evidence ``log P(prompt | persona)``, pinned or sliding out of the window."""

    log_evidence: tuple[float, ...]
    mode: Literal["pinned", "sliding"] = "pinned"
    length: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "log_evidence", tuple(float(v) for v in self.log_evidence))
        if not all(np.isfinite(self.log_evidence)):
            raise ValueError("prompt.log_evidence must be finite log-likelihoods, one per persona")
        if self.mode not in ("pinned", "sliding"):
            raise ValueError(f"prompt.mode must be 'pinned' or 'sliding', got {self.mode!r}")
        if int(self.length) != self.length or self.length < 0:
            raise ValueError(f"prompt.length must be an integer >= 0, got {self.length!r}")

    def in_view(self, t: int, k: int | None) -> bool:
        """Is the prompt visible after ``t`` generated tokens with a ``k``-token window (None = unbounded)?"""
        return self.mode == "pinned" or k is None or t + self.length <= k


Persona = Luigi | Waluigi | WaluigiPopulation | Repetition


def _check_weights(name: str, weights: Sequence[float]) -> None:
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {tuple(weights)}")
    if abs(w.sum() - 1.0) > _WEIGHT_TOL:
        raise ValueError(f"{name} must sum to 1, got sum {w.sum():.12g}; normalise them (divide by the sum)")


# ----------------------------------------------------------------------------------- mixture
@dataclass(frozen=True)
class Components:
    """The mixture flattened to components c = (persona, hazard type), each a two-state source."""

    hazard: np.ndarray  # (C,) masked -> post per step (0 for a luigi)
    emit_masked: np.ndarray  # (C, V)
    emit_post: np.ndarray  # (C, V)
    emit_defect: np.ndarray  # (C, V) emission of the defection step itself
    log_prior: np.ndarray  # (C,) log(persona weight * type weight)
    persona: np.ndarray  # (C,) index of the persona this component belongs to

    @property
    def n(self) -> int:
        return int(self.hazard.shape[0])


@dataclass(frozen=True)
class PersonaMixture:
    """Personas with prior weights over a token alphabet, plus an optional system prompt."""

    personas: tuple[Persona, ...]
    weights: tuple[float, ...]
    alphabet: TokenAlphabet = field(default_factory=TokenAlphabet)
    prompt: SystemPrompt | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "personas", tuple(self.personas))
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        if not self.personas:
            raise ValueError("mixture.personas is empty; give at least one persona")
        for i, p in enumerate(self.personas):
            if not isinstance(p, (Luigi, Waluigi, WaluigiPopulation, Repetition)):
                raise ValueError(
                    f"mixture.personas[{i}] is a {type(p).__name__}; use Luigi, Waluigi, "
                    "WaluigiPopulation or Repetition"
                )
        if len(self.weights) != len(self.personas):
            raise ValueError(
                f"mixture has {len(self.personas)} personas but {len(self.weights)} weights; "
                "give one prior weight per persona"
            )
        _check_weights("mixture.weights", self.weights)
        if not isinstance(self.alphabet, TokenAlphabet):
            raise ValueError("mixture.alphabet must be a TokenAlphabet")
        a = self.alphabet
        for p in self.personas:
            needs_reveal = p.delta > 0 or (isinstance(p, (Waluigi, WaluigiPopulation)) and p.r > 0)
            if needs_reveal and not a.revealing:
                raise ValueError(
                    f"persona {p.name!r} emits revealing tokens but alphabet.revealing is empty; "
                    "add a revealing token to the alphabet"
                )
            if isinstance(p, Repetition) and p.rho > 0 and not a.collapse:
                raise ValueError(
                    f"persona {p.name!r} emits collapse tokens but alphabet.collapse is empty; "
                    "use e.g. TokenAlphabet(3, revealing=(1,), collapse=(2,))"
                )
        if self.prompt is not None:
            if not isinstance(self.prompt, SystemPrompt):
                raise ValueError("mixture.prompt must be a SystemPrompt or None")
            if len(self.prompt.log_evidence) != len(self.personas):
                raise ValueError(
                    f"prompt.log_evidence has {len(self.prompt.log_evidence)} entries for "
                    f"{len(self.personas)} personas; give one log-likelihood per persona"
                )

    @property
    def n_personas(self) -> int:
        return len(self.personas)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.personas)

    def components(self, include_prompt: bool = True) -> Components:
        return _components(self, bool(include_prompt and self.prompt is not None))

    def prompted_weights(self) -> np.ndarray:
        """Persona weights after the prompt evidence (the prior itself when there is no prompt)."""
        logw = np.log(np.maximum(np.asarray(self.weights), 1e-300))
        if self.prompt is not None:
            logw = logw + np.asarray(self.prompt.log_evidence)
        w = np.exp(logw - logw.max()) * (np.asarray(self.weights) > 0)
        return w / w.sum()


@lru_cache(maxsize=64)
def _components(mix: PersonaMixture, include_prompt: bool) -> Components:
    a = mix.alphabet
    hz, em, ep, ed, lp, who = [], [], [], [], [], []
    weights = mix.prompted_weights() if include_prompt else np.asarray(mix.weights)
    for i, (p, w) in enumerate(zip(mix.personas, weights)):
        masked = a.emission(p.delta)
        types, tw, post, defect = _persona_rows(a, p, masked)
        for h, v in zip(types, tw):
            if w <= 0 or v <= 0:
                continue
            hz.append(h), em.append(masked), ep.append(post), ed.append(defect)
            lp.append(np.log(w) + np.log(v)), who.append(i)
    comps = Components(
        np.asarray(hz, float),
        np.asarray(em),
        np.asarray(ep),
        np.asarray(ed),
        np.asarray(lp, float),
        np.asarray(who, dtype=np.int64),
    )
    for arr in (comps.hazard, comps.emit_masked, comps.emit_post, comps.emit_defect, comps.log_prior, comps.persona):
        arr.setflags(write=False)
    return comps


def _persona_rows(a: TokenAlphabet, p: Persona, masked: np.ndarray):
    """(hazard types, type weights, post emission, defection-step emission) of one persona."""
    if isinstance(p, Luigi):
        return np.array([0.0]), np.array([1.0]), masked, masked
    if isinstance(p, Repetition):
        post = a.emission(0.0, p.rho)
        return np.array([p.g]), np.array([1.0]), post, post
    post = a.emission(p.r)
    defect = post if p.r_defect is None else a.emission(p.r_defect)
    if isinstance(p, Waluigi):
        return np.array([p.h]), np.array([1.0]), post, defect
    types, tw = p.prior.nodes()
    return types, tw, post, defect


def standard_mixture(
    h: float = 0.05,
    r: float = 1.0,
    p_waluigi: float = 0.5,
    delta: float = 0.0,
    *,
    beta: tuple[float, float] | None = None,
    n_nodes: int = 24,
    g: float | None = None,
    p_repetition: float = 0.0,
    rho: float = 1.0,
    prompt: SystemPrompt | None = None,
    r_defect: float | None = None,
) -> PersonaMixture:
    """Luigi + waluigi (a single type with hazard ``h``, or a Beta(a, b) population) [+ repetition].

    ``r_defect=1`` gives the comment's three-state waluigi (revealed at the moment it defects).

    The alphabet is binary ``{0 neutral, 1 revealing}``, or ternary with ``2`` = collapse token when
    a repetition persona is included (``g`` given and ``p_repetition > 0``).
    """
    _check_prob("p_waluigi", p_waluigi)
    _check_prob("p_repetition", p_repetition)
    if p_waluigi + p_repetition > 1 + _WEIGHT_TOL:
        raise ValueError("p_waluigi + p_repetition must be <= 1 (the rest is the luigi's prior weight)")
    wal: Persona = (
        Waluigi(h, r, delta, r_defect=r_defect)
        if beta is None
        else WaluigiPopulation(BetaHazardPrior(beta[0], beta[1], n_nodes), r, delta, r_defect=r_defect)
    )
    personas: list[Persona] = [Luigi(delta), wal]
    weights = [1.0 - p_waluigi - p_repetition, p_waluigi]
    alphabet = TokenAlphabet(2, (1,))
    if g is not None and p_repetition > 0:
        personas.append(Repetition(g, rho, delta))
        weights.append(p_repetition)
        alphabet = TokenAlphabet(3, (1,), (2,))
    weights[0] = max(0.0, 1.0 - sum(weights[1:]))
    return PersonaMixture(tuple(personas), tuple(weights), alphabet, prompt)


# ----------------------------------------------------------------------------------- reader
def _as_windows(mix: PersonaMixture, windows) -> np.ndarray:
    w = np.asarray(windows)
    if w.ndim < 1:
        raise ValueError("windows must have shape (..., k) with k >= 1 token positions")
    if w.size and not np.issubdtype(w.dtype, np.integer):
        if not np.all(np.equal(np.mod(w, 1), 0)):
            raise ValueError("windows must hold integer token ids (-1 = left padding)")
        w = w.astype(np.int64)
    V = mix.alphabet.size
    if w.size and (w.min() < -1 or w.max() >= V):
        raise ValueError(
            f"windows hold token ids outside -1..{V - 1}; the mixture's alphabet has size {V} "
            "(alphabet mismatch: re-encode the tokens or enlarge the alphabet)"
        )
    return w.astype(np.int64, copy=False)


def _forward(comps: Components, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masked/post masses (B, C) after reading each window row (scaled per row; ratios are exact)."""
    B, k = windows.shape
    h = comps.hazard
    m = np.broadcast_to(np.exp(comps.log_prior - comps.log_prior.max()), (B, comps.n)).copy()
    p = np.zeros_like(m)
    emT, epT, edT = comps.emit_masked.T, comps.emit_post.T, comps.emit_defect.T  # (V, C)
    for t in range(k):
        x = windows[:, t]
        valid = (x >= 0)[:, None]
        xs = np.maximum(x, 0)
        m_new = m * (1.0 - h) * emT[xs]
        p_new = p * epT[xs] + m * h * edT[xs]
        m = np.where(valid, m_new, m)
        p = np.where(valid, p_new, p)
        s = (m + p).max(axis=1, keepdims=True)
        s[s <= 0] = 1.0
        m /= s
        p /= s
    return m, p


def _predict(comps: Components, m: np.ndarray, p: np.ndarray) -> np.ndarray:
    h = comps.hazard
    num = (m * (1.0 - h)) @ comps.emit_masked + (m * h) @ comps.emit_defect + p @ comps.emit_post
    tot = num.sum(axis=1, keepdims=True)
    bad = tot[:, 0] <= 0
    if np.any(bad):  # impossible window: fall back to the empty-window (prior) predictive
        m0 = np.exp(comps.log_prior - comps.log_prior.max())[None]
        num[bad] = _predict(comps, m0, np.zeros_like(m0))
        tot[bad] = 1.0
    return num / tot


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def bayes_predictive(mixture: PersonaMixture, windows, include_prompt: bool = True) -> np.ndarray:
    """Exact Bayes-mixture next-token distribution ``(..., V)`` given windows ``(..., k)`` (see module doc)."""
    w = _as_windows(mixture, windows)
    warn_if_inexact(mixture, w.shape[-1])
    comps = mixture.components(include_prompt)
    flat = w.reshape(int(np.prod(w.shape[:-1])), w.shape[-1])  # (B, 0) windows too
    out = np.empty((flat.shape[0], mixture.alphabet.size))
    for sl in _chunks(flat.shape[0], max(1, 2**21 // max(comps.n, 1))):
        m, p = _forward(comps, flat[sl])
        out[sl] = _predict(comps, m, p)
    return out.reshape(w.shape[:-1] + (mixture.alphabet.size,))


def posterior(mixture: PersonaMixture, windows, include_prompt: bool = True) -> np.ndarray:
    """Posterior over personas ``(..., n_personas)`` given windows ``(..., k)`` read as document starts."""
    w = _as_windows(mixture, windows)
    warn_if_inexact(mixture, w.shape[-1])
    comps = mixture.components(include_prompt)
    flat = w.reshape(int(np.prod(w.shape[:-1])), w.shape[-1])  # (B, 0) windows too
    out = np.empty((flat.shape[0], mixture.n_personas))
    prior = mixture.prompted_weights() if (include_prompt and mixture.prompt) else np.asarray(mixture.weights)
    for sl in _chunks(flat.shape[0], max(1, 2**21 // max(comps.n, 1))):
        m, p = _forward(comps, flat[sl])
        mass = m + p
        post = np.zeros((mass.shape[0], mixture.n_personas))
        np.add.at(post.T, comps.persona, mass.T)
        tot = post.sum(axis=1, keepdims=True)
        bad = tot[:, 0] <= 0
        post[bad] = prior
        tot[bad] = 1.0
        out[sl] = post / tot
    return out.reshape(w.shape[:-1] + (mixture.n_personas,))


def window_index(windows, V: int) -> np.ndarray:
    """Base-``V`` index of full windows ``(..., k)`` (oldest token most significant)."""
    w = np.asarray(windows, dtype=np.int64)
    powers = V ** np.arange(w.shape[-1] - 1, -1, -1, dtype=np.int64)
    return w @ powers


def index_windows(index, k: int, V: int) -> np.ndarray:
    """Inverse of :func:`window_index`: ``(..., k)`` windows of the given indices."""
    idx = np.asarray(index, dtype=np.int64)
    powers = V ** np.arange(k - 1, -1, -1, dtype=np.int64)
    return (idx[..., None] // powers) % V


def predictive_tables(
    mixture: PersonaMixture, k: int, include_prompt: bool = True, max_elements: int = 2**22, window_tokens=None
) -> list[np.ndarray]:
    """``[T_0..T_k]``: ``T_j (V^j, V)`` = Bayes predictive for every window of length ``j``.

    ``window_tokens`` (optional) restricts the windows to a sub-alphabet ``F`` (e.g. the event-free
    tokens): then ``T_j`` has ``|F|^j`` rows indexed in base ``|F|`` over ``F``'s order, and still
    ``V`` columns. Built by expanding the window tree level by level (cost ~ 2 |F|^k C), in
    contiguous blocks so memory stays below ``max_elements`` floats per array.
    """
    if int(k) != k or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    V = mixture.alphabet.size
    F = np.arange(V) if window_tokens is None else np.asarray(window_tokens, dtype=np.int64)
    if F.ndim != 1 or F.size == 0 or F.min() < 0 or F.max() >= V or len(set(F.tolist())) != F.size:
        raise ValueError(f"window_tokens must be distinct token ids in 0..{V - 1}")
    nf = F.size
    if nf**k > 2**26:
        raise ValueError(f"{nf}^{k} windows is too many for a table; lower k (at most 2^26 windows)")
    warn_if_inexact(mixture, k)
    comps = mixture.components(include_prompt)
    C = comps.n
    h = comps.hazard
    emA = comps.emit_masked[:, F]
    epA = comps.emit_post[:, F]
    edA = comps.emit_defect[:, F]
    V = nf  # the tree branches over F; predictive rows still cover the whole alphabet
    tables = [np.empty((V**j, mixture.alphabet.size)) for j in range(k + 1)]

    def expand(m: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # rows (R, C) -> (R*V, C): child index = row*V + x
        mv = (m * (1.0 - h))[:, None, :] * emA.T[None, :, :]
        pv = p[:, None, :] * epA.T[None, :, :] + (m * h)[:, None, :] * edA.T[None, :, :]
        R = m.shape[0]
        mv, pv = mv.reshape(R * V, C), pv.reshape(R * V, C)
        s = (mv + pv).max(axis=1, keepdims=True)
        s[s <= 0] = 1.0
        return mv / s, pv / s

    def descend(m, p, level, start):
        # fill tables[level..k] for the block of rows starting at `start` (in level units)
        tables[level][start : start + m.shape[0]] = _predict(comps, m, p)
        if level == k:
            return
        if m.shape[0] * V * C <= max_elements:
            m2, p2 = expand(m, p)
            descend(m2, p2, level + 1, start * V)
        else:
            step = max(1, max_elements // (V * C))
            for sl in _chunks(m.shape[0], step):
                m2, p2 = expand(m[sl], p[sl])
                descend(m2, p2, level + 1, (start + sl.start) * V)

    # a block may be handled twice at a level only through its own subtree: rows never overlap
    m0 = np.exp(comps.log_prior - comps.log_prior.max())[None, :]
    descend(m0, np.zeros_like(m0), 0, 0)
    return tables


# ----------------------------------------------------------------------------------- sampling
def sample_documents(
    mixture: PersonaMixture,
    n_docs: int,
    length: int,
    rng: np.random.Generator,
    condition_on_prompt: bool = False,
    return_personas: bool = False,
):
    """Documents ``int64 (n_docs, length)`` from the true mixture: persona (and hazard type) per document.

    With ``condition_on_prompt`` the persona is drawn from the prompt posterior instead of the prior.
    ``return_personas=True`` also returns ``(persona_index (n_docs,), hazard (n_docs,))``.
    """
    if int(n_docs) != n_docs or n_docs < 0:
        raise ValueError(f"n_docs must be an integer >= 0, got {n_docs!r}")
    if int(length) != length or length < 0:
        raise ValueError(f"length must be an integer >= 0, got {length!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator, e.g. np.random.default_rng(seed)")
    a = mixture.alphabet
    V = a.size
    weights = mixture.prompted_weights() if condition_on_prompt else np.asarray(mixture.weights)
    who = rng.choice(mixture.n_personas, size=n_docs, p=weights / weights.sum())
    hazard = np.zeros(n_docs)
    em = np.empty((n_docs, V))
    ep = np.empty((n_docs, V))
    ed = np.empty((n_docs, V))  # the defection step's own emission
    for i, p in enumerate(mixture.personas):
        sel = np.flatnonzero(who == i)
        if sel.size == 0:
            continue
        em[sel] = a.emission(p.delta)
        if isinstance(p, Luigi):
            ep[sel] = em[sel]
        elif isinstance(p, Waluigi):
            hazard[sel] = p.h
            ep[sel] = a.emission(p.r)
        elif isinstance(p, WaluigiPopulation):
            if isinstance(p.prior, BetaHazardPrior):
                hazard[sel] = rng.beta(p.prior.a, p.prior.b, size=sel.size)
            else:
                hs, ws = p.prior.nodes()
                hazard[sel] = rng.choice(hs, size=sel.size, p=ws / ws.sum())
            ep[sel] = a.emission(p.r)
        else:
            hazard[sel] = p.g
            ep[sel] = a.emission(0.0, p.rho)
        r_defect = getattr(p, "r_defect", None)
        ed[sel] = ep[sel] if r_defect is None else a.emission(r_defect)
    # defection step D (1-based, transition before emission); a luigi never defects
    with np.errstate(divide="ignore"):
        d = np.where(hazard > 0, rng.geometric(np.clip(hazard, 1e-300, 1.0)), np.iinfo(np.int64).max)
    cdfs = np.stack([np.cumsum(em, axis=1), np.cumsum(ep, axis=1), np.cumsum(ed, axis=1)])
    docs = draw_tokens(rng.random((n_docs, length)), cdfs, d)
    if return_personas:
        return docs, who, hazard
    return docs


def draw_tokens(u: np.ndarray, cdfs: np.ndarray, defect_step: np.ndarray) -> np.ndarray:
    """Tokens by inversion: ``x[i, t] = #{j < V-1 : u[i, t] >= C[j]}``, where ``C`` is document i's cumulative
    emission row before its defection step (``cdfs[0, i]``), at it (``cdfs[2, i]``) or after it (``cdfs[1, i]``);
    steps are 1-based and ``defect_step`` is ``D_i``.

    Two exact ways, the same tokens: every token compared with its own gathered row, or -- a document's rows
    being one of a few per persona -- a ``searchsorted`` per distinct row (exact: a row is non-decreasing).
    The second is 3.4x faster for 256 documents x 256 tokens (1.8 ms against 6.1: what training on fresh
    documents paid each step, 20% of a quick transformer-beyond-context cell); below 16k tokens its fixed cost
    (~1 ms, the distinct rows) loses, so the first is used (``benchmarks/bench_quick_sharing.py``)."""
    if u.size < 1 << 14:
        return _draw_tokens_gathered(u, cdfs, defect_step)
    return _draw_tokens_by_row(u, cdfs, defect_step)


def _token_phase(length: int, defect_step: np.ndarray) -> np.ndarray:
    """(n_docs, length): 0 before the defection step, 1 at it, 2 after it."""
    return np.clip(np.arange(1, length + 1)[None, :] - defect_step[:, None] + 1, 0, 2)


def _draw_tokens_gathered(u: np.ndarray, cdfs: np.ndarray, defect_step: np.ndarray) -> np.ndarray:
    n_docs, length = u.shape
    rows = cdfs[[0, 2, 1]][_token_phase(length, defect_step), np.arange(n_docs)[:, None]]  # (n, L, V)
    return np.minimum((u[:, :, None] >= rows[:, :, :-1]).sum(axis=2), cdfs.shape[2] - 1)


def _draw_tokens_by_row(u: np.ndarray, cdfs: np.ndarray, defect_step: np.ndarray) -> np.ndarray:
    n_docs, length = u.shape
    V = cdfs.shape[2]
    rows, inverse = np.unique(cdfs.reshape(-1, V), axis=0, return_inverse=True)
    row_of = inverse.reshape(3, n_docs)[[0, 2, 1]][_token_phase(length, defect_step), np.arange(n_docs)[:, None]]
    docs = np.empty((n_docs, length), dtype=np.int64)
    for r in range(rows.shape[0]):
        at = row_of == r
        docs[at] = np.searchsorted(rows[r, :-1], u[at], side="right")
    return np.minimum(docs, V - 1, out=docs)


Events = Literal["revealing", "departure"]


def event_mask(mix: PersonaMixture, events: Events) -> np.ndarray:
    """Boolean mask over the alphabet of the tokens that count as the event being timed.

    ``"revealing"``: the waluigi shows itself; ``"departure"``: any exit from the luigi-consistent
    class (revealing or mode-collapse tokens), for the competing-absorbing-classes analysis.
    """
    a = mix.alphabet
    if events == "revealing":
        return a.is_revealing()
    if events == "departure":
        return a.is_revealing() | a.is_collapse()
    raise ValueError(f"events must be 'revealing' or 'departure', got {events!r}")
