"""Dynamic constraints of a radical probabilist: no predictable updates, and what breaking it costs.

Radical probabilism (Jeffrey 1992, *Probability and the Art of Judgment*; Demski 2020, "Radical
Probabilism", the sections on conservation of expected evidence and the diachronic Dutch book as recalled
here -- the post could not be re-read) drops "update only by conditioning" but keeps dynamic coherence:
an agent's credence ``P_t(A)`` must not move predictably, ``E[P_{t+1} | P_t] = P_t`` (a martingale),
or a bookie who trades with it at its own prices on consecutive days wins in expectation.

This module holds

- :func:`simulate_agent_and_bettor`: an agent whose credence takes steps ``+-s_t`` with
  ``s_t = step * min(P_t, 1 - P_t)`` (it stays in (0, 1)) and up-probability ``(1 + eps d_t) / 2``, so
  its predictable drift is ``E[P_{t+1} - P_t | past] = eps d_t s_t``. ``d_t = sign(a - P_t)`` in the
  *predictable* agent (it drifts back toward its anchor a: a conservative updater); in the *martingale*
  agent ``d_t`` is a fresh fair coin nobody sees, so each step is as skewed but no step is predictable.
  A bettor trades one unit at the agent's price each day and closes at the next day's price:
  profit ``sum_t x_t (P_{t+1} - P_t)``. The *oracle* bettor stakes ``x_t = d_t`` in the predictable world
  (expected profit ``eps sum s_t`` exactly); the *learner* sees only past prices: it keeps, per price bin,
  the sum of past normalised moves ``(P_{s+1} - P_s) / s_s`` and stakes its sign.
- :func:`martingale_residual`: the estimator of ``E[P_{t+1} - P_t | P_t]`` on a price table (binned
  conditional means), used on the logical-induction market's prices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PREDICTABLE, MARTINGALE = "predictable", "martingale"


def simulate_agent_and_bettor(
    rng: np.random.Generator,
    eps: np.ndarray,
    n_steps: int,
    step: float,
    n_bins: int,
    mode: str,
    anchor: np.ndarray | float = 0.5,
) -> dict[str, np.ndarray]:
    """Run one agent + oracle + learner per entry of ``eps`` (vectorised over runs, a loop over days).

    The predictable agent starts at its ``anchor`` a (one per run) and drifts back to it:
    ``d_t = sign(a - P_t)``. With a = 1/2 and an even ``n_bins`` a bin edge sits exactly on the anchor, so
    every bin's drift has one sign -- the learner's easiest case; an anchor the bins do not know removes it.
    Returns per-run arrays: ``volatility = sum_t s_t``, ``oracle`` and ``learner`` profits.
    """
    if mode not in (PREDICTABLE, MARTINGALE):
        raise ValueError(f"mode must be {PREDICTABLE!r} or {MARTINGALE!r}, got {mode!r}")
    eps = np.asarray(eps, float)
    n = eps.size
    anchor = np.broadcast_to(np.asarray(anchor, float), (n,))
    p = anchor.copy()
    bin_sums = np.zeros((n, n_bins))
    rows = np.arange(n)
    volatility, oracle, learner = np.zeros(n), np.zeros(n), np.zeros(n)
    coins = rng.random((n_steps, n))
    hidden = rng.integers(0, 2, size=(n_steps, n)) * 2 - 1
    for t in range(n_steps):
        s = step * np.minimum(p, 1 - p)
        d = np.sign(anchor - p) if mode == PREDICTABLE else hidden[t].astype(float)
        b = np.minimum((p * n_bins).astype(int), n_bins - 1)
        stake = np.sign(bin_sums[rows, b])
        move = np.where(coins[t] < (1 + eps * d) / 2, s, -s)
        volatility += s
        oracle += (d if mode == PREDICTABLE else 0.0) * move
        learner += stake * move
        bin_sums[rows, b] += move / s
        p = p + move
    return {"volatility": volatility, "oracle": oracle, "learner": learner}


def pairs_of_days(prices: pd.DataFrame, group: str = "stretch") -> pd.DataFrame:
    """Consecutive-day pairs ``(P_t, P_{t+1})`` of every sentence that is still undecided on day ``t+1``.

    ``prices`` has columns ``group, day, sentence, price, decided`` (``decided == -1`` while the sentence's
    truth is not yet in the deductive process). Returns ``group, day, sentence, label, price, move``.
    """
    keys = [group, "sentence"]
    p = prices.sort_values([*keys, "day"], kind="stable")
    nxt = p.groupby(keys, sort=False)[["day", "price", "decided"]].shift(-1)
    keep = (nxt["day"] == p["day"] + 1) & (nxt["decided"] == -1) & (p["decided"] == -1)
    out = p.loc[keep, [group, "day", "sentence", "label", "price"]].copy()
    out["move"] = (nxt.loc[keep, "price"] - p.loc[keep, "price"]).to_numpy()
    return out.reset_index(drop=True)


def martingale_residual(price: np.ndarray, move: np.ndarray, n_bins: int) -> dict[str, float]:
    """The size of the predictable part of the moves: ``E[P_{t+1} - P_t | P_t]`` estimated by the means of
    ``move`` in ``n_bins`` equal-count bins of ``price``.

    Returns ``rms_drift = sqrt(sum_b (n_b / N) mean_b^2)`` (root-mean-square conditional drift),
    ``noise_floor = sqrt(sum_b (n_b / N) var_b / n_b)`` (what a martingale's sampling noise alone gives it),
    ``rms_move`` (root-mean-square move) and ``n`` -- the ratio ``rms_drift / rms_move`` is the share of
    the moves that was predictable from the price.
    """
    price, move = np.asarray(price, float), np.asarray(move, float)
    n = price.size
    if n < 2 * n_bins:
        return {"rms_drift": np.nan, "noise_floor": np.nan, "rms_move": np.nan, "n": float(n)}
    order = np.argsort(price, kind="stable")
    bins = np.array_split(move[order], n_bins)
    w = np.array([b.size for b in bins], float) / n
    means = np.array([b.mean() for b in bins])
    var = np.array([b.var(ddof=1) if b.size > 1 else 0.0 for b in bins])
    sizes = np.array([b.size for b in bins], float)
    return {
        "rms_drift": float(np.sqrt(w @ means**2)),
        "noise_floor": float(np.sqrt(w @ (var / sizes))),
        "rms_move": float(np.sqrt(np.mean(move**2))),
        "n": float(n),
    }
