"""Sampled persona transitions of SmolLM2-135M-Instruct: does a bounded window leave a hazard floor?

The Waluigi thread predicts, for a reader that conditions on its own output: with full context every
persona-consistent turn is evidence against the persona-breaking "waluigi", so the per-turn hazard of
breaking character decays; with a window of ``k`` tokens the evidence is capped and the hazard stays
at a floor ``eps_k > 0``. Here the model *generates* whole conversations and we time its first break.

A conversation (:class:`TransitionSpec`) is the persona's system prompt, ``n_seed_turns`` teacher-forced
persona-consistent turns (question + consistent canonical answer), then ``n_turns`` sampled turns: a
held-out question from :data:`lm_probe.QA_PAIRS` and the model's own reply, sampled at temperature T
(default 0.7; no top-k / top-p) up to ``<|im_end|>`` or ``max_new_tokens``. At T = 1 the 135M model's
replies are often incoherent and it breaks the lowercase persona on ~40-60% of turns under every reader. Each reply is scored by the persona's
deterministic checker (:func:`lm_probe.violates_lowercase`: any upper-case letter; or the banned word).
The event is the first violating turn; the conversation stops there.

Readers (``windows``): ``0`` = full context; ``k > 0`` = the last ``k`` tokens of the conversation
*before the current question* (whole turns, ``window_unit="turn"``, as chat front-ends drop old turns;
the system prompt slides out too), then the current question and the reply being generated. The
windowed view is re-encoded every turn as a fresh document (a sliding window read from position 0,
the convention of the Bayes reader); the full context grows one key/value cache.

Randomness: conversation ``i`` of seed ``s`` draws its question order and a table of uniforms
``U[turn, token]`` from ``default_rng([s, i])``; a token is drawn by inverse CDF of the float64 softmax.
Every reader of conversation ``i`` uses the same questions and uniforms (common random numbers): the
readers are paired, and a reader that ignores its window reproduces the full-context conversation
exactly (the claim's counterfactual).

Prediction from the model's own probabilities: at the first reply token of every turn we record
``p_first`` = the softmax mass on tokens whose text already breaks the persona (an upper-case letter;
the banned word). Averaged over the conversations at risk it is the hazard the model itself assigns
to an immediate break, a lower bound of the sampled hazard (a reply can also break later).

Batching: conversations of one reader run as a batch; a batch shares one cache whose rows are
right-padded (``attention_mask`` marks padding; ``position_ids`` count each row's own tokens), so no row
ever attends to padding and a row's numbers do not depend on its neighbours beyond float rounding.
Rows that break character leave the batch (``DynamicCache.batch_select_indices``). Runs on CUDA unchanged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aflab.waluigi import lm_probe


@dataclass(frozen=True)
class TransitionSpec:
    """What to sample (see the module docstring)."""

    n_conversations: int = 32
    n_turns: int = 16
    windows: tuple[int, ...] = (0, 64)
    n_seed_turns: int = 4
    max_new_tokens: int = 24
    temperature: float = 0.7
    persona: str = "lowercase"
    batch: int = 16
    window_unit: str = "turn"
    ignore_window: bool = False

    def __post_init__(self) -> None:
        lm_probe.get_persona(self.persona)
        if self.window_unit not in ("turn", "token"):
            raise ValueError(f"window_unit must be 'turn' or 'token', got {self.window_unit!r}")
        if not self.windows or any(k != 0 and k < 16 for k in self.windows):
            raise ValueError("windows: 0 (full context) or k >= 16 tokens, e.g. (0, 64, 128)")
        if self.n_seed_turns + self.n_turns > len(lm_probe.QA_PAIRS):
            raise ValueError(
                f"n_seed_turns + n_turns = {self.n_seed_turns + self.n_turns} exceeds the "
                f"{len(lm_probe.QA_PAIRS)} distinct questions; lower one of them"
            )
        for name in ("n_conversations", "n_turns", "max_new_tokens", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not self.temperature > 0:
            raise ValueError("temperature must be > 0")


@functools.lru_cache(maxsize=4)
def violating_first_tokens(tokenizer, persona: str) -> np.ndarray:
    """Bool mask over the vocabulary: tokens whose text alone already breaks the persona."""
    checker = lm_probe.get_persona(persona)
    vocab = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(vocab)], skip_special_tokens=True)
    return np.array([checker.violates(t) for t in texts], dtype=bool)


@dataclass
class _Batch:
    """Rows of a batch sharing one cache: ``mask`` (B, slots) marks real tokens, ``length`` counts them."""

    cache: object
    mask: object  # torch bool (B, slots)
    length: np.ndarray  # (B,) real tokens per row (the next position id)


def _forward_chunk(lm, batch: _Batch, chunk: list[np.ndarray]):
    """Append one right-padded chunk per row; return the logits after each row's last real token."""
    import torch

    dev = lm.device
    width = max(len(c) for c in chunk)
    ids = np.zeros((len(chunk), width), dtype=np.int64)
    real = np.zeros((len(chunk), width), dtype=bool)
    for i, c in enumerate(chunk):
        ids[i, : len(c)] = c
        real[i, : len(c)] = True
    pos = batch.length[:, None] + np.maximum(np.cumsum(real, axis=1) - 1, 0)
    new_mask = torch.as_tensor(real, device=dev)
    batch.mask = torch.cat([batch.mask, new_mask], dim=1)
    with torch.inference_mode():
        h = lm.model.model(
            input_ids=torch.as_tensor(ids, device=dev),
            position_ids=torch.as_tensor(pos, device=dev),
            attention_mask=batch.mask.long(),
            use_cache=True,
            **{lm.cache_kwarg: batch.cache},
        ).last_hidden_state
        last = torch.as_tensor(np.array([len(c) - 1 for c in chunk]), device=dev)
        logits = lm.model.lm_head(h[torch.arange(len(chunk), device=dev), last]).double()
    batch.length = batch.length + real.sum(axis=1)
    return logits


