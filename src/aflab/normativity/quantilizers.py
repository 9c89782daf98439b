"""Quantilizers (Taylor 2016, "Quantilizers: a safer alternative to maximizers for limited optimization").

A q-quantilizer with base distribution ``gamma`` and utility ``u`` draws an action from ``gamma``
restricted to its top-q fraction by utility, renormalised by 1/q. For a discrete base the top-q set
has a *fractional boundary*: the utility level where the cumulative mass crosses q is only partly
included. Its defining property (Taylor 2016) is that no action gets more than 1/q times
its base probability, so for every non-negative cost ``c``

    E_q[c] <= E_gamma[c] / q.                                                     (cost bound)

It is also the maximiser of E_Q[u] over all Q with Q <= gamma/q (Taylor 2016), which is how
the tests check it against a linear programme.

Ties: when several actions share the boundary utility, which of them fills the fractional boundary
is arbitrary in Taylor's definition. We split the boundary mass *in proportion to base probability*
among all tied actions (the tie-symmetric quantilizer). Expected utility is the same for every
tie-breaking; ours is the unique one invariant to relabelling actions.

Sampling quantilizers (no access to the base probabilities, only draws):

- best of n draws by utility: each draw is chosen with probability <= 1 so the chosen action has
  density <= n * gamma, hence E[c] <= n * E_gamma[c];
- uniform over the top k of n draws: each draw is chosen with probability <= 1/k, so
  E[c] <= (n / k) * E_gamma[c] (k = ceil(q n) gives approximately 1/q).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def _check_q(q) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    if not np.all((q > 0) & (q <= 1)):
        raise ValueError(f"q must lie in (0, 1] (the top fraction of base mass kept); got {q!r}")
    return q


def _check_base(base_probs, utility) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(base_probs, dtype=float)
    u = np.asarray(utility, dtype=float)
    if p.shape != u.shape:
        raise ValueError(f"base_probs shape {p.shape} and utility shape {u.shape} must match")
    if p.shape[-1] == 0:
        raise ValueError("base_probs must have at least one action")
    if np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ValueError("base_probs must be finite and non-negative")
    if not np.allclose(p.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("base_probs must sum to 1 along the last axis; normalise them first")
    if not np.all(np.isfinite(u)):
        raise ValueError("utility must be finite (no NaN/inf); clip it first")
    return p, u


@dataclass(frozen=True)
class TieGroups:
    """Actions sorted by utility (descending) and grouped into tie classes, for a batch.

    ``above[i]`` = base mass strictly above the utility of sorted action i;
    ``level_mass[i]`` = base mass of sorted action i's tie class.
    """

    order: np.ndarray
    above: np.ndarray
    level_mass: np.ndarray


def tie_groups(base_probs: np.ndarray, utility: np.ndarray) -> TieGroups:
    """Sort descending by utility and compute, per action, mass above and its tie-class mass."""
    order = np.argsort(-utility, axis=-1, kind="stable")
    u_s = np.take_along_axis(utility, order, axis=-1)
    p_s = np.take_along_axis(base_probs, order, axis=-1)
    n = u_s.shape[-1]
    idx = np.broadcast_to(np.arange(n), u_s.shape)
    new_group = np.ones(u_s.shape, dtype=bool)
    new_group[..., 1:] = u_s[..., 1:] != u_s[..., :-1]
    last_in_group = np.ones(u_s.shape, dtype=bool)
    last_in_group[..., :-1] = new_group[..., 1:]
    cum_incl = np.cumsum(p_s, axis=-1)
    cum_excl = cum_incl - p_s
    start = np.maximum.accumulate(np.where(new_group, idx, 0), axis=-1)
    end = np.minimum.accumulate(np.where(last_in_group, idx, n - 1)[..., ::-1], axis=-1)[..., ::-1]
    above = np.take_along_axis(cum_excl, start, axis=-1)
    level_mass = np.take_along_axis(cum_incl, end, axis=-1) - above
    return TieGroups(order, above, np.maximum(level_mass, 0.0))


def _unsort(values_sorted: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(values_sorted)
    np.put_along_axis(out, order, values_sorted, axis=-1)
    return out


def quantilize(base_probs, utility, q) -> np.ndarray:
    """Exact q-quantilizer distribution over a discrete action set (batched over leading axes).

    ``Q_i = gamma_i * w_i / q`` with ``w_i = clip((q - M_above(u_i)) / M_level(u_i), 0, 1)``:
    1 above the boundary level, the boundary fraction on the tied boundary level, 0 below.
    ``q`` may be a scalar or broadcast against the leading (batch) axes.
    """
    p, u = _check_base(base_probs, utility)
    q = _check_q(q)
    qb = q[..., None] if q.ndim else q
    g = tie_groups(p, u)
    num = qb - g.above
    frac = np.divide(num, g.level_mass, out=np.zeros_like(num), where=g.level_mass > 0)
    frac = np.clip(frac, 0.0, 1.0)
    p_s = np.take_along_axis(p, g.order, axis=-1)
    return _unsort(p_s * frac / qb, g.order)


def quantilize_many(base_probs, utility, qs) -> np.ndarray:
    """:func:`quantilize` for each q in the 1-D array ``qs`` (sorting once); shape (len(qs), ...)."""
    p, u = _check_base(base_probs, utility)
    qs = _check_q(np.atleast_1d(qs))
    g = tie_groups(p, u)
    p_s = np.take_along_axis(p, g.order, axis=-1)
    return np.stack([_unsort(_quantilize_sorted(g, p_s, q), g.order) for q in qs])


def _quantilize_sorted(g: TieGroups, p_sorted: np.ndarray, q: float) -> np.ndarray:
    frac = np.divide(q - g.above, g.level_mass, out=np.zeros_like(g.above), where=g.level_mass > 0)
    return p_sorted * np.clip(frac, 0.0, 1.0) / q


def _best_of_n_sorted(g: TieGroups, p_sorted: np.ndarray, n: int) -> np.ndarray:
    with np.errstate(divide="ignore"):
        log_le = np.log(np.clip(1.0 - g.above, 0.0, 1.0))  # F^n = exp(n log F): cheap for many n
        log_lt = np.log(np.clip(1.0 - g.above - g.level_mass, 0.0, 1.0))
    share = np.divide(p_sorted, g.level_mass, out=np.zeros_like(p_sorted), where=g.level_mass > 0)
    return (np.exp(n * log_le) - np.exp(n * log_lt)) * share


def expectations_many(base_probs, utility, values: dict, qs=(), ns=()) -> dict:
    """E[values[key]] under the quantilizer for each q and under best-of-n for each n.

    Sorts once and never materialises the full stack of distributions (memory O(batch x actions)).
    Returns ``{("q", q) or ("n", n): {key: array over the batch}}``.
    """
    p, u = _check_base(base_probs, utility)
    g = tie_groups(p, u)
    p_s = np.take_along_axis(p, g.order, axis=-1)
    v_s = {k: np.take_along_axis(np.asarray(v, dtype=float), g.order, axis=-1) for k, v in values.items()}
    out = {}
    for q in _check_q(np.atleast_1d(qs)) if len(qs) else []:
        probs = _quantilize_sorted(g, p_s, float(q))
        out[("q", float(q))] = {k: np.sum(probs * v, axis=-1) for k, v in v_s.items()}
    for n in ns:
        if int(n) != n or n < 1:
            raise ValueError(f"n (number of base draws) must be a positive integer; got {n!r}")
        probs = _best_of_n_sorted(g, p_s, int(n))
        out[("n", int(n))] = {k: np.sum(probs * v, axis=-1) for k, v in v_s.items()}
    return out


def best_of_n(base_probs, utility, n: int) -> np.ndarray:
    """Exact distribution of the best of ``n`` i.i.d. base draws (ties broken uniformly at random).

    P(chosen level = v) = F(<=v)^n - F(<v)^n, shared among the tied actions in proportion to base
    mass. Since F^n - G^n <= n (F - G) for 0 <= G <= F <= 1, every action gets <= n * gamma_i.
    """
    return best_of_n_many(base_probs, utility, [n])[0]


def best_of_n_many(base_probs, utility, ns) -> np.ndarray:
    """:func:`best_of_n` for each n in ``ns`` (sorting once); shape (len(ns), ...)."""
    ns = list(ns)
    for n in ns:
        if int(n) != n or n < 1:
            raise ValueError(f"n (number of base draws) must be a positive integer; got {n!r}")
    p, u = _check_base(base_probs, utility)
    g = tie_groups(p, u)
    p_s = np.take_along_axis(p, g.order, axis=-1)
    return np.stack([_unsort(_best_of_n_sorted(g, p_s, int(n)), g.order) for n in ns])


def expectation(probs, values) -> np.ndarray:
    """E[values] under ``probs`` along the last axis."""
    return np.sum(np.asarray(probs) * np.asarray(values), axis=-1)


def cost_bound_ratio(base_probs, policy_probs, cost, factor) -> np.ndarray:
    """E_policy[c] / (factor * E_base[c]): <= 1 is the guarantee (factor = 1/q, n, or n/k)."""
    c = np.asarray(cost, dtype=float)
    if np.any(c < 0):
        raise ValueError("cost must be non-negative for the quantilizer cost bound")
    base = factor * expectation(base_probs, c)
    got = expectation(policy_probs, c)
    return np.divide(got, base, out=np.zeros_like(np.asarray(got, dtype=float)), where=base > 0)


# --------------------------------------------------------------------------- continuous base


def continuous_quantile_threshold(base: stats.rv_continuous, q: float) -> float:
    """For a utility increasing in x, the quantilizer keeps x >= base.ppf(1 - q)."""
    _check_q(q)
    return float(base.ppf(1.0 - q))


def continuous_quantilizer_expectation(base, func, q: float) -> float:
    """E_q[func(x)] for a 1-D continuous base and a utility increasing in x, by quadrature.

    The quantilizer is the base conditioned on x >= F^{-1}(1 - q): E_q[f] = (1/q) int_{x_q} f dF.
    """
    x_q = continuous_quantile_threshold(base, q)
    return float(base.expect(func, lb=x_q, conditional=True))


def sample_continuous_quantilizer(base, q: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Exact draws by inverse CDF: x = F^{-1}(1 - q U), U ~ U(0, 1) (utility increasing in x)."""
    _check_q(q)
    return base.ppf(1.0 - q * rng.random(size))


