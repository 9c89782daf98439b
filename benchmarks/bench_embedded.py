"""Benchmark: modal-agent round robins against the Haskell reference, certification, GL validity.

    python benchmarks/bench_embedded.py [--quick]

Everything is measured in one run on the same machine (a shared 2-core machine: read the ratios, not
the absolute rates). Baselines measured in the same run:

- round robins of random modal agents: aflab's all-pairs solver vs the Haskell ModalCombat reference
  (github machine-intelligence/provability) on the same agents, and vs aflab's previous per-block
  solver; every aflab outcome is compared with the reference's (agreement count);
- certificates: the GL SAT procedure vs the GL tableau on the same certificate formulas;
- the modal-agents language: the shipped ``.ua`` files run by ``aflab embedded run --format reference``
  and by the reference, outputs compared byte for byte.

The Haskell reference (never shipped with aflab, never needed by the tests): put the provability sources
somewhere (``src/ModalCombat.hs``, ``src/Modal/*.hs``), then

    apt-get update && apt-get install -y ghc libghc-optparse-applicative-dev   # parsec, mtl, text come with ghc
    cd provability/src && ghc -O2 -XOverloadedStrings -outputdir /tmp/mc -o /tmp/modalcombat ModalCombat.hs
    AFLAB_MODALCOMBAT=/tmp/modalcombat AFLAB_PROVABILITY_SRC=provability python benchmarks/bench_embedded.py

(``AFLAB_PROVABILITY_SRC`` also runs the reference's own example, ``agents/target.ua``, through both.)

Without ``AFLAB_MODALCOMBAT`` (or with ``ghc`` absent) the reference rows are skipped with the reason.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from aflab.embedded.agents import ModalAgent, builtin_agents, combat_system, coop_var
from aflab.embedded.formula import Formula
from aflab.embedded.glsat import valid
from aflab.embedded.kripke import letterless_valid
from aflab.embedded.modalfile import reference_lines, run_text, shipped
from aflab.embedded.problems import PROBLEMS, problem_system
from aflab.embedded.randomgen import random_agent, random_formula
from aflab.embedded.solver import confirmation_formula, cross_check, solve_linear
from aflab.embedded.tableau import TableauBudgetExceeded, decide, is_valid
from aflab.embedded.tournament import reference_closure, round_robin, solve_matches

ROOT = Path(__file__).resolve().parents[1]
REFS = ("DefectBot", "CooperateBot", "FairBot")


def reference_binary() -> tuple[str | None, str]:
    """The Haskell ModalCombat binary (``AFLAB_MODALCOMBAT``) or why there is none."""
    path = os.environ.get("AFLAB_MODALCOMBAT")
    if path and Path(path).is_file():
        return path, ""
    if shutil.which("ghc") is None:
        return None, "ghc is absent (apt-get install ghc libghc-optparse-applicative-dev, see the docstring)"
    return None, "set AFLAB_MODALCOMBAT to a ModalCombat binary built from the provability sources (docstring)"


def statement(f: Formula) -> str:
    """An agent formula in the reference's statement syntax (C iff it holds)."""
    op = f.op
    if op in ("top", "bot"):
        return "⊤" if op == "top" else "⊥"
    if op == "atom":
        return {"them": "Them(Me)=C", "me": "Me(Them)=C"}.get(f.name) or f"Them({f.name[5:-1]})=C"
    if op == "not":
        return f"¬({statement(f.args[0])})"
    if op in ("box", "dia"):
        head = (f"[{f.level}]" if op == "box" else f"<{f.level}>") if f.level else ("□" if op == "box" else "◇")
        return f"{head}⌜{statement(f.args[0])}⌝"
    sym = {"and": "∧", "or": "∨", "imp": "→", "iff": "↔"}[op]
    return f"({statement(f.args[0])}) {sym} ({statement(f.args[1])})"


def population(n: int, seed: int = 0) -> tuple[list[str], dict[str, ModalAgent]]:
    rng = np.random.default_rng(seed)
    lib = dict(builtin_agents())
    names = []
    for i in range(n):
        a = random_agent(rng, f"R{i}", REFS, depth=2)
        lib[a.name] = a
        names.append(a.name)
    return names, lib


