"""A small transformer trained on the simulated persona source: is it the windowed Bayes reader?

The Waluigi thread's argument treats an LLM as a high-order Markov model that approximates the
Bayes-mixture predictive over personas given its context window. Here we check that premise where
the answer is known exactly: documents are sampled from a :class:`~aflab.waluigi.model.PersonaMixture`
(a luigi and a waluigi with hazard ``h``, a small alphabet with several neutral tokens), a causal
transformer is trained by next-token cross-entropy on documents of ``K + 1`` tokens, and its
predictions are compared with the exact Bayes predictive :func:`~aflab.waluigi.model.bayes_predictive`:

* **plateau**: ``p_model(k) = P(revealing | a window of k neutral tokens)`` against the exact floor
  ``eps_k`` (the same for every neutral window of length ``k``, since every persona emits its
  neutral tokens uniformly);
* **survival** of self-conditioned generation with window ``k <= K``: the model reads only the last
  ``k`` generated tokens as the start of a document. Before the first revealing token the window is
  all-neutral, so the Bayes survival is exact:  ``S(t) = prod_{s<t} (1 - eps_{min(s,k)})``.
  The model's survival is estimated without rare-event sampling: trajectories are rolled out
  *conditioned on survival* (next token drawn from the model's predictive restricted to neutral
  tokens) and weighted by ``prod (1 - p_model(revealing | window))`` (importance weights, exact in
  expectation);
* **KL(Bayes || model)** of the next-token predictive on fresh source documents, per position.

Input convention: a BOS token (id ``V``) then the window; position ``j`` of the input predicts the
``(j+1)``-th token, so the model reads windows of ``0..K`` tokens as document starts, exactly the
convention of ``bayes_predictive``. CPU, one thread (``torch.set_num_threads(1)``), seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aflab.waluigi.model import (
    Luigi,
    PersonaMixture,
    TokenAlphabet,
    Waluigi,
    bayes_predictive,
    sample_documents,
)


@dataclass(frozen=True)
class TransformerSpec:
    """Architecture and training schedule (defaults: about 10 s on one CPU thread)."""

    context: int = 24  # K: longest window the model reads
    d_model: int = 32
    n_layers: int = 2
    n_heads: int = 2
    steps: int = 400
    batch: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("context", self.context, 1, 512),
            ("d_model", self.d_model, 4, 1024),
            ("n_layers", self.n_layers, 1, 24),
            ("n_heads", self.n_heads, 1, 64),
            ("steps", self.steps, 1, 10**6),
            ("batch", self.batch, 1, 1 << 16),
        )
        for name, value, lo, hi in checks:
            if int(value) != value or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if not (0 < self.lr < 1):
            raise ValueError(f"lr must lie in (0, 1), got {self.lr!r}")


def persona_source(h: float = 0.1, p_waluigi: float = 0.5, n_neutral: int = 2, r: float = 1.0) -> PersonaMixture:
    """Luigi + single-type waluigi over ``n_neutral`` neutral tokens and one revealing token (the last id)."""
    if int(n_neutral) != n_neutral or n_neutral < 1:
        raise ValueError(f"n_neutral must be an integer >= 1, got {n_neutral!r}")
    alphabet = TokenAlphabet(n_neutral + 1, revealing=(n_neutral,))
    return PersonaMixture((Luigi(0.0), Waluigi(h, r, 0.0)), (1.0 - p_waluigi, p_waluigi), alphabet)


def _torch():
    import torch

    return torch


def build_net(vocab: int, spec: TransformerSpec):
    """A pre-LayerNorm causal transformer: token + learned position embeddings, ``vocab + 1`` inputs (BOS)."""
    torch = _torch()
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(spec.d_model), nn.LayerNorm(spec.d_model)
            self.qkv = nn.Linear(spec.d_model, 3 * spec.d_model)
            self.proj = nn.Linear(spec.d_model, spec.d_model)
            self.mlp = nn.Sequential(
                nn.Linear(spec.d_model, 4 * spec.d_model), nn.GELU(), nn.Linear(4 * spec.d_model, spec.d_model)
            )

        def forward(self, x):
            B, T, D = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, spec.n_heads, D // spec.n_heads).permute(2, 0, 3, 1, 4)
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(B, T, D))
            return x + self.mlp(self.ln2(x))

    class TinyGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab + 1, spec.d_model)
            self.pos = nn.Embedding(spec.context + 1, spec.d_model)
            self.blocks = nn.ModuleList(Block() for _ in range(spec.n_layers))
            self.ln = nn.LayerNorm(spec.d_model)
            self.head = nn.Linear(spec.d_model, vocab)

        def forward(self, idx):  # idx (B, T) including BOS -> logits (B, T, vocab)
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))[None]
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln(x))

    return TinyGPT()


@dataclass(frozen=True)
class TrainedModel:
    """A trained net with its source and spec; ``losses``: training cross-entropy per step (nats)."""

    net: object
    mixture: PersonaMixture
    spec: TransformerSpec
    losses: np.ndarray
    train_seconds: float


def _with_bos(windows: np.ndarray, vocab: int):
    torch = _torch()
    w = np.asarray(windows, dtype=np.int64)
    bos = np.full((w.shape[0], 1), vocab, dtype=np.int64)
    return torch.as_tensor(np.concatenate([bos, w], axis=1))


def train_on_mixture(
    mixture: PersonaMixture, spec: TransformerSpec, seed: int, progress: Callable[[int], None] | None = None
) -> TrainedModel:
    """Next-token cross-entropy on fresh documents of ``K + 1`` tokens each step (no data reuse).

    AdamW with linear warm-up (5% of steps) and cosine decay; one torch thread; all randomness from
    ``seed`` (torch generator for the init, NumPy generator for the data). ``progress(step)`` is
    called after each step (for a progress bar).
    """
    import time

    torch = _torch()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V = mixture.alphabet.size
    net = build_net(V, spec)
    opt = torch.optim.AdamW(net.parameters(), lr=spec.lr, weight_decay=spec.weight_decay, betas=(0.9, 0.98))
    warm = max(1, spec.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / spec.steps)))
    )
    losses = np.empty(spec.steps)
    start = time.perf_counter()
    net.train()
    for step in range(spec.steps):
        docs = sample_documents(mixture, spec.batch, spec.context + 1, rng)
        inp = _with_bos(docs[:, :-1], V)
        tgt = torch.as_tensor(docs)
        logits = net(inp)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses[step] = float(loss.detach())
        if progress is not None:
            progress(step + 1)
    net.eval()
    return TrainedModel(net, mixture, spec, losses, time.perf_counter() - start)


def model_predictive(trained: TrainedModel, windows: np.ndarray) -> np.ndarray:
    """The net's next-token distribution ``(B, V)`` after each window ``(B, k)``, ``k <= K``."""
    torch = _torch()
    w = np.asarray(windows, dtype=np.int64)
    if w.ndim != 2 or w.shape[1] > trained.spec.context:
        raise ValueError(f"windows must have shape (B, k) with k <= context K={trained.spec.context}, got {w.shape}")
    V = trained.mixture.alphabet.size
    if w.size and (w.min() < 0 or w.max() >= V):
        raise ValueError(f"windows hold token ids outside 0..{V - 1} (alphabet mismatch)")
    with torch.inference_mode():
        logits = trained.net(_with_bos(w, V))[:, -1].double()
        return torch.softmax(logits, dim=-1).numpy()


