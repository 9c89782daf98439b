"""Verdict stability: does a claim's quick verdict survive a change of seeds?

``aflab stability CLAIM --sets 10`` runs the claim's preset on ``sets`` *disjoint* seed sets -- set ``j``
uses seed indices ``j*n .. j*n + n - 1`` with ``n`` the preset's seed count, so set 0 is exactly what
``aflab report`` runs -- judges each set on its own and reports how many sets give the modal verdict.
A verdict that flips between seed sets is not a result; the report prints this agreement next to every
claim. Cells go through the ordinary runner and store (cached, resumable, ``--jobs``/``--ray``).

Results are stored in the result store and can be exported to JSON; the package ships the last full
measurement (``aflab/data/stability.json``) so the quick report can show stability without redoing it,
labelled with the code version and date it was measured at.
"""

from __future__ import annotations

import contextlib
import json
import math
import platform as _platform
import sys
import textwrap
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from aflab.core.claims import Claim
from aflab.core.evaluate import ClaimOutcome, judge
from aflab.core.runner import plan_cells, run_cells
from aflab.core.store import ResultStore


@dataclass(frozen=True)
class SetOutcome:
    """One seed set's verdict and the headline interval that decided it (nan where there is none)."""

    index: int
    first_seed_index: int
    label: str
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    reason: str = ""


@dataclass(frozen=True)
class StabilityResult:
    claim: str
    kind: str
    preset: str
    config_hash: str
    code_version: str
    seeds_per_set: int
    sets: tuple[SetOutcome, ...]
    statistic: str = ""
    threshold: str = ""
    threshold_lines: tuple[float, ...] = ()
    measured_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    compute_s: float = 0.0
    #: the machine the cells ran on (:func:`machine_signature`); "" for results stored before it was recorded
    platform: str = ""

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.sets]

    @property
    def modal_label(self) -> str:
        return Counter(self.labels).most_common(1)[0][0] if self.sets else "none"

    @property
    def agreement(self) -> int:
        """How many sets give the modal verdict."""
        return self.labels.count(self.modal_label)

    @property
    def n_sets(self) -> int:
        return len(self.sets)

    def summary(self) -> str:
        counts = Counter(self.labels)
        detail = ", ".join(f"{n} {label}" for label, n in counts.most_common())
        return f"{self.agreement}/{self.n_sets} {self.modal_label} ({detail}; {self.seeds_per_set} seeds per set)"

    def to_json(self) -> str:
        return json.dumps(_nan_safe(asdict(self)))

    @classmethod
    def from_json(cls, text: str | dict) -> StabilityResult:
        data = json.loads(text) if isinstance(text, str) else dict(text)
        sets = tuple(_set_outcome(s) for s in data.pop("sets"))
        data["threshold_lines"] = tuple(data.get("threshold_lines", ()))
        return cls(sets=sets, **data)


def machine_signature() -> str:
    """What a cell's floating-point results depend on besides the code and the library versions (which the
    cache key holds): the CPU, the BLAS kernel numpy's OpenBLAS picked for it at load time, numpy's SIMD level
    and, when torch is loaded, torch's CPU capability. E.g. ``x86_64 AMD EPYC | OpenBLAS 0.3.31 Haswell |
    numpy AVX2 | torch AVX2``.

    Why it is recorded: two machines with the same signature give bit-identical cells, two with different
    ones need not. Sums rounded another way can move a logical-induction run onto another certified price
    path (the maker stops at the first point within its tolerance): measured on two machines, 31 of 110
    logical-induction set estimates moved by more than 1e-6 relative (up to 4.7%) while all 110 labels stayed
    (docs/architecture.md, "Reproducibility").
    """
    parts = [f"{_platform.machine() or '?'} {_cpu_model()}".strip()]
    try:
        from threadpoolctl import threadpool_info

        # numpy's own BLAS, whatever else is loaded (scipy brings a second OpenBLAS; the signature must not
        # depend on which modules a process happened to import)
        blas = sorted(
            (i for i in threadpool_info() if i.get("user_api") == "blas"),
            key=lambda i: "numpy" not in str(i.get("filepath", "")),
        )
        parts += [
            f"{i.get('internal_api', 'blas')} {i.get('version') or ''} {i.get('architecture') or ''}".strip()
            for i in blas[:1]
        ]
    except Exception:  # threadpoolctl absent or a BLAS it cannot read: leave the BLAS out
        pass
    simd = _numpy_simd()
    if simd:
        parts.append(f"numpy {simd}")
    if "torch" in sys.modules:  # never import torch just to describe the machine
        with contextlib.suppress(Exception):
            parts.append(f"torch {sys.modules['torch'].backends.cpu.get_cpu_capability()}")
    return " | ".join(parts)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return _platform.processor()


