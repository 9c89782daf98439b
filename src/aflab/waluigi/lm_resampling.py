"""The per-turn break hazard of SmolLM2 without survivor selection: ``m`` replies drawn at every turn.

:mod:`lm_sampling` times each conversation's *first* break, so its late turns hold only the conversations
that have not broken yet. If conversations merely differ in how break-prone they are (a constant hazard
each), the pooled hazard still falls with the turn: a decline there cannot be told from which
conversations survive (``waluigi.lm-transitions`` reports it and does not judge it).

Here every conversation is measured at every turn. At turn ``t`` the model draws ``m`` replies from the
same history (the conversation's questions and its own kept replies); ``broken / m`` is an unbiased
estimate of ``h_i(t)``, the model's probability of breaking character given *that* history. The
conversation then continues with the first in-persona draw -- the hazard's conditioning event, "no break
so far" -- or, when all ``m`` draws break, with the persona's canonical answer to the question (a
*forced* turn, counted and reported). No conversation leaves, so early and late turns are measured on the
same conversations, and a per-conversation change is a within-history change:

    ratio = mean_i h_i(late) / mean_i h_i(early)

(each conversation has ``m`` draws per turn, so the pooled hazards are plain means over conversations).
For a population of constant-hazard conversations the ratio is 1 in expectation whatever their spread
(tested), unlike the first-break design's pooled decline.

The thread's Bayesian reader predicts ratio < 1 for the full context (each in-persona turn is evidence
against the waluigi); a bounded reader (``window`` k > 0: the last k tokens in whole turns, the system
prompt sliding out too, as in :mod:`lm_sampling`) cannot accumulate that evidence.

Randomness: conversation ``i`` of seed ``s`` takes its question order from
``lm_sampling._conversation_plan`` (the same questions as ``lm-transitions``) and its uniforms
``U[turn, draw, token]`` from ``default_rng([s, i, 1])``; draws are inverse-CDF samples, so readers are
paired by common random numbers.

Batching: the conversations of a batch share one key/value cache; at every turn it is repeated ``m``
times (``DynamicCache.batch_repeat_interleave``), the ``m`` draws are sampled in one batch, and the kept
draw's row is selected back (its cache already holds the reply). A forced turn masks that row's sampled
slots out (never attended to) and feeds the canonical answer in their place.

The mutation ``keep_broken`` (the claim's counterfactual) continues with the first *broken* draw instead
(or the persona's canonical violating answer): the history accumulates evidence for the waluigi, and a
statistic that reads "decay" there would be reading something else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aflab.waluigi import lm_probe, lm_sampling


@dataclass(frozen=True)
class RedrawSpec:
    """What to sample: ``draws`` replies per turn for each of ``n_conversations`` under one reader."""

    n_conversations: int = 16
    n_turns: int = 8
    draws: int = 4
    window: int = 0
    n_seed_turns: int = 0
    max_new_tokens: int = 20
    temperature: float = 0.7
    persona: str = "lowercase"
    batch: int = 8
    keep_broken: bool = False

    def __post_init__(self) -> None:
        if self.draws < 2:
            raise ValueError("draws must be >= 2 (one reply per turn is the first-break design: lm_sampling)")
        self.transition_spec()  # validates the shared fields

    def transition_spec(self) -> lm_sampling.TransitionSpec:
        """The same conversation under :mod:`lm_sampling`'s spec (questions, persona, sampling)."""
        return lm_sampling.TransitionSpec(
            n_conversations=self.n_conversations,
            n_turns=self.n_turns,
            windows=(self.window,),
            n_seed_turns=self.n_seed_turns,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            persona=self.persona,
            batch=self.batch,
        )


def _draw_uniforms(spec: RedrawSpec, seed: int, i: int) -> np.ndarray:
    return np.random.default_rng([seed, i, 1]).random((spec.n_turns, spec.draws, spec.max_new_tokens))


def _repeat_rows(batch: lm_sampling._Batch, m: int) -> None:
    """Each row of the batch becomes ``m`` identical rows (cache, mask, lengths)."""
    batch.cache.batch_repeat_interleave(m)
    batch.mask = batch.mask.repeat_interleave(m, dim=0)
    batch.length = np.repeat(batch.length, m)


