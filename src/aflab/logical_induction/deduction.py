"""Deductive processes (Garrabrant et al. 2016, def. 3.4.2) and the scenarios the audits run on.

A deductive process is a growing stream of sentences ``D_1 subset D_2 subset ...``; a
:class:`Scenario` fixes it day by day, together with the sentences the market is asked to price,
a class label per sentence (what pattern/frequency traders condition on), the ground truth where it
is known, and the exclusive-exhaustive blocks.

Built-in sources of facts: digits of pi (``mpmath``), primality (deterministic Miller-Rabin), the bits
of a seeded pseudorandom generator, plain observations, late-revealed outcomes of long computations,
and a propositional theory whose consequences the SAT back-end decides (a prover over the theory).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from aflab.logical_induction.sentences import (
    PriceAtom,
    Sentence,
    atom,
    conj,
    disj,
    exactly_one,
    implies,
    neg,
    parse,
    price_atom_meaning,
)


def pi_digits(n: int) -> np.ndarray:
    """The first ``n`` decimal digits of pi after the point (3.1415... -> 1, 4, 1, 5, ...), via mpmath."""
    import mpmath

    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    with mpmath.workdps(n + 20):
        text = mpmath.nstr(mpmath.pi, n + 15, strip_zeros=False)
    return np.array([int(c) for c in text.split(".")[1][:n]], dtype=np.int64)


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 3.3e24 (bases = first 13 primes)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def prg_bits(seed: int, n: int) -> np.ndarray:
    """``n`` bits of a seeded PCG64 generator (a pseudorandom sequence with frequency 1/2)."""
    return np.random.default_rng(seed).integers(0, 2, size=n)


@dataclass(frozen=True)
class Scenario:
    """A deductive process plus what to price: ``facts[n-1]`` / ``priced[n-1]`` are day n's."""

    name: str
    facts: tuple[tuple[Sentence, ...], ...]
    priced: tuple[tuple[Sentence, ...], ...]
    labels: dict = field(default_factory=dict)  # Sentence -> class label
    truth: dict = field(default_factory=dict)  # Sentence -> bool (ground truth if known)
    blocks: tuple[tuple[Sentence, ...], ...] = ()  # exclusive-exhaustive groups
    revealed_on: dict = field(default_factory=dict)  # Sentence -> day its truth is revealed

    @property
    def n_days(self) -> int:
        return len(self.priced)

    def label(self, s: Sentence) -> str:
        return self.labels.get(s, "other")

    @functools.cached_property
    def price_atoms(self) -> dict[Sentence, PriceAtom]:
        """The introspective atoms ``P_m(phi) > p`` this scenario mentions (in its facts or priced
        sentences, nested ones included), with their meanings, in order of first mention. The day loop
        settles each from the run's own price history the day after day m; nothing outside the scenario
        decides which atoms a run settles (see :func:`.sentences.price_atom_meaning`)."""
        out: dict[Sentence, PriceAtom] = {}
        for day in range(self.n_days):
            for s in self.facts[day] + self.priced[day]:
                for name in sorted(n for n in s.atoms if n.startswith("P_")):
                    a = atom(name)
                    meaning = price_atom_meaning(a) if a not in out else None
                    if meaning is not None:
                        out[a] = meaning
        return out


def digit_atom(place: int, digit: int) -> Sentence:
    return atom(f"pi_digit({place})={digit}")


