"""Policy alignment vs value learning on finite Jeffrey-Bolker frames.

Demski, "Policy Approval" (Alignment Forum, 2018; Alternate Alignment Ideas) -- the text could not be
re-read here; the model below is the one implemented, with the post's argument as recalled:

1. **Jeffrey-Bolker rotation** (Jeffrey 1965, *The Logic of Decision*, ch. 8; Bolker 1967). A pair
   (P, U) on atoms gives the desirability of a proposition ``V(A) = sum_{w in A} P(w) U(w) / P(A)``.
   With ``V(Omega) = 0`` (a normalisation) and ``1 + c U(w) > 0`` on every atom, the pair
   ``P'(w) = P(w) (1 + c U(w))``, ``U'(w) = U(w) / (1 + c U(w))`` gives
   ``V'(A) = V(A) / (1 + c V(A))`` -- an increasing function of ``V(A)`` -- so it ranks every proposition,
   and chooses from every menu, exactly as (P, U) does. Probability and utility trade against each other;
   no choice data can tell the pairs apart (Bolker's uniqueness theorem says this is *all* the freedom,
   for atomless algebras).
2. **Value learning** infers U from choices, so it gets *some* pair of the identified set, and acts on
   the inferred U' with the AI's own beliefs: ``pi_VL(o) = argmax_a E_AI[U'(s, a) | o]``. Because U' is a
   non-linear (Moebius) transform of U, which member of the set it got changes what it does.
3. **Policy alignment** ("policy approval") picks the policy -- a map from the AI's observations to
   actions -- that the human's *own* beliefs and utility rate highest: ``argmax_pi V_h(pi)``, where "the
   AI follows pi" is a proposition of the human's frame. By 1 this choice is the same for every rotated
   pair. Its price: it uses the AI's observations only as far as the *human's* model of them says, so it
   cannot exploit beliefs the human does not share -- and when the human does not trust one of the AI's
   subroutines (here: its sensor) it declines to use it.

Decision frames: states ``s``, AI observations ``o`` (the sensor/subroutine), actions ``a``; atoms
``(s, o, a)`` with the action uniform and independent in the human's P (so ``V_h(pi) =
sum_{s,o} P_h(s, o) U(s, pi(o))``, the policy's expected utility). Arrays carry a leading environment axis.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


# ------------------------------------------------------------------------------------ JB frames
def desirability(p: np.ndarray, u: np.ndarray, props: np.ndarray) -> np.ndarray:
    """``V(A) = sum_{w in A} P(w) U(w) / P(A)`` for every proposition (boolean rows of ``props`` ``(m, n)``),
    batched over a leading axis of ``p`` and ``u`` ``(..., n)``."""
    mass = p @ props.T.astype(float)
    return ((p * u) @ props.T.astype(float)) / mass


def all_propositions(n_atoms: int) -> np.ndarray:
    """Every non-empty subset of ``n_atoms`` atoms, as boolean rows ``(2^n - 1, n)``."""
    codes = np.arange(1, 2**n_atoms)
    return ((codes[:, None] >> np.arange(n_atoms)) & 1).astype(bool)


def centre_utility(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``U - V(Omega)`` so that ``V(Omega) = 0`` (an affine change: no preference moves)."""
    return u - np.sum(p * u, axis=-1, keepdims=True)