def neutral_windows(mixture: PersonaMixture, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` windows of ``k`` uniformly drawn neutral tokens."""
    neutral = np.asarray(mixture.alphabet.neutral)
    return neutral[rng.integers(0, neutral.size, size=(n, k))]


def bayes_floor(mixture: PersonaMixture, k: int) -> float:
    """``eps_k = P(revealing | k neutral tokens)`` from the exact Bayes reader (window of token ``neutral[0]``)."""
    # an empty window is passed as one left-padding entry (-1): bayes_predictive needs k >= 1 columns
    w = np.full((1, k), mixture.alphabet.neutral[0], dtype=np.int64) if k else np.full((1, 1), -1)
    return float(bayes_predictive(mixture, w)[0, list(mixture.alphabet.revealing)].sum())


def plateau_rows(trained: TrainedModel, ks, n_windows: int, rng: np.random.Generator) -> list[dict]:
    """Model vs Bayes ``P(revealing | k neutral tokens)`` for each ``k`` (model averaged over windows)."""
    rev = list(trained.mixture.alphabet.revealing)
    rows = []
    for k in ks:
        w = neutral_windows(trained.mixture, n_windows, k, rng)
        p = model_predictive(trained, w)[:, rev].sum(axis=1)
        rows.append(
            dict(
                kind="plateau",
                k=int(k),
                p_model=float(p.mean()),
                p_model_sd=float(p.std()),
                p_bayes=bayes_floor(trained.mixture, k),
            )
        )
    return rows


def windowed_survival(
    trained: TrainedModel, k: int, steps: int, n_traj: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Self-conditioned generation with window ``k``: ``(t, S_model, S_bayes, hazard_model)``.

    ``S(t)`` = P(no revealing token among the first ``t`` generated tokens), ``t = 0..steps``.
    Model: survival-conditioned rollouts with importance weights (module docstring); the hazard at
    step ``t`` is the weighted mean of ``p_model(revealing | window)``. Bayes: the exact product.
    """
    if not 1 <= k <= trained.spec.context:
        raise ValueError(f"window k must be in 1..K={trained.spec.context}, got {k}")
    mix = trained.mixture
    rev = np.asarray(mix.alphabet.revealing)
    neutral = np.asarray(mix.alphabet.neutral)
    eps = np.array([bayes_floor(mix, j) for j in range(k + 1)])
    s_bayes = np.concatenate([[1.0], np.cumprod(1.0 - eps[np.minimum(np.arange(steps), k)])])
    traj = np.zeros((n_traj, steps), dtype=np.int64)
    log_w = np.zeros(n_traj)
    s_model = np.ones(steps + 1)
    hazard = np.zeros(steps)
    for t in range(steps):
        window = traj[:, max(0, t - k) : t]
        probs = model_predictive(trained, window)
        p_rev = probs[:, rev].sum(axis=1)
        w = np.exp(log_w - log_w.max())
        hazard[t] = float((w * p_rev).sum() / w.sum())
        log_w += np.log1p(-np.minimum(p_rev, 1 - 1e-12))
        s_model[t + 1] = float(np.exp(log_w).mean())
        pn = probs[:, neutral]
        pn = pn / pn.sum(axis=1, keepdims=True)
        u = rng.random(n_traj)[:, None]
        traj[:, t] = neutral[np.minimum((u >= np.cumsum(pn, axis=1)[:, :-1]).sum(axis=1), neutral.size - 1)]
    return np.arange(steps + 1), s_model, s_bayes, hazard


def kl_to_bayes(trained: TrainedModel, n_docs: int, rng: np.random.Generator) -> tuple[float, float]:
    """Mean KL(Bayes || model) over all positions of fresh source documents, and its standard error."""
    mix, K = trained.mixture, trained.spec.context
    docs = sample_documents(mix, n_docs, K, rng)
    kls = []
    for j in range(K):  # prefix of length j -> predictive for token j + 1
        w = docs[:, :j]
        pb = bayes_predictive(mix, w if j else np.full((n_docs, 1), -1))
        pm = model_predictive(trained, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(pb > 0, pb * (np.log(pb) - np.log(np.maximum(pm, 1e-300))), 0.0)
        kls.append(terms.sum(axis=1))
    per_doc = np.mean(kls, axis=0)
    return float(per_doc.mean()), float(per_doc.std(ddof=1) / np.sqrt(n_docs))


# ------------------------------------------------------------------------------ beyond the context
# A transformer with a bounded context w trained on *long* documents (L >> w tokens): every training
# example is a chunk of w consecutive tokens cut at a uniform position of a fresh document (with
# probability ``p_start`` the chunk is the document's start, marked by BOS). It is then run far beyond
# L tokens, always reading its last w tokens. Its Bayes reference is not the document-start reader:
# a window cut from the middle of a long document carries no BOS, so the optimal predictor averages
# over the positions where such a window occurs in training (:func:`position_averaged_floor`).


def position_averaged_floor(h: float, w_waluigi: float, w: int, doc_len: int) -> float:
    """P(revealing next | w neutral tokens, no BOS) for windows cut uniformly from documents of ``doc_len``.

    Luigi (delta = 0) + single-type waluigi (r = 1): a clean window ending at document position t means
    "not defected by t", so with the window's end t uniform on w..L-1 (1-based: the window x_{t-w+1..t}):
        eps_w^train = sum_t p (1-h)^t h / sum_t [(1 - p) + p (1-h)^t].
    A long L dilutes the waluigi's clean windows with the luigi's: eps_w^train << eps_w (document start).
    """
    t = np.arange(w, doc_len, dtype=float)
    clean_w = w_waluigi * (1 - h) ** t
    return float((clean_w * h).sum() / ((1 - w_waluigi) + clean_w).sum())


def chunk_batch(mixture: PersonaMixture, batch: int, w: int, doc_len: int, p_start: float, rng: np.random.Generator):
    """``(inputs, targets)`` of shape (batch, w): chunks of fresh documents of ``doc_len`` tokens.

    A start chunk is ``[BOS, x_1..x_{w-1}] -> x_1..x_w``; any other is ``x_{a+1}..x_{a+w} -> x_{a+2}..x_{a+w+1}``
    with the offset ``a`` uniform on 0..L-w-1 (no BOS: the reader cannot tell where in the document it is).
    """
    V = mixture.alphabet.size
    docs = sample_documents(mixture, batch, doc_len, rng)
    start = rng.random(batch) < p_start
    a = rng.integers(0, doc_len - w, size=batch)
    idx = a[:, None] + np.arange(w + 1)[None, :]
    chunk = np.take_along_axis(docs, idx, axis=1)
    inputs, targets = chunk[:, :-1].copy(), chunk[:, 1:].copy()
    inputs[start] = np.concatenate([np.full((start.sum(), 1), V), docs[start, : w - 1]], axis=1)
    targets[start] = docs[start, :w]
    return inputs, targets


def train_on_chunks(
    mixture: PersonaMixture, spec: TransformerSpec, doc_len: int, seed: int, p_start: float = 0.1
) -> TrainedModel:
    """Next-token cross-entropy on chunks of ``spec.context`` tokens cut from fresh ``doc_len``-token documents.

    Same optimiser and schedule as :func:`train_on_mixture`; the net reads at most ``w = spec.context`` tokens.
    """
    torch = _torch()
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V, w = mixture.alphabet.size, spec.context
    if doc_len <= w:
        raise ValueError(f"doc_len={doc_len} must exceed the context w={w} (train on long documents)")
    net = build_net(V, spec)
    opt = torch.optim.AdamW(net.parameters(), lr=spec.lr, weight_decay=spec.weight_decay, betas=(0.9, 0.98))
    warm = max(1, spec.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / spec.steps)))
    )
    losses = np.empty(spec.steps)
    net.train()
    for step in range(spec.steps):
        inputs, targets = chunk_batch(mixture, spec.batch, w, doc_len, p_start, rng)
        logits = net(torch.as_tensor(inputs))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), torch.as_tensor(targets).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses[step] = float(loss.detach())
    net.eval()
    return TrainedModel(net, mixture, spec, losses, 0.0)


def raw_predictive(trained: TrainedModel, inputs: np.ndarray) -> np.ndarray:
    """The net's next-token distribution after each input row (BOS = id V given explicitly, no BOS added)."""
    torch = _torch()
    with torch.inference_mode():
        logits = trained.net(torch.as_tensor(np.asarray(inputs, dtype=np.int64)))[:, -1].double()
        return torch.softmax(logits, dim=-1).numpy()


def rollout_hazard(
    predict, mixture: PersonaMixture, w: int, steps: int, n_traj: int, rng: np.random.Generator, bos_window: bool
) -> np.ndarray:
    """Per-step hazard of self-conditioned generation reading the last ``w`` tokens, for ``steps`` tokens.

    ``predict(inputs) -> (B, V)``. Inputs: ``[BOS] + tokens`` while the document start is in view; after
    that the last ``w`` tokens, with a BOS in front when ``bos_window`` (the window read as a fresh document,
    the aflab reader's convention) or bare (the chunk-trained reader's view deep inside a document).
    Survival-conditioned rollouts with importance weights, as :func:`windowed_survival`.
    """
    V = mixture.alphabet.size
    rev = np.asarray(mixture.alphabet.revealing)
    neutral = np.asarray(mixture.alphabet.neutral)
    traj = np.zeros((n_traj, steps), dtype=np.int64)
    log_w = np.zeros(n_traj)
    hazard = np.zeros(steps)
    bos = np.full((n_traj, 1), V, dtype=np.int64)
    for t in range(steps):
        if t < w:
            inputs = np.concatenate([bos, traj[:, :t]], axis=1)
        else:
            window = traj[:, t - w : t]
            inputs = np.concatenate([bos, window], axis=1) if bos_window else window
        probs = predict(inputs)
        p_rev = probs[:, rev].sum(axis=1)
        wt = np.exp(log_w - log_w.max())
        hazard[t] = float((wt * p_rev).sum() / wt.sum())
        log_w += np.log1p(-np.minimum(p_rev, 1 - 1e-12))
        pn = probs[:, neutral] / probs[:, neutral].sum(axis=1, keepdims=True)
        u = rng.random(n_traj)[:, None]
        traj[:, t] = neutral[np.minimum((u >= np.cumsum(pn, axis=1)[:, :-1]).sum(axis=1), neutral.size - 1)]
    return hazard