def _draw(logits, u: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF draw from softmax(logits / T) with the given uniforms; also the probabilities."""
    import torch

    p = torch.softmax(logits / temperature, dim=-1).cpu().numpy()
    cdf = np.cumsum(p, axis=1)
    tok = np.array([np.searchsorted(cdf[i], u[i] * cdf[i, -1], side="right") for i in range(len(u))])
    return np.minimum(tok, p.shape[1] - 1), p


def _generate(lm, batch: _Batch, chunk: list[np.ndarray], u: np.ndarray, spec: TransitionSpec, bad_first: np.ndarray):
    """Feed ``chunk`` (the question, per row), then sample each row's reply with its uniforms ``u`` (B, max_new).

    Returns the replies (token ids without ``<|im_end|>``) and ``p_first`` per row. Finished rows feed a
    padding token (masked) until every row is done.
    """
    return sample_replies(lm, batch, _forward_chunk(lm, batch, chunk), u, spec, bad_first)


def sample_replies(lm, batch: _Batch, logits, u: np.ndarray, spec: TransitionSpec, bad_first: np.ndarray):
    """Sample each row's reply from ``logits`` (the next-token logits after its prompt) with uniforms ``u``."""
    import torch

    end_id = lm.tokenizer.convert_tokens_to_ids("<|im_end|>")
    B = len(u)
    replies: list[list[int]] = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    p_first = np.zeros(B)
    for j in range(spec.max_new_tokens):
        tok, p = _draw(logits, u[:, j], spec.temperature)
        if j == 0:
            bad = np.zeros(p.shape[1], dtype=bool)
            bad[: min(p.shape[1], bad_first.size)] = bad_first[: p.shape[1]]
            p_first = p[:, bad].sum(axis=1)
        for i in np.flatnonzero(~done):
            if tok[i] == end_id:
                done[i] = True
            else:
                replies[i].append(int(tok[i]))
        if done.all():
            break
        # a reply cut at max_new_tokens: its last token is still fed, so the cache holds the whole reply
        feed = [np.array([end_id if done[i] else tok[i]]) for i in range(B)]
        step_mask = ~done
        logits = _forward_chunk(lm, batch, feed)
        # rows that had finished fed a placeholder: mark it as padding (never attended to)
        batch.mask[:, -1] = torch.as_tensor(step_mask, device=batch.mask.device)
        batch.length = batch.length - (~step_mask).astype(np.int64)
        if j == spec.max_new_tokens - 1:
            break
    return [np.asarray(r, dtype=np.int64) for r in replies], p_first


def _conversation_plan(spec: TransitionSpec, seed: int, i: int):
    """Question order and the uniforms table of conversation ``i`` (shared by every reader)."""
    rng = np.random.default_rng([seed, i])
    order = rng.permutation(len(lm_probe.QA_PAIRS))[: spec.n_seed_turns + spec.n_turns]
    u = rng.random((spec.n_turns, spec.max_new_tokens))
    return order, u


def _close_turn(tok, reply: np.ndarray) -> np.ndarray:
    """The reply as it stands in the conversation: the tokens, ``<|im_end|>`` and the newline."""
    return np.concatenate([reply, lm_probe._ids(tok, "<|im_end|>\n")])


def sample_reader(lm, spec: TransitionSpec, seed: int, window: int, conv_ids: list[int]) -> list[dict]:
    """Sample conversations ``conv_ids`` under one reader (``window`` 0 = full context); one row per turn."""
    from transformers.cache_utils import DynamicCache

    tok = lm.tokenizer
    persona = lm_probe.get_persona(spec.persona)
    bad_first = violating_first_tokens(tok, spec.persona)
    sys_ids = lm_probe.system_ids(tok, persona.system_prompt)
    plans = {i: _conversation_plan(spec, seed, i) for i in conv_ids}
    segments = {
        i: [sys_ids]
        + [
            lm_probe.turn_ids(tok, lm_probe.QA_PAIRS[q][0], persona.consistent(lm_probe.QA_PAIRS[q][1]))
            for q in plans[i][0][: spec.n_seed_turns]
        ]
        for i in conv_ids
    }
    alive = list(conv_ids)
    rows: list[dict] = []
    batch = None
    for t in range(spec.n_turns):
        if not alive:
            break
        prompts = [lm_probe.prompt_ids(tok, lm_probe.QA_PAIRS[plans[i][0][spec.n_seed_turns + t]][0]) for i in alive]
        if window:
            views = [lm_probe.window_view(segments[i], window, spec.window_unit) for i in alive]
            chunk = [np.concatenate([v, p]) for v, p in zip(views, prompts)]
            batch = _Batch(DynamicCache(), _empty_mask(lm, len(alive)), np.zeros(len(alive), dtype=np.int64))
        elif batch is None:
            chunk = [np.concatenate([*segments[i], p]) for i, p in zip(alive, prompts)]
            batch = _Batch(DynamicCache(), _empty_mask(lm, len(alive)), np.zeros(len(alive), dtype=np.int64))
        else:
            chunk = prompts
        seen = [len(c) + (0 if window else int(batch.length[j])) for j, c in enumerate(chunk)]
        u = np.stack([plans[i][1][t] for i in alive])
        replies, p_first = _generate(lm, batch, chunk, u, spec, bad_first)
        keep = []
        for j, i in enumerate(alive):
            text = tok.decode(replies[j], skip_special_tokens=True).strip()
            violated = persona.violates(text)
            rows.append(
                dict(
                    window=int(window),
                    conversation=int(i),
                    turn=t + 1,
                    violated=bool(violated),
                    p_first=float(p_first[j]),
                    context_tokens=int(seen[j]),
                    reply_tokens=len(replies[j]),
                    reply=text,
                )
            )
            segments[i].append(np.concatenate([prompts[j], _close_turn(tok, replies[j])]))
            if not violated:
                keep.append(j)
        if not window and len(keep) < len(alive) and keep:
            batch.cache.batch_select_indices(_index(lm, keep))
            batch.mask = batch.mask[_index(lm, keep)]
            batch.length = batch.length[keep]
        if not window:
            # the reply's closing tokens join the full-context cache before the next question
            closers = [lm_probe._ids(tok, "<|im_end|>\n")] * len(keep)
            alive = [alive[j] for j in keep]
            if alive:
                _forward_chunk(lm, batch, closers)
        else:
            alive = [alive[j] for j in keep]
    return rows


def _empty_mask(lm, b: int):
    import torch

    return torch.zeros((b, 0), dtype=torch.bool, device=lm.device)


def _index(lm, keep: list[int]):
    import torch

    return torch.as_tensor(keep, dtype=torch.long, device=lm.device)


def run_transitions(lm, spec: TransitionSpec, seed: int) -> pd.DataFrame:
    """Every reader in ``spec.windows`` over the same ``n_conversations`` (batched); one row per sampled turn.

    Columns: ``window`` (0 = full), ``conversation``, ``turn`` (1-based), ``violated``, ``p_first``,
    ``context_tokens`` (what the reader saw before the reply), ``reply_tokens``, ``reply``.
    With ``ignore_window`` (the mutation) every windowed reader runs the windowed code path -- the
    conversation re-encoded every turn -- with a window wider than any conversation
    (:data:`UNBOUNDED_WINDOW`), i.e. it sees the full context; by the common random numbers it reproduces
    the full reader's replies (tested), and its rows are labelled with the window it replaces.
    """
    rows: list[dict] = []
    unbounded: list[dict] | None = None
    for window in spec.windows:
        if window and spec.ignore_window:
            if unbounded is None:
                unbounded = _all_batches(lm, spec, seed, UNBOUNDED_WINDOW)
            rows += [dict(r, window=int(window)) for r in unbounded]
            continue
        rows += _all_batches(lm, spec, seed, window)
    return pd.DataFrame(rows)


#: the mutation's window: wider than any conversation the presets can build (68 turns of <= 256 tokens)
UNBOUNDED_WINDOW = 1 << 20


def _all_batches(lm, spec: TransitionSpec, seed: int, window: int) -> list[dict]:
    ids = list(range(spec.n_conversations))
    out: list[dict] = []
    for start in range(0, len(ids), spec.batch):
        out += sample_reader(lm, spec, seed, window, ids[start : start + spec.batch])
    return out


# --------------------------------------------------------------------------------------------
# Analysis (pure functions of the table)


def first_events(table: pd.DataFrame, window: int, n_turns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per conversation of one reader: (clean turns before the first break, observed?, cluster key).

    Censored conversations (no break in ``n_turns``) have time ``n_turns`` and observed False.
    """
    d = table[table["window"] == window]
    key = ["seed", "conversation"] if "seed" in d else ["conversation"]
    g = d.groupby(key)
    last = g["turn"].max()
    broke = g["violated"].any()
    time = np.where(broke, last - 1, n_turns).astype(np.int64)
    clusters = np.array([str(k) for k in last.index])
    return time, broke.to_numpy(bool), clusters


def hazard_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per (reader, turn): at risk, breaks, sampled hazard, and the model's mean ``p_first`` at risk."""
    g = table.groupby(["window", "turn"])
    out = g.agg(at_risk=("violated", "size"), breaks=("violated", "sum"), p_first=("p_first", "mean"))
    out["hazard"] = out["breaks"] / out["at_risk"]
    return out.reset_index()


#: columns of :func:`pair_counts`
PAIR_COLUMNS = (
    "win_late_breaks",
    "win_late_turns",
    "full_late_breaks",
    "full_late_turns",
    "full_early_breaks",
    "full_early_turns",
    "win_early_breaks",
    "win_early_turns",
)


def pair_counts(table: pd.DataFrame, window: int, late_from: int) -> np.ndarray:
    """Per conversation (the pair of readers that share its questions and random numbers): breaks and turns
    at risk, early (turn < late_from) and late (turn >= late_from), for reader ``window`` and the full
    context. Shape (n_conversations, 8) in the order of :data:`PAIR_COLUMNS`; a conversation is the
    bootstrap's resampling unit."""
    key = ["seed", "conversation"] if "seed" in table else ["conversation"]
    d = table[table["window"].isin([0, window])].assign(late=lambda x: x["turn"] >= late_from)
    g = d.groupby([*key, "window", "late"])["violated"].agg(["sum", "size"]).unstack(["window", "late"], fill_value=0)
    out = np.zeros((len(g), 8))
    for j, (w, late) in enumerate(((window, True), (0, True), (0, False), (window, False))):
        for part, col in ((0, "sum"), (1, "size")):
            if (col, w, late) in g.columns:
                out[:, 2 * j + part] = g[(col, w, late)].to_numpy()
    return out


def late_gap(a: np.ndarray) -> float:
    """Late hazard of the windowed reader minus that of the full-context reader (pooled breaks / turns)."""
    return _ratio(a[:, 0], a[:, 1]) - _ratio(a[:, 2], a[:, 3])


def full_decay(a: np.ndarray) -> float:
    """Full-context hazard, late minus early turns (pooled breaks / turns)."""
    return _ratio(a[:, 2], a[:, 3]) - _ratio(a[:, 4], a[:, 5])


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d > 0 else float("nan")