#: numpy's SIMD levels, best first: the first one this CPU supports is the level its kernels dispatch to
_SIMD_LEVELS = ("AVX512_SPR", "AVX512_SKX", "AVX512F", "AVX2", "AVX", "SSE42", "SVE", "ASIMD", "NEON", "VSX4", "VX")


def _numpy_simd() -> str:
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        return ""
    return next((level for level in _SIMD_LEVELS if features.get(level)), "")


def _set_outcome(d: dict) -> SetOutcome:
    def num(v) -> float:
        return math.nan if v is None else float(v)

    return SetOutcome(
        int(d["index"]),
        int(d["first_seed_index"]),
        str(d["label"]),
        num(d.get("estimate")),
        num(d.get("low")),
        num(d.get("high")),
        str(d.get("reason", "")),
    )


def _nan_safe(x):
    """JSON has no NaN: non-finite floats become null (read back as nan)."""
    if isinstance(x, dict):
        return {k: _nan_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_safe(v) for v in x]
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _lines_of(th) -> tuple[float, ...]:
    return (th.value,) if th.upper is None else (th.value, th.upper)


def run_stability(
    claim: Claim,
    store: ResultStore,
    *,
    n_sets: int = 10,
    preset: str = "quick",
    n_jobs: int = 1,
    ray_address: str | None = None,
    base_seed: int = 0,
    force: bool = False,
    progress: bool = True,
    cell_timeout_s: float | None = None,
) -> StabilityResult | None:
    """Run and judge ``n_sets`` disjoint seed sets of ``claim``'s ``preset``; store and return the result.

    Returns None when the claim was skipped here (an optional resource is absent) or a set did not finish
    (its error is in the store); nothing is stored then.
    """
    if n_sets < 2:
        raise ValueError(f"stability needs at least 2 seed sets, got {n_sets}")
    cfg = claim.make_config(preset)
    n = claim.n_seeds(preset)
    outcomes = [
        ClaimOutcome(claim, cfg, preset, plan_cells(claim, cfg, n, base_seed, j * n, cell_timeout_s))
        for j in range(n_sets)
    ]
    run_cells(
        [c for o in outcomes for c in o.cells],
        store,
        jobs=n_jobs,
        ray_address=ray_address,
        force=force,
        progress=progress,
        description=f"{claim.id} x {n_sets} seed sets",
    )
    sets = []
    for j, o in enumerate(outcomes):
        judge(o, store, draw_figures=False)
        if o.verdict is None:
            return None
        head = o.verdict.headline
        iv = head.interval if head else None
        sets.append(
            SetOutcome(
                j,
                j * n,
                o.verdict.label,
                *((iv.estimate, iv.low, iv.high) if iv else (math.nan,) * 3),
                o.verdict.reason,  # whole: a claim with two decisions states the second one last
            )
        )
    head = outcomes[0].verdict.headline if outcomes[0].verdict else None
    result = StabilityResult(
        claim.id,
        claim.kind,
        preset,
        outcomes[0].cells[0].config_hash,
        outcomes[0].cells[0].code_version,
        n,
        tuple(sets),
        head.threshold.statistic if head else "",
        head.threshold.text() if head else "",
        _lines_of(head.threshold) if head else (),
        compute_s=sum(o.compute_s for o in outcomes),
        platform=machine_signature()
        + (f" (cells on Ray at {ray_address}: their machines not recorded)" if ray_address else ""),
    )
    store.put_stability(claim.id, preset, result.config_hash, result.code_version, n_sets, result.to_json())
    return result


