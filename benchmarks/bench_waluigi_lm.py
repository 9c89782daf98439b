"""Benchmark of the learned-model parts of waluigi (run by hand).

    python benchmarks/bench_waluigi_lm.py [--quick]

1. SmolLM2 load time (GGUF -> transformers, with the memoised GGUF parsing).
2. Teacher-forced scoring of 2 x P replies after one context: the probe's engine (context run once,
   KV cache repeated over the batch, vocab head only at reply positions) against the naive baseline
   (one plain full forward per reply), measured in the same run; both must agree.
3. The incremental decay curve: scoring after each of n turns by growing one cache vs re-running
   every context from scratch.
4. Tiny-transformer training throughput (steps/s, tokens/s) on one thread.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from aflab.waluigi import lm_probe
    from aflab.waluigi import transformer as tf

    rows = []
    t0 = time.perf_counter()
    lm = lm_probe.load_smollm2()
    rows.append(("load SmolLM2 (GGUF Q4_1 -> fp32)", time.perf_counter() - t0, "", ""))
    tok = lm.tokenizer
    n_turns, n_probes = (12, 3) if args.quick else (32, 6)
    order = np.random.default_rng(0).permutation(len(lm_probe.QA_PAIRS))
    turns = [lm_probe.turn_ids(tok, lm_probe.QA_PAIRS[i][0], lm_probe.QA_PAIRS[i][1].lower()) for i in order[:n_turns]]
    probes = [lm_probe.QA_PAIRS[i] for i in order[n_turns : n_turns + n_probes]]
    prompts = [lm_probe.prompt_ids(tok, q) for q, _ in probes] * 2
    replies = [lm_probe.reply_ids(tok, a) for _, a in probes] + [lm_probe.reply_ids(tok, a.lower()) for _, a in probes]
    ctx = np.concatenate([lm_probe.system_ids(tok), *turns])

    t0 = time.perf_counter()
    fast = lm_probe.score_replies(lm, ctx, prompts, replies)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = np.array([lm_probe.reference_score(lm, ctx, p, r) for p, r in zip(prompts, replies)])
    t_slow = time.perf_counter() - t0
    err = float(np.abs(fast - slow).max())
    rows.append((f"score {len(replies)} replies after {len(ctx)} tokens: naive", t_slow, "1.0x", ""))
    rows.append(
        (
            f"score {len(replies)} replies after {len(ctx)} tokens: cached+batched",
            t_fast,
            f"{t_slow / t_fast:.1f}x",
            f"max |diff| {err:.1e} nats",
        )
    )

    grid = [n for n in (1, 2, 4, 8, 16, 32) if n <= n_turns]
    t0 = time.perf_counter()
    for n in grid:
        lm_probe.score_replies(lm, np.concatenate([lm_probe.system_ids(tok), *turns[:n]]), prompts, replies)
    t_scratch = time.perf_counter() - t0
    t0 = time.perf_counter()
    state = lm_probe.encode_context(lm, lm_probe.system_ids(tok))
    for n in range(1, max(grid) + 1):
        lm_probe.extend(lm, state, turns[n - 1])
        if n in grid:
            lm_probe.score_from(lm, state, prompts, replies)
    t_inc = time.perf_counter() - t0
    rows.append((f"decay curve at n={grid}: contexts from scratch", t_scratch, "1.0x", ""))
    rows.append((f"decay curve at n={grid}: one growing cache", t_inc, f"{t_scratch / t_inc:.1f}x", ""))

    steps = 50 if args.quick else 200
    spec = tf.TransformerSpec(context=24, steps=steps)
    trained = tf.train_on_mixture(tf.persona_source(), spec, 0)
    tokens = steps * spec.batch * (spec.context + 1)
    rows.append(
        (
            f"train tiny transformer ({steps} steps, d=32, K=24)",
            trained.train_seconds,
            f"{steps / trained.train_seconds:.0f} steps/s",
            f"{tokens / trained.train_seconds:,.0f} tokens/s",
        )
    )

    print(f"device: {lm.device}, torch threads: {torch.get_num_threads()}")
    print(f"{'what':<66} {'seconds':>8} {'speed':>16}  note")
    for what, sec, speed, note in rows:
        print(f"{what:<66} {sec:>8.2f} {speed:>16}  {note}")


if __name__ == "__main__":
    main()