def quantile_grid_quantilizer(base, utility, q: float, n_cells: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """Any utility on a 1-D continuous base, via quantiles: (points, probabilities).

    The base is cut into ``n_cells`` equal-mass cells represented by their mid-quantiles
    x_i = F^{-1}((i + 1/2) / N); the exact discrete quantilizer on these equiprobable points is
    returned. As N grows, sums over it converge to E_q[f] for the continuous quantilizer (base
    conditioned on u(X) >= t with P(u(X) >= t) = q), for non-monotone utilities too.
    """
    _check_q(q)
    if n_cells < 2:
        raise ValueError(f"n_cells must be >= 2; got {n_cells}")
    x = base.ppf((np.arange(n_cells) + 0.5) / n_cells)
    u = np.asarray(utility(x), dtype=float)
    return x, quantilize(np.full(n_cells, 1.0 / n_cells), u, q)


# --------------------------------------------------------------------------- sampling quantilizers


def top_k_of_n_choice(utilities: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Index of a uniform pick among the top ``k`` of the ``n`` draws on the last axis.

    Ties at the k-th place are broken uniformly at random (random keys), so no draw is picked with
    probability above 1/k. ``k = 1`` is best-of-n.
    """
    u = np.asarray(utilities, dtype=float)
    n = u.shape[-1]
    if not 1 <= k <= n:
        raise ValueError(f"k must lie in [1, n={n}]; got {k}")
    keys = rng.random(u.shape)
    order = np.lexsort((keys, -u), axis=-1)  # primary: -u, tie-break: random key
    pick = rng.integers(0, k, size=u.shape[:-1])
    return np.take_along_axis(order, pick[..., None], axis=-1)[..., 0]


def top_k_of_n_bound(n: int, k: int) -> float:
    """The density-ratio bound of a uniform pick among the top k of n draws: n / k."""
    return n / k