def shipped_results() -> list[StabilityResult]:
    """The stability measurements shipped with the package (``aflab/data/stability*.json``), if any."""
    try:
        files = [
            f
            for f in resources.files("aflab.data").iterdir()
            if f.name.startswith("stability") and f.name.endswith(".json")
        ]
    except (FileNotFoundError, ModuleNotFoundError):
        return []
    return [
        StabilityResult.from_json(r) for f in sorted(files, key=lambda f: f.name) for r in json.loads(f.read_text())
    ]


def export_results(results: list[StabilityResult], path: str | Path) -> None:
    """Write results as a JSON list (atomically), sorted by claim."""
    from aflab.core.report import atomic_write

    rows = [json.loads(r.to_json()) for r in sorted(results, key=lambda r: r.claim)]
    atomic_write(Path(path), json.dumps(rows, indent=1) + "\n")


def best_results(claims: list[Claim], stored: list[StabilityResult], preset: str = "quick") -> dict:
    """For each claim, the stability result that matches its current ``preset`` config best.

    Preference: the same config hash and code version; then the same config hash (older code: shown as
    such). A result for another config is not used. Returns ``{claim_id: (result, current: bool)}``.
    """
    from aflab.core.claims import code_version

    out: dict[str, tuple[StabilityResult, bool]] = {}
    for claim in claims:
        try:
            cfg_hash = claim.make_config(preset).config_hash()
        except Exception:
            continue
        version = code_version(claim)
        matches = [r for r in stored if r.claim == claim.id and r.preset == preset and r.config_hash == cfg_hash]
        exact = [r for r in matches if r.code_version == version]
        if exact or matches:
            out[claim.id] = ((exact or matches)[0], bool(exact))
    return out


@dataclass(frozen=True)
class StabilityRow:
    """One line of ``aflab stability --shipped``: a claim and its best stored stability measurement."""

    claim: str
    kind: str
    set0: str  # the verdict of set 0 (the report's seeds)
    agreement: str  # e.g. "9/10 supported"
    seeds_per_set: int
    summary: str  # e.g. "9/10 supported (9 supported, 1 inconclusive; 5 seeds per set)"
    meets_target: bool  # >= 9 of 10 sets give the same decisive verdict (the project's stability target)
    current: bool  # measured at the claim's current code version
    measured_at: str
    platform: str = ""  # the machine it was measured on (:func:`machine_signature`), "" if not recorded
    undecided: bool = False  # >= 9 of 10 sets agree, on "inconclusive" (not a met target)


#: the project's stability target: the same verdict on >= 90% of at least this many disjoint seed sets
TARGET_SETS = 10


def target_status(n_sets: int, agreement: int, modal_label: str) -> str:
    """Where a stability measurement stands against the target: ``"met"`` (>= 90% of >= :data:`TARGET_SETS`
    sets give the same *decisive* verdict), ``"undecided"`` (they agree, but on "inconclusive": the quick
    size cannot decide the claim, and agreeing on that is no evidence of a stable verdict -- a smaller run
    would agree more), ``"fewer sets"``, or ``"not met"``."""
    if n_sets < TARGET_SETS:
        return "fewer sets"
    if agreement < 0.9 * n_sets:
        return "not met"
    return "undecided" if modal_label == "inconclusive" else "met"


def stability_rows(claims: list[Claim], stored: list[StabilityResult], preset: str = "quick") -> list[StabilityRow]:
    """The stability table for ``claims``: their best stored result (:func:`best_results`), or a row saying
    none was measured. ``meets_target``: :func:`target_status` is "met"; ``undecided``: the sets agree on
    "inconclusive"."""
    best = best_results(claims, stored, preset)
    rows = []
    for claim in claims:
        if claim.id not in best:
            rows.append(StabilityRow(claim.id, claim.kind, "-", "not measured", 0, "not measured", False, False, "-"))
            continue
        res, current = best[claim.id]
        set0 = res.sets[0].label if res.sets else "-"
        status = target_status(res.n_sets, res.agreement, res.modal_label)
        agree = f"{res.agreement}/{res.n_sets} {res.modal_label}"
        rows.append(
            StabilityRow(
                claim.id,
                claim.kind,
                set0,
                agree,
                res.seeds_per_set,
                res.summary(),
                status == "met",
                current,
                res.measured_at,
                res.platform,
                status == "undecided",
            )
        )
    return rows