def reference_file(names: list[str], lib: dict[str, ModalAgent]) -> str:
    defs = [f"bot {a} = {statement(lib[a].formula)}" for a in reference_closure(names, lib)]
    plays = [f"combat! {a} vs {b}" for a in names for b in names]
    return "\n".join(defs + plays) + "\n"


def run_reference(binary: str, text: str) -> tuple[float, float, list[str]]:
    """Run the reference on ``text``: (wall s, CPU s of the child process, its result lines)."""
    import resource

    with tempfile.NamedTemporaryFile("w", suffix=".ua", delete=False, encoding="utf-8") as fh:
        fh.write(text)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([binary, "-u", fh.name], capture_output=True, text=True, check=True).stdout
    el = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(fh.name)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return el, cpu, [ln for ln in out.splitlines() if ln.startswith("  Result:")]


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def tournament_rows(sizes: list[int], binary: str | None, why: str) -> list[tuple]:
    """Round robins: rates and ratios on CPU seconds (the machine is shared; wall seconds shown too)."""
    rows = []
    for n in sizes:
        names, lib = population(n)
        res, el, cpu = timed(lambda: round_robin(names, lib))
        rows.append(
            (
                f"round robin, {n} random agents: aflab all-pairs",
                f"{n * n / cpu:,.0f} matches/CPU-s",
                f"{cpu:.2f} CPU-s ({el:.2f} s wall)",
                "",
            )
        )
        if n <= 200:
            _, el_old, cpu_old = timed(lambda: solve_matches([(a, b) for a in names for b in names], lib))
            rows.append(
                (
                    "  aflab per-block solver (previous)",
                    f"{n * n / cpu_old:,.0f} matches/CPU-s",
                    f"{cpu_old:.2f} CPU-s ({el_old:.2f} s wall)",
                    f"all-pairs {cpu_old / cpu:.1f}x faster",
                )
            )
        if binary is None:
            rows.append(("  Haskell reference", "skipped", "", why))
            continue
        text = reference_file(names, lib)
        _, el_run, cpu_run = timed(lambda: run_text(text, "rr.ua"))
        rows.append(
            (
                "  aflab embedded run on the reference's file (the language path)",
                f"{n * n / cpu_run:,.0f} matches/CPU-s",
                f"{cpu_run:.2f} CPU-s ({el_run:.2f} s wall)",
                "",
            )
        )
        el_ref, cpu_ref, lines = run_reference(binary, text)
        ours = [
            f"  Result: {a}={'C' if res.cooperates[i, j] else 'D'}, {b}={'C' if res.cooperates[j, i] else 'D'}"
            for i, a in enumerate(names)
            for j, b in enumerate(names)
        ]
        agree = sum(x == y for x, y in zip(ours, lines))
        rows.append(
            (
                "  Haskell reference (same agents)",
                f"{n * n / cpu_ref:,.0f} matches/CPU-s",
                f"{cpu_ref:.2f} CPU-s ({el_ref:.2f} s wall)",
                f"aflab {cpu_ref / cpu:.1f}x faster (CPU); {agree}/{len(lines)} matches agree",
            )
        )
    return rows


def certificate_rows(n_agents: int) -> list[tuple]:
    names, lib = population(n_agents, seed=1)
    t = time.process_time()
    res = round_robin(names, lib, cross_check=True, max_sequents=20_000)
    el = time.process_time() - t
    c = res.certificate_counts()
    rows = [
        (
            f"certify every match, {n_agents} random agents (GL SAT)",
            f"{n_agents**2 / el:,.0f} matches/CPU-s",
            f"{el:.2f} CPU-s",
            f"{c['agrees']} certified, {c['unchecked']} unchecked, {c['disagrees']} refuted",
        )
    ]
    system = problem_system(PROBLEMS["twin_pd"], "udt")
    sol = solve_linear(system)
    checked = [v for v in system.variables if v.startswith(("A=", "U="))]
    for prover in ("sat", "tableau"):
        t = time.process_time()
        ok = cross_check(system, sol, checked, prover=prover)
        rows.append(
            (
                f"twin PD with modal UDT: certificate by {prover}",
                "",
                f"{time.process_time() - t:.3f} CPU-s",
                f"certified: {ok}",
            )
        )
    return rows