def pi_scenario(
    n_days: int,
    window: int = 3,
    delay: int = 4,
    n_undecidable: int = 2,
    n_theorems: bool = True,
    negations: bool = True,
    digit_offset: int = 0,
    far_block: bool = False,
) -> Scenario:
    """Digits of pi, revealed late, plus provable-but-late theorems and undecidable sentences.

    Day n prices the 10 sentences ``pi_digit(p) = d`` for the ``window`` places ``p = n .. n+window-1``
    (an exclusive-exhaustive block each; the 'exactly one' axioms are in D from the day the place
    first appears), and learns the digit of place ``n - delay``. With ``n_theorems`` it also prices
    ``prime(p_n)`` for the n-th prime above 10^6 (class 'prime', always true, revealed ``2 delay``
    days later: provability induction) and ``~prime(q_n)`` for an odd composite q_n (class
    'composite_neg', also always true). ``n_undecidable`` atoms ``undecidable(i)`` are priced every day
    and never settled (non-dogmatism, convergence). With ``negations`` the negation of the first
    digit sentence of each new place is priced too (limit coherence). ``digit_offset`` shifts which
    digits of pi are used (place p reads digit p + offset); ``far_block`` adds the block of place
    10^6 + 1, priced every day and never revealed (convergence of a fixed sentence's price).
    """
    if n_days < 1 or window < 1 or delay < 0:
        raise ValueError("pi_scenario needs n_days >= 1, window >= 1, delay >= 0")
    digits = pi_digits(digit_offset + n_days + window + 2)[digit_offset:]
    facts: list[list[Sentence]] = [[] for _ in range(n_days)]
    priced: list[list[Sentence]] = [[] for _ in range(n_days)]
    labels, truth, revealed = {}, {}, {}
    blocks = []
    primes = _primes_above(10**6, n_days)
    undecidable = [atom(f"undecidable({i})") for i in range(n_undecidable)]
    for u in undecidable:
        labels[u] = "undecidable"
    far = ()
    if far_block:
        far = tuple(digit_atom(10**6 + 1, d) for d in range(10))
        facts[0].extend(exactly_one(far))
        blocks.append(far)
        for d, s_ in enumerate(far):
            labels[s_] = f"digit={d}"
    for day in range(1, n_days + 1):
        places = range(day, day + window)
        for p in places:
            block = tuple(digit_atom(p, d) for d in range(10))
            if day == 1 or p == day + window - 1:  # the place is new today
                facts[day - 1].extend(exactly_one(block))
                blocks.append(block)
                for d, s in enumerate(block):
                    labels[s] = f"digit={d}"
                    truth[s] = bool(digits[p - 1] == d)
                    revealed[s] = p + delay
                if negations:
                    ns = neg(block[0])
                    labels[ns] = "neg_digit"
                    truth[ns] = not truth[block[0]]
                    revealed[ns] = p + delay
            priced[day - 1].extend(block)
            if negations:
                priced[day - 1].append(neg(block[0]))
        place = day - delay
        if place >= 1:
            facts[day - 1].append(digit_atom(place, int(digits[place - 1])))
        if n_theorems:
            th = atom(f"prime({primes[day - 1]})")
            labels[th], truth[th], revealed[th] = "prime", True, day + 2 * delay
            comp = primes[day - 1] + 2 if not is_prime(primes[day - 1] + 2) else primes[day - 1] * 3
            nt = neg(atom(f"prime({comp})"))
            labels[nt], truth[nt], revealed[nt] = "composite_neg", True, day + 2 * delay
            for d in range(day, min(n_days, day + 2 * delay) + 1):
                priced[d - 1].extend([th, nt])
            if day + 2 * delay <= n_days:
                facts[day + 2 * delay - 1].extend([th, nt])
        priced[day - 1].extend(undecidable)
        priced[day - 1].extend(far)
    return Scenario("pi", tuple(map(tuple, facts)), tuple(map(tuple, priced)), labels, truth, tuple(blocks), revealed)


def _primes_above(start: int, count: int) -> list[int]:
    """The first ``count`` primes above the even number ``start`` (odd candidates only)."""
    primes: list[int] = []
    c = start + 1
    while len(primes) < count:
        if is_prime(c):
            primes.append(c)
        c += 2
    return primes


def observation_scenario(observations: list[str], priced: list[list[str]] | None = None) -> Scenario:
    """Plain observations: day n reveals the parsed sentence ``observations[n-1]`` and prices
    ``priced[n-1]`` (default: every sentence observed so far or later)."""
    obs = [parse(o) for o in observations]
    if priced is None:
        pr = [tuple(obs) for _ in obs]
    else:
        if len(priced) != len(obs):
            raise ValueError("priced must have one list of sentences per observation day")
        pr = [tuple(parse(x) for x in day) for day in priced]
    return Scenario("observations", tuple((o,) for o in obs), tuple(pr))