def platform_summary(rows: list[StabilityRow]) -> list[str]:
    """Lines saying which machines the listed measurements ran on (most rows first) and this machine's
    signature: a rerun here reproduces a stored row's numbers bit for bit only on the same signature."""
    counts = Counter(r.platform or "not recorded" for r in rows if r.agreement != "not measured")
    lines = [f"measured on {p}: {n} row{'s' if n != 1 else ''}" for p, n in counts.most_common()]
    return [*lines, f"this machine: {machine_signature()}"]


VERDICT_COLORS = {"supported": "#2e7d32", "refuted": "#c62828", "inconclusive": "#b8860b"}


def threshold_lines(result: StabilityResult) -> tuple[float, ...]:
    """The dashed lines of a stability panel: the stored ones, else the claim's own threshold when its
    statistic is the stored headline's (results stored before the lines were recorded)."""
    if result.threshold_lines:
        return result.threshold_lines
    from aflab.core.claims import get_claim

    try:
        th = get_claim(result.claim).threshold
    except KeyError:
        return ()
    if th is None or th.statistic != result.statistic:
        return ()
    return (th.value,) if th.upper is None else (th.value, th.upper)


def _draw_sets(ax, result: StabilityResult, title: str) -> None:
    """One panel: each seed set's headline interval, coloured by the set's verdict, and the threshold."""
    for s in result.sets:
        c = VERDICT_COLORS.get(s.label, "#555555")
        if math.isfinite(s.estimate):
            lo = s.low if math.isfinite(s.low) else s.estimate
            hi = s.high if math.isfinite(s.high) else s.estimate
            # clipped at 0: a bound computed in floating point can sit an ulp inside its estimate (Wilson at k = n)
            err = [[max(s.estimate - lo, 0.0)], [max(hi - s.estimate, 0.0)]]
            ax.errorbar([s.index], [s.estimate], yerr=err, fmt="o", color=c, capsize=3)
        else:
            ax.scatter([s.index], [0.0], marker="s", color=c)
    for v in threshold_lines(result):
        ax.axhline(v, color="k", ls="--", lw=1)
    ylabel = textwrap.shorten(result.statistic, 110, placeholder="...") if result.statistic else "verdict"
    ax.set(xlabel="disjoint seed set", ylabel=textwrap.fill(ylabel, 40), title=title)
    ax.title.set_fontsize(9)
    ax.yaxis.label.set_fontsize(7)
    ax.set_xticks(range(result.n_sets))


def stability_figure(result: StabilityResult):
    """Each seed set's headline interval against the threshold, coloured by its verdict."""
    from aflab.core.plots import new_figure

    fig, ax = new_figure(width=6.0, height=3.2)
    _draw_sets(ax, result, f"{result.claim}: {result.summary()}")
    return fig


def stability_panels(results: list[StabilityResult], ncols: int = 2):
    """Several claims' stability panels on one figure (``aflab stability --shipped --figure FILE``)."""
    import numpy as np

    from aflab.core.plots import new_figure

    if not results:
        raise ValueError("no stability results to draw")
    ncols = min(ncols, len(results))
    nrows = -(-len(results) // ncols)
    fig, axes = new_figure(ncols=ncols, nrows=nrows, width=5.2, height=3.0)
    flat = np.atleast_1d(axes).ravel()
    for ax, res in zip(flat, results):
        agree = f"{res.agreement}/{res.n_sets} {res.modal_label}, {res.seeds_per_set} seeds a set"
        _draw_sets(ax, res, f"{res.claim.split('.', 1)[-1]}: {agree}")
    for ax in flat[len(results) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Quick verdict per disjoint seed set: 95% CI of the headline statistic vs its threshold (dashed); "
        "green supported, red refuted, amber inconclusive",
        fontsize=9,
    )
    return fig
