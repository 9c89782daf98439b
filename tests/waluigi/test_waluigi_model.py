"""Model: the Bayes reader against a brute-force sum over defection times; sampling; validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from aflab.waluigi import model as model_module
from aflab.waluigi.model import (
    BetaHazardPrior,
    DiscreteHazardPrior,
    Luigi,
    PersonaMixture,
    Repetition,
    SystemPrompt,
    TokenAlphabet,
    Waluigi,
    WaluigiPopulation,
    bayes_predictive,
    draw_tokens,
    index_windows,
    posterior,
    predictive_tables,
    sample_documents,
    standard_mixture,
    window_index,
)


# ---------------------------------------------------------------- brute force (independent of model.py)
def _seq_prob_type(seq, h, em, ep):
    """P(seq) for one two-state source: explicit sum over the defection step d (1-based)."""
    n = len(seq)
    total = (1 - h) ** n * np.prod([em[x] for x in seq])
    for d in range(1, n + 1):
        total += (
            (1 - h) ** (d - 1) * h * np.prod([em[x] for x in seq[: d - 1]]) * np.prod([ep[x] for x in seq[d - 1 :]])
        )
    return total


def _emissions(alpha: TokenAlphabet, persona):
    def row(p_rev=0.0, p_col=0.0):
        out = np.zeros(alpha.size)
        for t in alpha.revealing:
            out[t] = p_rev / len(alpha.revealing)
        for t in alpha.collapse:
            out[t] = p_col / len(alpha.collapse)
        for t in alpha.neutral:
            out[t] += (1 - p_rev - p_col) / len(alpha.neutral)
        return out

    em = row(persona.delta)
    if isinstance(persona, Luigi):
        return em, em
    if isinstance(persona, Repetition):
        return em, row(0.0, persona.rho)
    return em, row(persona.r)


def _persona_seq_prob(alpha, persona, seq, continuous_beta=True):
    em, ep = _emissions(alpha, persona)
    if isinstance(persona, Luigi):
        return _seq_prob_type(seq, 0.0, em, ep)
    if isinstance(persona, Waluigi):
        return _seq_prob_type(seq, persona.h, em, ep)
    if isinstance(persona, Repetition):
        return _seq_prob_type(seq, persona.g, em, ep)
    prior = persona.prior
    if isinstance(prior, DiscreteHazardPrior):
        return sum(w * _seq_prob_type(seq, h, em, ep) for h, w in zip(prior.hazards, prior.weights))
    dist = stats.beta(prior.a, prior.b)
    val, _ = integrate.quad(lambda h: dist.pdf(h) * _seq_prob_type(seq, h, em, ep), 0, 1, limit=200)
    return val


def brute_predictive(mix: PersonaMixture, window, include_prompt=True):
    w = np.log(mix.weights)
    if include_prompt and mix.prompt is not None:
        w = w + np.array(mix.prompt.log_evidence)
    w = np.exp(w - w.max())
    seq = [int(x) for x in window if x >= 0]
    joint = np.array(
        [
            [wi * _persona_seq_prob(mix.alphabet, p, seq + [x]) for x in range(mix.alphabet.size)]
            for wi, p in zip(w, mix.personas)
        ]
    )
    if joint.sum() == 0:  # impossible window: the reader answers as for the empty window (documented)
        return brute_predictive(mix, [], include_prompt)
    return joint.sum(0) / joint.sum(), joint.sum(1) / joint.sum()


MIXTURES = {
    "single": standard_mixture(h=0.15, r=0.6, p_waluigi=0.4, delta=0.03),
    "absorbing": standard_mixture(h=0.3, r=1.0, p_waluigi=0.5),
    "discrete": PersonaMixture(
        (Luigi(0.02), WaluigiPopulation(DiscreteHazardPrior((0.05, 0.4), (0.7, 0.3)), r=0.8)), (0.6, 0.4)
    ),
    "beta": standard_mixture(beta=(0.7, 2.5), r=0.7, p_waluigi=0.5, n_nodes=6),
    "ternary": standard_mixture(h=0.2, r=0.9, p_waluigi=0.3, delta=0.05, g=0.1, p_repetition=0.3, rho=0.8),
    "prompted": standard_mixture(h=0.2, r=0.5, p_waluigi=0.5, prompt=SystemPrompt((0.0, -1.5), "pinned")),
    "big-alphabet": PersonaMixture(
        (Luigi(0.1), Waluigi(0.25, 0.5, 0.1), Repetition(0.1, 0.6)),
        (0.5, 0.3, 0.2),
        TokenAlphabet(5, revealing=(1, 3), collapse=(4,)),
    ),
}


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_predictive_and_posterior_match_brute_force(name):
    mix = MIXTURES[name]
    rng = np.random.default_rng(len(name))
    V = mix.alphabet.size
    for k in (1, 3, 5):
        wins = rng.integers(0, V, size=(4, k))
        wins[0, : k - 1] = -1  # a shorter window, left padded
        pred = bayes_predictive(mix, wins)
        post = posterior(mix, wins)
        for w, p, q in zip(wins, pred, post):
            bp, bq = brute_predictive(mix, w)
            np.testing.assert_allclose(p, bp, rtol=1e-7, atol=1e-12)
            np.testing.assert_allclose(q, bq, rtol=1e-7, atol=1e-12)


def test_beta_quadrature_exact_up_to_2n_minus_2():
    """Gauss-Jacobi with n nodes reproduces the continuous Beta prior for windows <= 2n - 2 tokens."""
    mix = standard_mixture(beta=(0.5, 2.0), r=0.6, p_waluigi=0.5, n_nodes=4)
    assert mix.personas[1].prior.exact_up_to == 6
    win = np.array([0, 0, 1, 0, 1, 0])
    np.testing.assert_allclose(bayes_predictive(mix, win[:5]), brute_predictive(mix, win[:5])[0], rtol=1e-8)
    # beyond the exact range the discretised reader may differ (and does, visibly, for long clean runs)
    long = np.zeros(60, int)
    from aflab.waluigi.model import QuadratureWarning

    with pytest.warns(QuadratureWarning):  # ... and says so
        assert abs(bayes_predictive(mix, long)[1] - brute_predictive(mix, long)[0][1]) > 1e-6


@pytest.mark.parametrize("name", ["single", "ternary", "big-alphabet", "prompted"])
def test_tables_equal_direct_predictive(name):
    mix = MIXTURES[name]
    V, k = mix.alphabet.size, 4 if mix.alphabet.size < 5 else 3
    tables = predictive_tables(mix, k, max_elements=64)  # tiny blocks exercise the chunked descent
    for j in range(k + 1):
        wins = index_windows(np.arange(V**j), j, V) if j else np.full((1, 1), -1)
        np.testing.assert_allclose(tables[j], bayes_predictive(mix, wins), rtol=1e-10, atol=1e-14)
    F = np.array(mix.alphabet.neutral)
    sub = predictive_tables(mix, k, window_tokens=F)
    wins = F[index_windows(np.arange(F.size**k), k, F.size)]
    np.testing.assert_allclose(sub[k], bayes_predictive(mix, wins), rtol=1e-10)


def test_window_index_roundtrip():
    w = np.random.default_rng(0).integers(0, 3, size=(50, 6))
    np.testing.assert_array_equal(index_windows(window_index(w, 3), 6, 3), w)


@pytest.mark.parametrize("name", ["single", "ternary", "beta"])
def test_sampled_documents_follow_the_predictive(name):
    """Empirical next-token frequencies after a context match the Bayes predictive (documents are
    sampled persona-first; the predictive is the marginal)."""
    mix = MIXTURES[name]
    docs = sample_documents(mix, 200_000, 4, np.random.default_rng(7))
    assert docs.shape == (200_000, 4) and docs.dtype == np.int64
    for ctx in ([0, 0, 0], [0, 1], [0]):
        sel = (docs[:, : len(ctx)] == ctx).all(axis=1)
        n = sel.sum()
        freq = np.bincount(docs[sel, len(ctx)], minlength=mix.alphabet.size) / n
        p = bayes_predictive(mix, np.array(ctx))
        se = np.sqrt(p * (1 - p) / n) + 1e-12
        assert np.all(np.abs(freq - p) / se < 4), (ctx, freq, p)


def test_sample_personas_and_prompt_conditioning():
    mix = standard_mixture(h=0.2, p_waluigi=0.5, prompt=SystemPrompt((0.0, np.log(3.0))))
    _, who, hz = sample_documents(mix, 40_000, 3, np.random.default_rng(1), return_personas=True)
    assert abs(who.mean() - 0.5) < 0.02 and np.all(hz[who == 0] == 0) and np.all(hz[who == 1] == 0.2)
    _, who, _ = sample_documents(
        mix, 40_000, 3, np.random.default_rng(1), condition_on_prompt=True, return_personas=True
    )
    assert abs(who.mean() - 0.75) < 0.02


@settings(max_examples=40, deadline=None)
@given(
    h=st.floats(0.01, 1.0),
    r=st.floats(0.0, 1.0),
    pw=st.floats(0.01, 0.99),
    delta=st.floats(0.0, 0.5),
    seed=st.integers(0, 10**6),
    k=st.integers(1, 8),
)
def test_predictive_is_a_distribution(h, r, pw, delta, seed, k):
    mix = standard_mixture(h=h, r=r, p_waluigi=pw, delta=delta)
    wins = np.random.default_rng(seed).integers(-1, 2, size=(16, k))
    wins = np.sort(wins, axis=1)  # -1 padding to the left
    p = bayes_predictive(mix, wins)
    assert np.all(p >= 0) and np.allclose(p.sum(-1), 1)
    q = posterior(mix, wins)
    assert np.all(q >= 0) and np.allclose(q.sum(-1), 1)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: Waluigi(h=0.0), "h"),
        (lambda: Waluigi(h=1.5), "h"),
        (lambda: Waluigi(h=0.1, r=-0.1), "r"),
        (lambda: Luigi(delta=1.0), "delta"),
        (lambda: Repetition(g=0.0), "g"),
        (lambda: DiscreteHazardPrior((0.1, 0.2), (0.5, 0.6)), "sum to 1"),
        (lambda: DiscreteHazardPrior((0.1,), (0.5, 0.5)), "one weight per hazard"),
        (lambda: BetaHazardPrior(0.0, 1.0), "a must be > 0"),
        (lambda: PersonaMixture((Luigi(), Waluigi(0.1)), (0.7, 0.4)), "sum to 1"),
        (lambda: PersonaMixture((Luigi(), Waluigi(0.1)), (1.0,)), "one prior weight per persona"),
        (lambda: PersonaMixture((Luigi(), Repetition(0.1)), (0.5, 0.5)), "collapse"),
        (lambda: PersonaMixture((Luigi(), Waluigi(0.1)), (0.5, 0.5), TokenAlphabet(2, revealing=())), "revealing"),
        (lambda: TokenAlphabet(2, revealing=(2,)), "outside"),
        (lambda: TokenAlphabet(2, revealing=(0, 1)), "neutral"),
        (
            lambda: PersonaMixture((Luigi(), Waluigi(0.1)), (0.5, 0.5), prompt=SystemPrompt((0.0,))),
            "one log-likelihood",
        ),
        (lambda: SystemPrompt((0.0, 0.0), mode="floating"), "pinned"),
    ],
)
def test_bad_parameters_raise_clear_errors(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_alphabet_mismatch_in_windows():
    mix = standard_mixture()
    with pytest.raises(ValueError, match="alphabet mismatch"):
        bayes_predictive(mix, np.array([0, 2]))
    with pytest.raises(ValueError, match="k must be"):
        predictive_tables(mix, -1)


def test_empty_window_gives_prior_predictive_matching_first_token_frequency():
    """An empty window (shape (B, 0)) is the start of a document: its predictive must equal the
    frequency of each first token among documents sampled from the true mixture."""
    import aflab.waluigi.model as wm

    mix = wm.standard_mixture()
    pred = wm.bayes_predictive(mix, np.zeros((4, 0), dtype=int))
    assert pred.shape == (4, mix.alphabet.size) and np.allclose(pred, pred[0])
    docs = wm.sample_documents(mix, 200_000, 1, np.random.default_rng(0))
    freq = np.bincount(docs[:, 0], minlength=mix.alphabet.size) / len(docs)
    se = np.sqrt(pred[0] * (1 - pred[0]) / len(docs)) + 1e-12
    assert np.all(np.abs(freq - pred[0]) < 4 * se)
    post = wm.posterior(mix, np.zeros((2, 0), dtype=int))
    assert np.allclose(post, np.asarray(mix.weights))


def test_beta_quadrature_warns_past_its_exact_range():
    """n = 5 nodes are exact up to 2n - 2 = 8 tokens; a 64-token window is off by ~11% and must warn."""
    import warnings

    from aflab.waluigi import theory as th
    from aflab.waluigi.model import QuadratureWarning

    mix = standard_mixture(beta=(0.5, 2.0), r=1.0, p_waluigi=0.5, n_nodes=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bayes_predictive(mix, np.zeros((1, 8), dtype=np.int64))  # within range: silent
    with pytest.warns(QuadratureWarning, match="n_nodes >= 33"):
        bayes_predictive(mix, np.zeros((1, 64), dtype=np.int64))
    with pytest.warns(QuadratureWarning):
        eps = th.hazard_floor(mix, 64)
    exact = float(th.hazard_floor_beta(0.5, 2.0, 0.5, 64))
    assert abs(eps / exact - 1) > 0.05  # the warning is about a real error
    wide = standard_mixture(beta=(0.5, 2.0), r=1.0, p_waluigi=0.5, n_nodes=33)
    assert th.hazard_floor(wide, 64) == pytest.approx(exact, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    n_docs=st.integers(1, 12),
    length=st.integers(1, 30),
    V=st.integers(2, 7),
    n_personas=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_draw_tokens_is_inversion_on_each_tokens_own_row(n_docs, length, V, n_personas, seed):
    """Brute force, one token at a time: the number of the row's first V-1 cumulative values <= u, where the
    row is the document's before / at / after its defection step; u set on row values exercises the ties."""
    rng = np.random.default_rng(seed)
    rows = np.cumsum(rng.dirichlet(np.ones(V), size=(3, n_personas)), axis=2)
    who = rng.integers(0, n_personas, n_docs)
    cdfs = rows[:, who, :]
    never = np.iinfo(np.int64).max
    d = np.where(rng.random(n_docs) < 0.3, never, rng.integers(1, length + 3, n_docs))
    u = rng.random((n_docs, length))
    ties = rng.random((n_docs, length)) < 0.2
    u[ties] = rows[0, 0, rng.integers(0, V, ties.sum())].clip(max=np.nextafter(1.0, 0))
    got = draw_tokens(u, cdfs, d)
    # both exact ways, whichever the size picks
    assert (model_module._draw_tokens_gathered(u, cdfs, d) == got).all()
    assert (model_module._draw_tokens_by_row(u, cdfs, d) == got).all()
    for i in range(n_docs):
        for t in range(length):
            step = t + 1
            row = cdfs[2, i] if step == d[i] else cdfs[1, i] if step > d[i] else cdfs[0, i]
            assert got[i, t] == min(sum(u[i, t] >= c for c in row[:-1]), V - 1)
