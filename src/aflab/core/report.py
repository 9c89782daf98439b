"""The static HTML report: claims first (kind, verdict, deciding statistic with its interval and threshold,
stability over seed sets), theory checks in their own compact table, then one section per system.

``index.html`` is self-contained (figures embedded as palette PNG data URIs, inline CSS, no script, no
network); ``report.json`` carries the same verdicts, numbers, thresholds, stability and provenance for
machines.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from aflab import __version__
from aflab.core.claims import VERDICTS, Claim
from aflab.core.evaluate import ClaimOutcome
from aflab.core.plots import FigureEncoder
from aflab.core.stats import level_text
from aflab.core.systems import system_info

#: Libraries whose versions the report's provenance lists.
PROVENANCE_LIBRARIES = ("numpy", "scipy", "pandas", "torch", "transformers", "ray", "duckdb", "python-sat")

DECISION_RULE = (
    "Each claim names a deciding statistic and a threshold with its justification. Verdict: supported when the "
    "statistic's confidence interval lies entirely on the claim's side of the threshold, refuted when it lies "
    "entirely on the other side, inconclusive when it straddles it. Theory checks (kind 'check') compare a "
    "measurement with a closed form: supported when the interval contains it, refuted when it excludes it. "
    "Stability: the same preset judged on disjoint seed sets (aflab stability); 'n/N' sets gave the modal verdict."
)


def fmt(x) -> str:
    """A number as a short string; ``-`` for a missing value."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(f):
        return "-"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f.is_integer() and abs(f) < 1e12:
        return str(int(f))
    if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e5):
        return f"{f:.3e}"
    return f"{f:.4g}"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _headline(o: ClaimOutcome) -> dict:
    """The deciding statistic, its interval and the threshold, as display strings."""
    threshold = o.claim.threshold
    head = o.verdict.headline if o.verdict else None
    if head is not None:
        iv, threshold = head.interval, head.threshold
        interval = f"{fmt(iv.estimate)} [{fmt(iv.low)}, {fmt(iv.high)}]"
        method = f"{level_text(iv.level)} {iv.method}" + (f", n={iv.n}" if iv.n is not None else "")
    else:
        interval, method = "-", ""
    return {
        "statistic": threshold.statistic if threshold else "-",
        "interval": interval,
        "method": method,
        "threshold": threshold.text() if threshold else "-",
        "justification": threshold.justification if threshold else "",
    }


def _stability_view(claim: Claim, stability: dict, uris: dict) -> dict | None:
    hit = stability.get(claim.id)
    if hit is None:
        return None
    from aflab.core.stability import target_status

    result, current = hit
    undecided = target_status(result.n_sets, result.agreement, result.modal_label) == "undecided"
    return {
        "summary": result.summary(),
        "short": f"{result.agreement}/{result.n_sets}" + (" inconclusive" if undecided else ""),
        "undecided": undecided,
        "agreement": result.agreement,
        "n_sets": result.n_sets,
        "modal": result.modal_label,
        "all_agree": result.agreement == result.n_sets,
        "current": current,
        "note": "" if current else f"measured at code {result.code_version}, {result.measured_at}",
        "measured_at": result.measured_at,
        "platform": result.platform or "not recorded",
        "figure": uris[("stability", claim.id)],
    }


def stability_overview(views: list[dict]) -> dict:
    """For the claims (kind 'claim') of a report: how many meet the stability target (the same decisive
    verdict on >= 90% of >= 10 disjoint seed sets: :func:`.stability.target_status`), how many agree only on
    "inconclusive", how many were measured on fewer sets, not at all, or at older code, and which claims'
    report verdict differs from the verdict most seed sets gave."""
    from aflab.core.stability import target_status

    claims = [v for v in views if v["kind"] == "claim"]
    st = [v["stability"] for v in claims if v["stability"]]
    status = [target_status(x["n_sets"], x["agreement"], x["modal"]) for x in st]
    return {
        "claims": len(claims),
        "meets": status.count("met"),
        "undecided": status.count("undecided"),
        "fewer_sets": status.count("fewer sets"),
        "not_measured": len(claims) - len(st),
        "older_code": sum(not x["current"] for x in st),
        "differs_from_modal": [v["id"] for v in claims if v["stability"] and v["label"] != v["stability"]["modal"]],
    }