def kept_draws(broken: np.ndarray, keep_broken: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per conversation (rows of ``broken``, shape (n, m)): the kept draw -- the first in-persona one (the
    mutation ``keep_broken``: the first broken one) -- and whether the turn is forced (no draw of that kind)."""
    wanted = broken if keep_broken else ~broken
    forced = ~wanted.any(axis=1)
    return np.where(forced, 0, np.argmax(wanted, axis=1)), forced


def sample_redraws(lm, spec: RedrawSpec, seed: int, conv_ids: list[int]) -> list[dict]:
    """Conversations ``conv_ids`` under ``spec.window``; one row per (conversation, turn, draw)."""
    tok = lm.tokenizer
    ts = spec.transition_spec()
    persona = lm_probe.get_persona(spec.persona)
    bad_first = lm_sampling.violating_first_tokens(tok, spec.persona)
    orders = {i: lm_sampling._conversation_plan(ts, seed, i)[0] for i in conv_ids}
    uniforms = {i: _draw_uniforms(spec, seed, i) for i in conv_ids}
    qa = lm_probe.QA_PAIRS
    segments = {
        i: [lm_probe.system_ids(tok, persona.system_prompt)]
        + [lm_probe.turn_ids(tok, qa[q][0], persona.consistent(qa[q][1])) for q in orders[i][: spec.n_seed_turns]]
        for i in conv_ids
    }
    m, n = spec.draws, len(conv_ids)
    rows: list[dict] = []
    batch = None
    for t in range(spec.n_turns):
        questions = [orders[i][spec.n_seed_turns + t] for i in conv_ids]
        prompts = [lm_probe.prompt_ids(tok, qa[q][0]) for q in questions]
        if spec.window or batch is None:
            views = [
                lm_probe.window_view(segments[i], spec.window, "turn") if spec.window else np.concatenate(segments[i])
                for i in conv_ids
            ]
            chunk = [np.concatenate([v, p]) for v, p in zip(views, prompts)]
            batch = lm_sampling._Batch(_new_cache(), lm_sampling._empty_mask(lm, n), np.zeros(n, np.int64))
        else:
            chunk = prompts
        seen = [len(c) + (0 if spec.window else int(batch.length[j])) for j, c in enumerate(chunk)]
        logits = lm_sampling._forward_chunk(lm, batch, chunk)
        before, slots = batch.length.copy(), batch.mask.shape[1]
        _repeat_rows(batch, m)
        u = np.concatenate([uniforms[i][t] for i in conv_ids])
        replies, p_first = lm_sampling.sample_replies(lm, batch, logits.repeat_interleave(m, 0), u, ts, bad_first)
        texts = [tok.decode(r, skip_special_tokens=True).strip() for r in replies]
        broken = np.array([persona.violates(x) for x in texts]).reshape(n, m)
        kept, forced = kept_draws(broken, spec.keep_broken)
        for j, i in enumerate(conv_ids):
            for r in range(m):
                rows.append(
                    dict(
                        window=int(spec.window),
                        conversation=int(i),
                        turn=t + 1,
                        draw=r,
                        violated=bool(broken[j, r]),
                        kept=bool(r == kept[j] and not forced[j]),
                        forced=bool(forced[j]),
                        p_first=float(p_first[j * m + r]),
                        context_tokens=int(seen[j]),
                        reply_tokens=len(replies[j * m + r]),
                        reply=texts[j * m + r],
                    )
                )
        write = persona.violating if spec.keep_broken else persona.consistent
        canonical = [lm_probe._ids(tok, write(qa[q][1])) for q in questions]
        closing = [
            canonical[j] if forced[j] else replies[j * m + kept[j]] for j in range(n)
        ]  # the turn as it stands in the conversation
        for j, i in enumerate(conv_ids):
            segments[i].append(np.concatenate([prompts[j], lm_sampling._close_turn(tok, closing[j])]))
        if not spec.window:
            _keep_rows(lm, batch, np.arange(n) * m + kept, forced, before, slots)
            end = lm_probe._ids(tok, "<|im_end|>\n")
            lm_sampling._forward_chunk(
                lm, batch, [np.concatenate([canonical[j], end]) if forced[j] else end for j in range(n)]
            )
    return rows


def _new_cache():
    from transformers.cache_utils import DynamicCache

    return DynamicCache()


def _keep_rows(lm, batch: lm_sampling._Batch, rows: np.ndarray, forced: np.ndarray, before: np.ndarray, slots: int):
    """Select the kept draw's row per conversation; a forced row's sampled slots are masked out and its
    position count rolled back, so the canonical answer fed next takes the reply's place."""
    batch.cache.batch_select_indices(lm_sampling._index(lm, rows.tolist()))
    batch.mask = batch.mask[lm_sampling._index(lm, rows.tolist())]
    batch.length = batch.length[rows]
    for j in np.flatnonzero(forced):
        batch.mask[j, slots:] = False
        batch.length[j] = before[j]


def run_redraws(lm, spec: RedrawSpec, seed: int) -> pd.DataFrame:
    """Every conversation of ``spec`` in batches of ``spec.batch``; one row per (conversation, turn, draw).

    Columns: ``window``, ``conversation``, ``turn`` (1-based), ``draw``, ``violated``, ``kept`` (the draw the
    conversation continued with), ``forced`` (every draw of the turn broke: the canonical answer was kept),
    ``p_first``, ``context_tokens``, ``reply_tokens``, ``reply``.
    """
    ids = list(range(spec.n_conversations))
    rows: list[dict] = []
    for start in range(0, len(ids), spec.batch):
        rows += sample_redraws(lm, spec, seed, ids[start : start + spec.batch])
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Analysis (pure functions of the table)


def hazard_counts(table: pd.DataFrame, late_from: int) -> np.ndarray:
    """Per conversation: (early breaks, early draws, late breaks, late draws); early = turn < late_from.
    Shape (n_conversations, 4); a conversation (with its seed) is the bootstrap's resampling unit."""
    key = ["seed", "conversation"] if "seed" in table else ["conversation"]
    d = table.assign(late=table["turn"] >= late_from)
    g = d.groupby([*key, "late"])["violated"].agg(["sum", "size"]).unstack("late", fill_value=0)
    out = np.zeros((len(g), 4))
    for j, late in enumerate((False, True)):
        for part, col in ((0, "sum"), (1, "size")):
            if (col, late) in g.columns:
                out[:, 2 * j + part] = g[(col, late)].to_numpy()
    return out


def late_early_ratio(a: np.ndarray) -> float:
    """Pooled late hazard over pooled early hazard (nan when the early hazard is 0)."""
    early, late = a[:, 0].sum() / a[:, 1].sum(), a[:, 2].sum() / a[:, 3].sum()
    return float(late / early) if early > 0 else float("nan")


def turn_hazards(table: pd.DataFrame) -> pd.DataFrame:
    """Per turn: draws, breaks, hazard, forced turns, and the model's mean first-token break mass."""
    g = table.groupby("turn")
    out = g.agg(draws=("violated", "size"), breaks=("violated", "sum"), p_first=("p_first", "mean"))
    out["hazard"] = out["breaks"] / out["draws"]
    out["forced"] = table[table["draw"] == 0].groupby("turn")["forced"].sum()
    return out.reset_index()
