"""Benchmark of the sampled-transition engine (aflab.waluigi.lm_sampling), run by hand.

    python benchmarks/bench_waluigi_sampling.py [--quick] [--conversations 16] [--turns 4]

1. Batched sampling (all conversations of a reader in one right-padded batch, one shared KV cache) against
   the baseline of one conversation at a time, measured in the same run on the same conversations; the
   replies must be identical (common random numbers, float rounding aside).
2. CPU seconds per sampled conversation-turn for each reader (full context, windows 64 / 128 / 256): the
   numbers behind the full preset's cost estimate in docs/waluigi_ml.md.

Timings are wall and CPU seconds of this process on one torch thread; the machine may be shared, so read
the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=16)
    ap.add_argument("--turns", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="6 conversations x 2 turns (about a minute)")
    args = ap.parse_args()
    if args.quick:
        args.conversations, args.turns = 6, 2
    import torch

    torch.set_num_threads(1)
    from aflab.waluigi import lm_probe, lm_sampling

    lm = lm_probe.load_smollm2()
    n, turns = args.conversations, args.turns
    spec = lm_sampling.TransitionSpec(n_conversations=n, n_turns=turns, windows=(0, 64), batch=n, max_new_tokens=20)
    ids = list(range(n))
    batched, w_b, c_b = timed(lambda: pd.DataFrame(lm_sampling.sample_reader(lm, spec, 0, 64, ids)))
    single, w_s, c_s = timed(
        lambda: pd.concat([pd.DataFrame(lm_sampling.sample_reader(lm, spec, 0, 64, [i])) for i in ids])
    )
    same = (
        batched.sort_values(["conversation", "turn"])["reply"].tolist()
        == single.sort_values(["conversation", "turn"])["reply"].tolist()
    )
    print(f"window-64 reader, {n} conversations x <= {turns} turns ({len(batched)} turn rows), machine shared")
    print(f"  one conversation at a time: wall {w_s:7.1f} s  cpu {c_s:7.1f} s   1.0x")
    print(f"  batched ({n} rows):          wall {w_b:7.1f} s  cpu {c_b:7.1f} s   {c_s / c_b:.1f}x (cpu)")
    print(f"  identical replies: {same}")
    print("CPU seconds per sampled conversation-turn, batch = all conversations:")
    for window in (0, 64, 128, 256):
        s = lm_sampling.TransitionSpec(n_conversations=n, n_turns=turns, windows=(0,), batch=n, max_new_tokens=20)
        rows, _w, c = timed(lambda s=s, window=window: lm_sampling.sample_reader(lm, s, 1, window, ids))
        name = "full context" if window == 0 else f"window {window}"
        print(f"  {name:13s}: {len(rows):4d} turn rows, cpu {c:7.1f} s -> {c / len(rows):.3f} s per turn")


if __name__ == "__main__":
    main()
