"""The static HTML report: a verdict table on top, then one section per system.

``index.html`` is self-contained (figures embedded as PNG data URIs, inline CSS, no script, no
network); ``report.json`` carries the same verdicts and numbers for machines.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from aflab import __version__
from aflab.core.claims import SYSTEMS, VERDICTS
from aflab.core.evaluate import ClaimOutcome
from aflab.core.plots import figure_data_uri

SYSTEM_TITLES = {
    "core": "Harness self-check",
    "logical_induction": "1. Logical induction",
    "waluigi": "2. Bounded-context personas (Waluigi)",
    "path_dependence": "3. Path-dependence of gradient descent vs width",
    "partial_agency": "4. Partial agency",
    "embedded": "5. Embedded agency",
    "normativity": "6. Normativity",
}


def fmt(x) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return str(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(f) or math.isinf(f):
        return str(f)
    if f.is_integer() and abs(f) < 1e12:
        return str(int(f))
    if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e5):
        return f"{f:.3e}"
    return f"{f:.4g}"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
    os.replace(tmp, path)


def _outcome_view(o: ClaimOutcome) -> dict:
    v = o.verdict
    numbers = [(k, fmt(x)) for k, x in (v.numbers.items() if v else [])]
    budget = o.claim.quick_budget_s
    return {
        "id": o.claim.id,
        "system": o.claim.system,
        "statement": o.claim.statement,
        "source": o.claim.source,
        "label": o.label,
        "reason": v.reason if v else (f"skipped: {o.skipped}" if o.skipped else ""),
        "error": o.error,
        "numbers": numbers,
        "numbers_short": numbers[:5],
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
                "stderr": fmt(c.stderr) if c.stderr is not None else "",
                "note": c.note,
            }
            for c in (v.comparisons if v else ())
        ],
        "config_hash": o.cells[0].config_hash,
        "code_version": o.cells[0].code_version,
        "config_json": json.dumps(json.loads(o.cells[0].config_json), indent=2),
        "figures": [(name, figure_data_uri(fig)) for name, fig in o.figures.items()],
    }


def _json_value(x):
    try:
        f = float(x)
        return f if math.isfinite(f) else str(f)
    except (TypeError, ValueError):
        return str(x)


def write_report(
    outcomes: Sequence[ClaimOutcome], out_dir: str | os.PathLike, preset: str, base_seed: int, wall_s: float
) -> Path:
    """Write ``index.html`` and ``report.json`` into ``out_dir``; return the HTML path."""
    out = Path(out_dir)
    views = [_outcome_view(o) for o in outcomes]
    counts = {k: sum(v["label"] == k for v in views) for k in (*VERDICTS, "skipped", "error")}
    counts = {k: n for k, n in counts.items() if n}
    systems = []
    for name in ("core", *SYSTEMS):
        group = [v for v in views if v["system"] == name]
        if group:
            systems.append(
                {
                    "name": name,
                    "title": SYSTEM_TITLES.get(name, name),
                    "outcomes": group,
                    "compute_s": sum(v["compute_s"] for v in group),
                    "budget_s": sum(v["budget_s"] for v in group),
                }
            )
    env = Environment(loader=PackageLoader("aflab.core", "templates"), autoescape=select_autoescape(["html"]))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    html = env.get_template("report.html").render(
        outcomes=views,
        systems=systems,
        counts=counts,
        preset=preset,
        base_seed=base_seed,
        version=__version__,
        generated=generated,
        n_claims=len(views),
        wall_s=wall_s,
    )
    atomic_write(out / "index.html", html)
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    payload = {
        "aflab_version": __version__,
        "generated": generated,
        "preset": preset,
        "base_seed": base_seed,
        "wall_s": wall_s,
        "machine": machine,
        "counts": counts,
        "claims": [
            {
                "id": o.claim.id,
                "system": o.claim.system,
                "statement": o.claim.statement,
                "source": o.claim.source,
                "verdict": o.label,
                "reason": o.verdict.reason if o.verdict else o.skipped,
                "error": o.error,
                "numbers": {k: _json_value(x) for k, x in (o.verdict.numbers.items() if o.verdict else [])},
                "comparisons": [
                    {
                        "quantity": c.quantity,
                        "theory": c.theory,
                        "measured": c.measured,
                        "stderr": c.stderr,
                        "note": c.note,
                    }
                    for c in (o.verdict.comparisons if o.verdict else ())
                ],
                "compute_s": o.compute_s,
                "quick_budget_s": o.claim.quick_budget_s,
                "n_seeds": len(o.cells),
                "config": json.loads(o.cells[0].config_json),
                "config_hash": o.cells[0].config_hash,
                "code_version": o.cells[0].code_version,
                "figures": sorted(o.figures),
            }
            for o in outcomes
        ],
    }
    atomic_write(out / "report.json", json.dumps(payload, indent=2, default=_json_value))
    return out / "index.html"