def _report_figures(outcomes: Sequence[ClaimOutcome], stability: dict, jobs: int = 1, progress: bool = False) -> dict:
    """Every figure the page shows as a data URI, keyed ``(claim id, name)`` or ``("stability", claim id)``.

    A judged claim whose figures were not drawn yet (``run_claims(draw_figures=False)``, as the report
    command does) is drawn here, and each figure goes to the ``jobs`` encoding workers as soon as it exists:
    the drawing here overlaps with the encoding there, which is most of the page's figure time. ``progress``
    shows both as bars (the quick report spends ~40 s here after its last cell)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar, FigureEncoder(jobs) as encoder:
        drawn = bar.add_task("drawing figures (claims)", total=len(outcomes))
        for o in outcomes:
            if not o.figures:
                _draw_claim_figures(o)
            for name, fig in o.figures.items():
                encoder.submit((o.claim.id, name), fig)
            if o.claim.id in stability:
                _submit_stability_panel(encoder, o.claim.id, stability[o.claim.id][0])
            bar.advance(drawn)
        encoded = bar.add_task("encoding figures", total=encoder.submitted)
        return encoder.results(on_result=lambda: bar.advance(encoded))


def _draw_claim_figures(o: ClaimOutcome) -> None:
    """The claim's figures for a judged outcome; a figure function that fails marks the claim as an error,
    as :func:`aflab.core.evaluate.judge` does when it draws them itself."""
    if o.verdict is None or o.error is not None or o.claim.figures is None:
        return
    try:
        o.figures = dict(o.claim.figures(o.config, o.table))
    except Exception:
        o.error = "figures function failed:\n" + traceback.format_exc()


def _submit_stability_panel(encoder: FigureEncoder, claim_id: str, result) -> None:
    from aflab.core.stability import stability_figure

    try:
        encoder.submit(("stability", claim_id), stability_figure(result))
    except Exception as err:  # a panel that cannot be drawn must not lose a report that took minutes
        print(f"warning: the stability panel of {claim_id} could not be drawn ({err}); left out", file=sys.stderr)


def _outcome_view(o: ClaimOutcome, stability: dict, uris: dict) -> dict:
    v = o.verdict
    numbers = [(k, fmt(x)) for k, x in (v.numbers.items() if v else [])]
    budget = o.claim.quick_budget_s
    cf = o.claim.counterfactual
    return {
        "id": o.claim.id,
        "system": o.claim.system,
        "kind": o.claim.kind,
        "statement": o.claim.statement,
        "source": o.claim.source,
        "refuted_if": o.claim.refuted_if,
        "counterfactual": f"{cf.broken} (must give '{cf.expect}')" if cf else "",
        "label": o.label,
        "reason": v.reason if v else (f"skipped: {o.skipped}" if o.skipped else ""),
        "error": o.error,
        "numbers": numbers,
        "headline": _headline(o),
        "stability": _stability_view(o.claim, stability, uris),
        "compute_s": o.compute_s,
        "preset": o.preset,
        "n_seeds": len(o.cells),
        "over_budget": o.preset == "quick" and o.compute_s > budget,
        "budget_s": budget,
        "comparisons": [
            {
                "quantity": c.quantity,
                "theory": fmt(c.theory),
                "measured": fmt(c.measured),
                "stderr": fmt(c.stderr),
                "note": c.note,
            }
            for c in (v.comparisons if v else ())
        ],
        "config_hash": o.cells[0].config_hash,
        "code_version": o.cells[0].code_version,
        "config_json": json.dumps(json.loads(o.cells[0].config_json), indent=2),
        "figures": [(name, uris[(o.claim.id, name)]) for name in o.figures],
    }


def _json_value(x):
    try:
        f = float(x)
        return f if math.isfinite(f) else str(f)
    except (TypeError, ValueError):
        return str(x)


def provenance() -> dict:
    """Where the numbers come from: git commit and dirty flag, library versions, machine."""
    from importlib import metadata

    here = Path(__file__).resolve().parent
    git: dict[str, str | bool | None] = {"sha": "not a git checkout", "dirty": None}
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if sha.returncode == 0:
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=here,
                capture_output=True,
                text=True,
                timeout=10,
            )
            git = {"sha": sha.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        pass
    versions = {}
    for lib in PROVENANCE_LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    from aflab.core.stability import machine_signature

    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "kernels": machine_signature(),
        "matmul_gflops": matmul_gflops(),
    }
    return {"aflab": __version__, "git": git, "libraries": versions, "machine": machine}


#: the quick report's wall-time budget (seconds, on 2 cores): the project's rule
QUICK_REPORT_BUDGET_S = 600.0


def matmul_gflops(n: int = 256, seconds: float = 0.25) -> float:
    """One-thread float64 ``n x n`` matmul throughput of this machine, GFLOP/s (``2 n^3`` a product, best of
    repeated batches in about ``seconds``): a speed probe printed with a report's wall time, so a timing
    from a slower machine reads as such (2026-12-07: 43.5 on an AMD EPYC with AVX2, where the quick report
    took 13 min 43 s)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((n, n))
    best, spent = 0.0, 0.0
    with threadpool_limits(1):
        while spent < seconds:
            t0 = time.perf_counter()
            for _ in range(8):
                a @ a
            dt = time.perf_counter() - t0
            spent += dt
            best = max(best, 8 * 2 * n**3 / dt / 1e9)
    return round(best, 1)