def validity_rows(n_f: int) -> list[tuple]:
    rng = np.random.default_rng(0)
    forms = [random_formula(rng, ["p", "q", "r"], depth=6, max_level=1) for _ in range(n_f)]
    letterless = [random_formula(rng, [], depth=6, max_level=2) for _ in range(n_f)]
    rows, base = [], {}
    for label, fs in (("random formulas, 3 atoms, depth 6", forms), ("letterless, depth 6", letterless)):
        for prover, fn in (("tableau", is_valid), ("SAT", valid), ("linear frame", letterless_valid)):
            if prover == "linear frame" and fs is forms:
                continue
            t = time.process_time()
            answers = [fn(f) for f in fs]
            el = time.process_time() - t
            base.setdefault(label, (el, answers))
            same = answers == base[label][1]
            rows.append(
                (
                    f"validity, {label}: {prover}",
                    f"{len(fs) / el:,.0f} formulas/CPU-s",
                    f"{el:.2f}s",
                    f"{base[label][0] / el:.1f}x vs tableau; answers equal: {same}",
                )
            )
    return rows


def language_rows(binary: str | None, why: str) -> list[tuple]:
    """Shipped / test files, and the reference's own example (``AFLAB_PROVABILITY_SRC/agents/target.ua``)."""
    rows = []
    files = [
        ("decision_problems.ua", shipped()),
        ("published_plays.ua", (ROOT / "tests/embedded/data/published_plays.ua").read_text()),
    ]
    src = Path(os.environ.get("AFLAB_PROVABILITY_SRC", "/nonexistent")) / "agents" / "target.ua"
    if src.is_file():
        files.append(("target.ua", src.read_text(encoding="utf-8")))
    for name, text in files:
        t = time.perf_counter()
        ours = reference_lines(run_text(text, name, check=True))
        el = time.perf_counter() - t
        if binary is None:
            rows.append((f"language: {name} (run + certify)", "", f"{el:.2f}s", f"reference skipped: {why}"))
            continue
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / name
            path.write_text(text, encoding="utf-8")
            out = subprocess.run([binary, "-u", str(path)], capture_output=True, text=True, check=True).stdout
        theirs = out.split("Loaded. Executing...\n\n", 1)[1]
        results = [ln for ln in ours.splitlines() if "Result:" in ln]
        same = results == [ln for ln in theirs.splitlines() if "Result:" in ln]
        note = "byte-equal" if ours == theirs else "differs only in the frame/map tables" if same else "DIFFERENT"
        rows.append(
            (
                f"language: {name} (run + certify)",
                "",
                f"{el:.2f}s",
                f"{len(results)} result lines equal to the reference's: {same}; output {note}",
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# random programs in the language, run by aflab and by the reference


def _random_statement(rng, leaves, depth: int, modal: bool) -> str:
    """A random statement; with ``modal`` every leaf claim sits under a box/diamond (agents, theories)."""
    if depth <= 0 or rng.random() < 0.25:
        r = rng.random()
        if r < 0.1:
            return "⊤" if rng.random() < 0.5 else "⊥"
        if modal or r < 0.4:
            level = int(rng.integers(0, 3))
            inner = _random_statement(rng, leaves, depth - 1, False)
            head = (
                ("[]" if level == 0 else f"[{level}]")
                if rng.random() < 0.75
                else ("<>" if level == 0 else f"<{level}>")
            )
            return f"{head}⌜{inner}⌝"
        return leaves[int(rng.integers(len(leaves)))]
    r = rng.random()
    if r < 0.2:
        return f"¬({_random_statement(rng, leaves, depth - 1, modal)})"
    sym = ["∧", "∨", "→", "↔"][int(rng.integers(4))]
    return f"({_random_statement(rng, leaves, depth - 1, modal)}) {sym} ({_random_statement(rng, leaves, depth - 1, modal)})"


def random_program_file(n_problems: int, n_agents: int, seed: int = 0) -> str:
    """Random 3-outcome universes against UDT/ChickenUDT calls (random levels, steps, defaults and
    preference orders), and random 3-action agents in ``compete`` (each may ask how the opponent plays
    against G0)."""
    rng = np.random.default_rng(seed)
    head = shipped().split("problem FiveAndTen")[0]  # the UDT and ChickenUDT theories
    out, acts, outs = [head], ["x", "y", "z"], ["$p", "$q", "$r"]
    for k in range(n_problems):
        leaves = [f"A()={a}" for a in acts]
        lines = [f"problem U{k}(number level=0) [{', '.join(outs)}] [{', '.join(acts)}]"]
        for o in outs[:2]:
            stmt = _random_statement(rng, leaves, 2, False).replace("[1]", "[&level]")
            lines += [f"\tif {stmt}", f"\t\treturn {o}"]
        out.append("\n".join(lines + [f"\treturn {outs[2]}"]))
    for k in range(n_agents):
        leaves = [f"Them(Me)={a}" for a in acts] + [f"Me(Them)={a}" for a in acts]
        leaves += [f"Them(G0)={a}" for a in acts] if k > 0 else []  # one referenced agent: the reference
        # recurses without memo, exponentially in chains of references
        lines = [f"agent G{k}"]
        for a in acts[:2]:
            lines += [f"\tif {_random_statement(rng, leaves, 2, True)}", f"\t\treturn {a}"]
        out.append("\n".join(lines + ["\treturn z"]))
    for k in range(n_problems):
        for theory in ("UDT", "ChickenUDT"):
            d, lvl, step = acts[int(rng.integers(3))], int(rng.integers(0, 3)), int(rng.integers(0, 2))
            order = ", ".join(rng.permutation(outs))
            out.append(
                f"play: U{k}(level={int(rng.integers(0, 3))}), {theory}({d}, level={lvl}, step={step})[...][{order}]."
            )
    out += [f"compete: G{i} vs G{j}" for i in range(n_agents) for j in range(n_agents)]
    return "\n\n".join(out) + "\n"


def random_program_rows(binary: str | None, why: str, n_problems: int, n_agents: int) -> list[tuple]:
    text = random_program_file(n_problems, n_agents)
    results, _, cpu = timed(lambda: run_text(text, "random_programs.ua"))
    ours = [ln for ln in reference_lines(results).splitlines() if "Result:" in ln]
    label = f"language: random programs ({len(ours)} plays and competes)"
    if binary is None:
        return [(label, "", f"{cpu:.2f} CPU-s", f"reference skipped: {why}")]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "random_programs.ua"
        path.write_text(text, encoding="utf-8")
        out = subprocess.run([binary, "-u", str(path)], capture_output=True, text=True, check=True).stdout
    theirs = [ln for ln in out.splitlines() if "Result:" in ln]
    agree = sum(x == y for x, y in zip(ours, theirs))
    return [(label, "", f"{cpu:.2f} CPU-s", f"{agree}/{len(theirs)} result lines equal to the reference's")]


def hard_budget_row() -> tuple:
    """A certificate the tableau cannot finish in budget, decided by the SAT procedure."""
    names, lib = population(40, seed=5)

    hardest, worst = None, -1
    for a in names[:10]:
        for b in names[:10]:
            system = combat_system([(a, b)], lib)
            sol = solve_linear(system)
            v = coop_var(a, b)
            f = confirmation_formula(system, v, sol.value(v), sol.rank_of(v))
            try:
                n = decide(f, max_sequents=5_000).sequents_explored
            except TableauBudgetExceeded:
                n = 10**9
            if n > worst:
                hardest, worst = f, n
    t = time.process_time()
    ok = valid(hardest)
    return (
        "hardest of 100 certificates (tableau sequents > 5,000 or most)",
        "",
        f"{time.process_time() - t:.3f} CPU-s",
        f"SAT certifies: {ok}",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    args = ap.parse_args()
    binary, why = reference_binary()
    rows = tournament_rows([100, 200] if args.quick else [100, 200, 1000], binary, why)
    rows += certificate_rows(40 if args.quick else 100)
    rows += [hard_budget_row()]
    rows += validity_rows(200 if args.quick else 1000)
    rows += language_rows(binary, why)
    rows += random_program_rows(binary, why, 20 if args.quick else 100, 8 if args.quick else 20)
    print("shared 2-core machine (other jobs running): compare ratios within this run, not absolute rates")
    width = max(len(r[0]) for r in rows)
    for name, rt, el, ratio in rows:
        print(f"{name:<{width}}  {rt:>24}  {el:>24}  {ratio}")


if __name__ == "__main__":
    main()