def linked_group_scenario(n_atoms: int, n_days: int = 4, prefix: str = "lg") -> Scenario:
    """One large linked group (the worlds back-end's scale case, issue 14): atoms ``a_0..a_{n-1}``
    linked by the facts ``a_i | a_{i+1}`` (revealed on days 1 and 2, half each: one component with
    Fibonacci(n + 2) consistent worlds on the atoms, 2.7e8 for n = 40), ``~a_0`` on day 3 (which
    decides ``a_1``), nothing after. Priced every day: every atom, ``a_i -> a_{i+1}`` (every third i),
    ``a_i & a_{i+1}`` (every second), ``a_i | ~a_{i+2}`` (every fifth), ``~a_i`` (every third) and
    ``a_0 & a_{n-1}`` -- all in the one component, so its projected worlds cannot be enumerated."""
    if n_atoms < 3:
        raise ValueError(f"a linked group needs at least 3 atoms, got {n_atoms}")
    a = [atom(f"{prefix}{i}") for i in range(n_atoms)]
    ors = [disj(a[i], a[i + 1]) for i in range(n_atoms - 1)]
    priced = tuple(
        a
        + [implies(a[i], a[i + 1]) for i in range(0, n_atoms - 1, 3)]
        + [disj(a[i], neg(a[i + 2])) for i in range(0, n_atoms - 2, 5)]
        + [conj(a[0], a[n_atoms - 1])]
        + [conj(a[i], a[i + 1]) for i in range(0, n_atoms - 1, 2)]
        + [neg(a[i]) for i in range(0, n_atoms, 3)]
    )
    facts = [tuple(ors[: n_atoms // 2]), tuple(ors[n_atoms // 2 :]), (neg(a[0]),)]
    facts = (facts + [()] * n_days)[:n_days]
    return Scenario(f"linked group ({n_atoms} atoms)", tuple(facts), (priced,) * n_days)


def prg_scenario(n_days: int, seed: int, delay: int = 2) -> Scenario:
    """Bits of a seeded PRG: ``bit(i)`` priced from day i, revealed on day i + delay (frequency 1/2)."""
    bits = prg_bits(seed, n_days)
    facts = [[] for _ in range(n_days)]
    priced = [[] for _ in range(n_days)]
    labels, truth, revealed = {}, {}, {}
    for i in range(1, n_days + 1):
        s = atom(f"bit({i})")
        labels[s], truth[s], revealed[s] = "bit", bool(bits[i - 1]), i + delay
        for d in range(i, min(n_days, i + delay) + 1):
            priced[d - 1].append(s)
        if i + delay <= n_days:
            facts[i + delay - 1].append(s if bits[i - 1] else neg(s))
    return Scenario("prg", tuple(map(tuple, facts)), tuple(map(tuple, priced)), labels, truth, (), revealed)


def separable_scenario(n_sentences: int, n_days: int, seed: int = 0) -> Scenario:
    """Throughput scenario: ``n_sentences`` independent atoms priced every day; 1% revealed daily."""
    rng = np.random.default_rng(seed)
    atoms_ = [atom(f"x({i})") for i in range(n_sentences)]
    truth = {a: bool(v) for a, v in zip(atoms_, rng.integers(0, 2, n_sentences))}
    labels = dict.fromkeys(atoms_, "x")
    facts = [[] for _ in range(n_days)]
    step = max(1, n_sentences // 100)
    for d in range(1, n_days):
        for a in atoms_[(d - 1) * step : d * step]:
            facts[d].append(a if truth[a] else neg(a))
    priced = [tuple(atoms_) for _ in range(n_days)]
    return Scenario("separable", tuple(map(tuple, facts)), tuple(priced), labels, truth)