def admissible_c(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The open interval of rotation parameters ``c`` with ``1 + c U(w) > 0`` on every atom (``U`` centred,
    so it has both signs): ``(-1 / max U, -1 / min U)``."""
    return -1.0 / u.max(axis=-1), -1.0 / u.min(axis=-1)


def rotate(p: np.ndarray, u: np.ndarray, c: np.ndarray, rotate_probability: bool = True):
    """The Jeffrey-Bolker rotation ``P' = P (1 + c U)``, ``U' = U / (1 + c U)`` (``V(Omega) = 0`` assumed).

    ``rotate_probability=False`` is a deliberate mistake (U' paired with the unrotated P): what a learner
    that combines an inferred U' with someone else's beliefs does.
    """
    c = np.asarray(c, float)[..., None]
    scale = 1 + c * u
    if np.any(scale <= 0):
        raise ValueError("rotation parameter c outside the admissible interval: 1 + c U(w) must be > 0")
    return (p * scale if rotate_probability else p), u / scale


def sample_rotation(rng: np.random.Generator, u: np.ndarray, scale: float) -> np.ndarray:
    """A rotation ``c`` uniform on ``scale`` times the admissible interval (``scale`` in [0, 1))."""
    lo, hi = admissible_c(u)
    return scale * rng.uniform(lo, hi)


def discordant_pairs(v: np.ndarray, v2: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Per frame, how many pairs of propositions the two desirability functions rank in opposite order
    (pairs closer than ``tol`` in ``v`` are ties and not counted)."""
    dv = v[..., :, None] - v[..., None, :]
    dv2 = v2[..., :, None] - v2[..., None, :]
    return np.sum((dv * dv2 < 0) & (np.abs(dv) > tol), axis=(-1, -2)) // 2


def menu_choices(v: np.ndarray, menus: np.ndarray) -> np.ndarray:
    """The chosen proposition of each menu (boolean rows over propositions) under ``v`` ``(..., m)``."""
    masked = np.where(menus[None, :, :], v[:, None, :], -np.inf)
    return masked.argmax(axis=-1)


# ------------------------------------------------------------------------------------ decision frames
@dataclass(frozen=True)
class Environments:
    """``E`` decision problems: the true joint ``p_true (E, S, O)`` (the AI's beliefs), the human's wrong
    model ``p_wrong (E, S, O)`` and the human's utility ``u (E, S, A)``. The human's beliefs at belief gap
    ``g`` are ``(1 - g) p_true + g p_wrong`` (:meth:`human`): ``g`` is the AI's belief advantage."""

    p_true: np.ndarray
    p_wrong: np.ndarray
    u: np.ndarray

    def human(self, gap: float) -> np.ndarray:
        return (1 - gap) * self.p_true + gap * self.p_wrong


def random_joint(rng: np.random.Generator, n_env: int, n_s: int, n_o: int, sensor_conc: float) -> np.ndarray:
    """``P(s, o) = P(s) P(o | s)``: a Dirichlet(1) prior and Dirichlet(``sensor_conc``) sensor rows."""
    prior = rng.dirichlet(np.ones(n_s), size=n_env)
    sensor = rng.dirichlet(np.full(n_o, sensor_conc), size=(n_env, n_s))
    return prior[:, :, None] * sensor


def distrusting_joint(p_true: np.ndarray) -> np.ndarray:
    """The human's model when it does not trust the AI's sensor: ``P(s) P(o)`` (the reading carries no news)."""
    return p_true.sum(axis=2, keepdims=True) * p_true.sum(axis=1, keepdims=True)


def make_environments(
    rng: np.random.Generator, n_env: int, n_s: int, n_o: int, n_a: int, sensor_conc: float, wrong: str
) -> Environments:
    """Random environments; the human's wrong model is 'random' (a wrong model of the sensor,
    ``P_true(s) R(o | s)`` with R random) or 'distrust' (``P(s) P(o)``: the sensor is not trusted at all)."""
    p_true = random_joint(rng, n_env, n_s, n_o, sensor_conc)
    if wrong == "distrust":
        p_wrong = distrusting_joint(p_true)
    elif wrong == "random":
        p_wrong = p_true.sum(axis=2, keepdims=True) * rng.dirichlet(np.full(n_o, sensor_conc), size=(n_env, n_s))
    else:
        raise ValueError(f"wrong must be 'random' or 'distrust', got {wrong!r}")
    return Environments(p_true, p_wrong, rng.normal(size=(n_env, n_s, n_a)))


def centred_sa(p_so: np.ndarray, u_sa: np.ndarray) -> np.ndarray:
    """``U(s, a) - V_h(Omega)`` with the action uniform: the human's utility normalised for rotations."""
    n_a = u_sa.shape[-1]
    return u_sa - np.einsum("eso,esa->e", p_so, u_sa)[:, None, None] / n_a


def atoms(p_so: np.ndarray, u_sa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The human's frame flattened: atoms ``(s, o, a)`` with ``P = P(s, o) / A`` and ``U = U(s, a)``."""
    e, s, o = p_so.shape
    a = u_sa.shape[-1]
    p = np.broadcast_to(p_so[:, :, :, None] / a, (e, s, o, a)).reshape(e, -1)
    u = np.broadcast_to(u_sa[:, :, None, :], (e, s, o, a)).reshape(e, -1)
    return p, u


def policy_values(p: np.ndarray, u: np.ndarray, n_s: int, n_o: int, n_a: int) -> tuple[np.ndarray, np.ndarray]:
    """``V(pi)`` of every deterministic policy ``pi: O -> A`` computed in a (possibly rotated) frame on atoms
    ``(s, o, a)``: the desirability of the proposition ``{(s, o, a): a = pi(o)}``. Returns ``(V (E, A^O),
    policies (A^O, O))``."""
    policies = np.array(list(itertools.product(range(n_a), repeat=n_o)))
    pw = p.reshape(-1, n_s, n_o, n_a)
    uw = u.reshape(-1, n_s, n_o, n_a)
    take = np.zeros((len(policies), n_o, n_a), bool)
    take[np.arange(len(policies))[:, None], np.arange(n_o)[None, :], policies] = True
    mass = np.einsum("esoa,koa->ek", pw, take.astype(float))
    value = np.einsum("esoa,koa->ek", pw * uw, take.astype(float))
    return value / mass, policies


def policy_aligned(p_so: np.ndarray, u_sa: np.ndarray) -> np.ndarray:
    """``argmax_pi sum_{s,o} P_h(s, o) U(s, pi(o))``, solved per observation: ``(E, O)`` actions."""
    return np.einsum("eso,esa->eoa", p_so, u_sa).argmax(axis=-1)


def value_learner(p_ai_so: np.ndarray, u_sa: np.ndarray) -> np.ndarray:
    """``pi(o) = argmax_a E_AI[U(s, a) | o]`` with the AI's beliefs and a (possibly rotated) utility."""
    return np.einsum("eso,esa->eoa", p_ai_so, u_sa).argmax(axis=-1)


def rotated_utility_sa(u_sa: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``U'(s, a) = U / (1 + c U)`` -- the utility of a rotated pair (it depends on (s, a) only)."""
    return u_sa / (1 + np.asarray(c, float)[:, None, None] * u_sa)


def true_value(p_true_so: np.ndarray, u_sa: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """Expected true utility of policies ``pi (E, O)``: ``sum_{s,o} P_true(s, o) U(s, pi(o))``."""
    chosen = np.take_along_axis(u_sa[:, :, None, :], pi[:, None, :, None], axis=-1)[..., 0]  # (E, S, O)
    return np.sum(p_true_so * chosen, axis=(1, 2))


def best_constant_value(p_true_so: np.ndarray, u_sa: np.ndarray) -> np.ndarray:
    """The best policy that ignores the observation, valued under the truth (the no-information baseline)."""
    return np.einsum("es,esa->ea", p_true_so.sum(axis=2), u_sa).max(axis=-1)


def choice_given_observation(p: np.ndarray, u: np.ndarray, n_s: int, n_o: int, n_a: int) -> np.ndarray:
    """Per observation, the action whose proposition ``{o, a}`` has the highest desirability in a frame on
    atoms ``(s, o, a)``: ``argmax_a sum_s P(s,o,a) U(s,o,a) / sum_s P(s,o,a)`` -- what a learner does that
    acts on a *consistent* inferred pair (P', U') rather than on its own beliefs."""
    pw = p.reshape(-1, n_s, n_o, n_a)
    uw = u.reshape(-1, n_s, n_o, n_a)
    return ((pw * uw).sum(axis=1) / pw.sum(axis=1)).argmax(axis=-1)