def _claim_json(o: ClaimOutcome, view: dict) -> dict:
    v = o.verdict
    th = o.claim.threshold
    return {
        "id": o.claim.id,
        "system": o.claim.system,
        "kind": o.claim.kind,
        "statement": o.claim.statement,
        "source": o.claim.source,
        "refuted_if": o.claim.refuted_if,
        "verdict": o.label,
        "reason": v.reason if v else o.skipped,
        "error": o.error,
        "threshold": None
        if th is None
        else {
            "statistic": th.statistic,
            "side": th.side,
            "value": th.value,
            "upper": th.upper,
            "justification": th.justification,
        },
        "headline": view["headline"],
        "stability": None
        if view["stability"] is None
        else {k: view["stability"][k] for k in ("summary", "current", "measured_at", "platform")},
        "counterfactual": view["counterfactual"],
        "numbers": {k: _json_value(x) for k, x in (v.numbers.items() if v else [])},
        "comparisons": [
            {"quantity": c.quantity, "theory": c.theory, "measured": c.measured, "stderr": c.stderr, "note": c.note}
            for c in (v.comparisons if v else ())
        ],
        "compute_s": o.compute_s,
        "quick_budget_s": o.claim.quick_budget_s,
        "n_seeds": len(o.cells),
        "config": json.loads(o.cells[0].config_json),
        "config_hash": o.cells[0].config_hash,
        "code_version": o.cells[0].code_version,
        "figures": sorted(o.figures),
    }


def write_report(
    outcomes: Sequence[ClaimOutcome],
    out_dir: str | os.PathLike,
    preset: str,
    base_seed: int,
    wall_s: float,
    stability: dict | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> Path:
    """Write ``index.html`` and ``report.json`` into ``out_dir``; return the HTML path.

    ``stability`` maps a claim id to ``(StabilityResult, current)`` (see
    :func:`aflab.core.stability.best_results`); claims without one show "not measured". ``jobs`` processes
    encode the figures (PNG rendering is most of the time this function takes). ``wall_s`` is the time
    spent before this call; the page reports it plus this function's own figure time. ``progress``: bars for
    the figure work.
    """
    entered = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a folder for index.html and report.json")
    stability = stability or {}
    uris = _report_figures(outcomes, stability, jobs, progress)
    phases = {"cells_and_verdicts_s": wall_s, "figures_s": time.perf_counter() - entered}
    wall_s += phases["figures_s"]
    views = [_outcome_view(o, stability, uris) for o in outcomes]
    counts = {k: sum(v["label"] == k for v in views) for k in (*VERDICTS, "skipped", "error")}
    counts = {k: n for k, n in counts.items() if n}
    systems = []
    for name in dict.fromkeys(v["system"] for v in sorted(views, key=lambda v: system_info(v["system"]).order)):
        group = [v for v in views if v["system"] == name]
        systems.append(
            {
                "name": name,
                "title": system_info(name).title,
                "outcomes": group,
                "compute_s": sum(v["compute_s"] for v in group),
                "budget_s": sum(v["budget_s"] for v in group),
            }
        )
    prov = provenance()
    env = Environment(loader=PackageLoader("aflab.core", "templates"), autoescape=select_autoescape(["html"]))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = env.get_template("report.html").render(
        claims=[v for v in views if v["kind"] == "claim"],
        checks=[v for v in views if v["kind"] == "check"],
        systems=systems,
        counts=counts,
        preset=preset,
        base_seed=base_seed,
        version=__version__,
        generated=generated,
        n_claims=len(views),
        wall_s=wall_s,
        phases=phases,
        over_quick_budget=preset == "quick" and wall_s > QUICK_REPORT_BUDGET_S,
        quick_budget_s=QUICK_REPORT_BUDGET_S,
        rule=DECISION_RULE,
        provenance=prov,
        overview=stability_overview(views),
    )
    atomic_write(out / "index.html", html)
    payload = {
        "aflab_version": __version__,
        "generated": generated,
        "preset": preset,
        "base_seed": base_seed,
        "wall_s": wall_s,
        "phases": phases,
        "provenance": prov,
        "decision_rule": DECISION_RULE,
        "counts": counts,
        "stability_overview": stability_overview(views),
        "claims": [_claim_json(o, view) for o, view in zip(outcomes, views)],
    }
    atomic_write(out / "report.json", json.dumps(payload, indent=2, default=_json_value))
    return out / "index.html"
