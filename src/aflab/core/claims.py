"""Claims: the unit of work in aflab.

A *claim* is a statement someone made (in a paper or a comment thread) that aflab tests by
measurement. It bundles

- ``id``          -- ``"<system>.<slug>"``, e.g. ``"waluigi.window-inevitable"``;
- ``statement``   -- the claim in words (paraphrased) and ``source`` -- where it was made;
- ``config``      -- a pydantic model (:class:`ClaimConfig`) with validated fields, and
  ``presets`` ``{"quick": {...}, "full": {...}}`` of overrides;
- ``experiment``  -- ``experiment(cfg, seed) -> pandas.DataFrame``: one *cell* (config x seed),
  a tidy table (one row per measurement);
- ``verdict``     -- ``verdict(cfg, table) -> Verdict`` on the concatenation of all seeds' tables
  (a ``seed`` column is added by the runner);
- ``figures``     -- optional ``figures(cfg, table) -> {name: matplotlib Figure}``, drawn from the
  same combined table, so plots can be redrawn from stored results without recomputing.

Systems register claims at import time of ``aflab.<system>.claims`` (and of any
``aflab.<system>.claims_<part>`` module) with :func:`register`;
``core`` finds them only through :func:`load_systems`, never by importing a system directly.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import os
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from aflab.core.stats import Decision, Threshold
from aflab.core.systems import system_names

#: The systems aflab knows, in report order: every ``aflab/<name>/system.toml`` (see :mod:`aflab.core.systems`).
#: ``core`` imports ``aflab.<name>.claims`` for each; a system that has not landed yet is simply absent.
SYSTEMS: tuple[str, ...] = system_names()

VerdictLabel = Literal["supported", "refuted", "inconclusive"]
VERDICTS: tuple[str, ...] = ("supported", "refuted", "inconclusive")


class ClaimConfig(BaseModel):
    """Base class of every claim's typed config: frozen, unknown keys rejected, no NaN or infinity.

    ``allow_inf_nan=False`` makes a float field reject NaN and +-inf at construction, from the Python API
    as from ``--set`` (a NaN threshold would compare false everywhere and could never refute).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False)

    def config_hash(self) -> str:
        """A stable 16-hex-digit hash of the config's canonical JSON (the cache key)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Comparison:
    """One theory-vs-measurement line of the report (``theory`` may be None when no closed form)."""

    quantity: str
    theory: float | None
    measured: float
    stderr: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """The outcome of a claim: a label, the numbers that decided it, and a one-line reason.

    ``decisions`` are the :class:`~aflab.core.stats.Decision` objects (interval vs threshold) the label came
    from, the headline first; the report shows the headline's statistic, interval and threshold. Build a
    verdict from decisions with :meth:`from_decisions` so the label always follows the shared rule.
    """

    label: VerdictLabel
    numbers: Mapping[str, float]
    reason: str
    comparisons: tuple[Comparison, ...] = ()
    decisions: tuple[Decision, ...] = ()

    def __post_init__(self) -> None:
        if self.label not in VERDICTS:
            raise ValueError(f"verdict label must be one of {VERDICTS}, got {self.label!r}")

    @classmethod
    def from_decisions(
        cls,
        decisions: Sequence[Decision],
        numbers: Mapping[str, float] | None = None,
        note: str = "",
        comparisons: Sequence[Comparison] = (),
        how: Literal["all", "any"] = "all",
    ) -> Verdict:
        """Label by :func:`aflab.core.stats.combine`; reason = the decisions' reasons (+ ``note``); numbers
        = each decision's interval (as ``<statistic>``, ``_ci_low``, ``_ci_high``) plus ``numbers``."""
        from aflab.core.stats import combine

        nums: dict[str, float] = {}
        for d in decisions:
            nums.update(d.interval.as_numbers(d.threshold.statistic))
        nums.update(numbers or {})
        reason = "; ".join(d.reason for d in decisions) + (f". {note}" if note else "")
        return cls(combine(decisions, how), nums, reason, tuple(comparisons), tuple(decisions))

    @property
    def headline(self) -> Decision | None:
        return self.decisions[0] if self.decisions else None


@dataclass(frozen=True)
class Counterfactual:
    """A deliberately broken mechanism under which a claim's verdict must come out "refuted".

    ``overrides`` are config changes applied over the claim's contract preset (``smoke`` if it has one,
    else ``quick``): an ablation switch, a frozen maker, a window ignored. ``broken`` says in words what
    they break. The contract test runs it; a claim whose verdict cannot be driven to "refuted" this way is
    a *check*, not a claim.
    """

    broken: str
    overrides: Mapping[str, Any]
    n_seeds: int | None = None
    #: the verdict the broken mechanism must produce ("refuted"; "supported" only for a claim our
    #: measurements refute, to show its verdict can also come out the other way)
    expect: VerdictLabel = "refuted"


Experiment = Callable[..., pd.DataFrame]
Judge = Callable[[Any, pd.DataFrame], Verdict]
Figures = Callable[[Any, pd.DataFrame], dict]
Kind = Literal["claim", "check"]
KINDS: tuple[str, ...] = ("claim", "check")


@dataclass(frozen=True)
class Claim:
    """A registered claim (``kind="claim"``) or theory check (``kind="check"``).

    A *claim* is a contested statement from the sources aflab tests: it states what would refute it
    (``refuted_if``), the threshold its deciding statistic must clear and why (``threshold``), and a
    ``counterfactual`` -- a broken mechanism that must make it "refuted". A *check* is a theorem or an
    identity verified numerically; it can only fail by a bug, and the report lists it apart.
    """

    id: str
    statement: str
    source: str
    config: type[ClaimConfig]
    experiment: Experiment
    verdict: Judge
    figures: Figures | None = None
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"quick": {}, "full": {}})
    seeds: Mapping[str, int] = field(default_factory=lambda: {"quick": 1, "full": 3})
    #: wall-clock budget of the quick preset in seconds (documented, checked by the report)
    quick_budget_s: float = 60.0
    #: a cell running longer than this is stopped and recorded as failed (None: no limit; --cell-timeout overrides)
    cell_timeout_s: float | None = 3600.0
    kind: Kind = "claim"
    #: the measured outcome that would refute the claim, in words
    refuted_if: str = ""
    #: the headline statistic's threshold and its justification (shown in the report)
    threshold: Threshold | None = None
    counterfactual: Counterfactual | None = None

    @property
    def system(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def contract_preset(self) -> str:
        """The preset the claim contract runs: ``smoke`` (a small size) if the claim has one, else ``quick``."""
        return "smoke" if "smoke" in self.presets else "quick"

    def make_config(self, preset: str = "quick", overrides: Mapping[str, Any] | None = None) -> ClaimConfig:
        """Build the validated config: defaults < preset < overrides.

        Raises :class:`ConfigError` naming the bad key and the allowed values.
        """
        if preset not in self.presets:
            raise ConfigError(self.id, "preset", f"unknown preset {preset!r}; allowed: {sorted(self.presets)}")
        values: dict[str, Any] = dict(self.presets[preset])
        for key, value in (overrides or {}).items():
            if key not in self.config.model_fields:
                raise ConfigError(self.id, key, f"unknown key; allowed keys: {', '.join(self.config.model_fields)}")
            values[key] = value
        try:
            return self.config(**values)
        except ValidationError as err:
            first = err.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "config"
            raise ConfigError(
                self.id, key, f"{first['msg']} (got {first.get('input')!r}); {describe_field(self.config, key)}"
            ) from None

    def n_seeds(self, preset: str) -> int:
        if preset == "smoke" and "smoke" not in self.seeds:
            return self.n_seeds("quick")
        return int(self.seeds.get(preset, 1))

    def run(self, cfg: ClaimConfig, seed: int, seed_index: int = 0) -> pd.DataFrame:
        """One cell: ``experiment(cfg, seed)``, plus ``seed_index=`` for experiments that take it.

        An experiment that must make a *different* per-seed choice for every seed of a sweep (e.g. which
        stretch of pi a market reads) declares a ``seed_index`` keyword; all others see only (cfg, seed).
        """
        if takes_seed_index(self.experiment):
            return self.experiment(cfg, seed, seed_index=seed_index)
        return self.experiment(cfg, seed)

    def contract_problems(self) -> list[str]:
        """What this claim lacks under the claim contract (empty when it declares everything it must)."""
        problems = []
        if self.kind not in KINDS:
            problems.append(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "claim":
            if self.counterfactual is None:
                problems.append(
                    "a claim needs a counterfactual (a broken mechanism that refutes it); "
                    "a statement that cannot fail is kind='check'"
                )
            if self.threshold is None:
                problems.append("a claim needs a threshold (statistic, side, value, justification)")
            if not self.refuted_if.strip():
                problems.append("a claim needs refuted_if: the measured outcome that would refute it")
        for role, fn, suffix in (
            ("experiment", self.experiment, "_experiment"),
            ("verdict", self.verdict, "_verdict"),
            ("figures", self.figures, "_figures"),
        ):
            name = getattr(fn, "__name__", "")
            if fn is not None and not name.endswith(suffix):
                problems.append(f"{role} function {name!r} should be named '<slug>{suffix}'")
        if not self.config.__name__.endswith("Config"):
            problems.append(f"config class {self.config.__name__!r} should be named '<Slug>Config'")
        return problems


def takes_seed_index(fn: Callable) -> bool:
    try:
        return "seed_index" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class ClaimSkipped(Exception):
    """Raise from an experiment when an optional resource it needs is absent (a model wheel, an extra).

    The cell is recorded as ``skipped`` with this message (never as a pass), is retried on the next run,
    and the report shows the claim as skipped with the message, which should name the install command.
    """


class ConfigError(ValueError):
    """A bad config value: carries the claim, the key and a message naming the fix."""

    def __init__(self, claim_id: str, key: str, message: str):
        self.claim_id, self.key = claim_id, key
        super().__init__(f"{claim_id}: bad config key '{key}': {message}")


def describe_field(config: type[ClaimConfig], key: str) -> str:
    """Human description of a config field's type and constraints (for error messages)."""
    fld = config.model_fields.get(key.split(".")[0])
    if fld is None:
        return f"allowed keys: {', '.join(config.model_fields)}"
    ann = fld.annotation
    if get_origin(ann) is Literal:
        bits = ["one of " + ", ".join(repr(a) for a in get_args(ann))]
    else:
        bits = [getattr(ann, "__name__", str(ann))]
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    for m in fld.metadata:
        for attr, sym in symbols.items():
            if getattr(m, attr, None) is not None:
                bits.append(f"{sym} {getattr(m, attr)}")
    text = "allowed: " + ", ".join(bits)
    return text + (f" ({fld.description})" if fld.description else "")


def enabled_systems() -> tuple[str, ...]:
    """The systems to load: all of :data:`SYSTEMS`, or those named in ``AFLAB_SYSTEMS`` (comma list)."""
    wanted = os.environ.get("AFLAB_SYSTEMS", "").strip()
    if not wanted:
        return SYSTEMS
    names = tuple(n.strip() for n in wanted.split(",") if n.strip())
    unknown = [n for n in names if n not in SYSTEMS and n != "core"]
    if unknown:
        raise ValueError(f"AFLAB_SYSTEMS: unknown system(s) {unknown}; allowed: {', '.join(SYSTEMS)}")
    return tuple(n for n in SYSTEMS if n in names)


_REGISTRY: dict[str, Claim] = {}
_LOADED = False


def _origin(fn: Callable) -> tuple[str | None, str | None]:
    return getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)


def register(claim: Claim) -> Claim:
    """Add a claim to the registry.

    Registering the same claim again (a module re-imported: same experiment module and qualified name) is
    a no-op replacement; a different claim under a taken id is an error, even when its function happens
    to share a ``__qualname__`` with the first (the clash is keyed on module *and* qualified name).
    """
    if "." not in claim.id:
        raise ValueError(f"claim id must be '<system>.<slug>', got {claim.id!r}")
    if claim.kind not in KINDS:
        raise ValueError(f"{claim.id}: kind must be one of {KINDS}, got {claim.kind!r}")
    old = _REGISTRY.get(claim.id)
    if (
        old is not None
        and old.experiment is not claim.experiment
        and _origin(old.experiment) != _origin(claim.experiment)
    ):
        raise ValueError(
            f"two claims registered with id {claim.id!r}: {'.'.join(map(str, _origin(old.experiment)))} and "
            f"{'.'.join(map(str, _origin(claim.experiment)))}"
        )
    for preset in claim.presets:
        claim.make_config(preset)  # fail at import time on a bad preset
    if claim.counterfactual is not None:
        claim.make_config(claim.contract_preset, claim.counterfactual.overrides)
    _REGISTRY[claim.id] = claim
    return claim


def load_system(name: str) -> bool:
    """Import ``aflab.<name>.claims`` and every ``aflab.<name>.claims_<part>``; False if the system is absent."""
    try:
        pkg = importlib.import_module(f"aflab.{name}")
    except ModuleNotFoundError as err:
        if err.name == f"aflab.{name}":
            return False
        raise
    modules = sorted(
        m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name == "claims" or m.name.startswith("claims_")
    )
    for mod in modules:
        importlib.import_module(f"aflab.{name}.{mod}")
    return bool(modules)


def load_plugins() -> None:
    """User claims: ``AFLAB_PLUGINS="mypkg.claims,other.module"`` (modules imported, never eval'd)."""
    for modname in filter(None, (m.strip() for m in os.environ.get("AFLAB_PLUGINS", "").split(","))):
        importlib.import_module(modname)


def load_systems() -> list[str]:
    """Import the claims of every enabled system present, and the plugins; return the systems loaded."""
    global _LOADED
    importlib.import_module("aflab.core.selfcheck")
    loaded = [name for name in enabled_systems() if load_system(name)]
    load_plugins()
    _LOADED = True
    return loaded


def all_claims(system: str | None = None) -> list[Claim]:
    if not _LOADED:
        load_systems()
    order = {s: i for i, s in enumerate(("core",) + SYSTEMS)}
    claims = sorted(_REGISTRY.values(), key=lambda c: (order.get(c.system, 99), c.id))
    if system is not None:
        claims = [c for c in claims if c.system == system]
    return claims


def get_claim(claim_id: str) -> Claim:
    if claim_id not in _REGISTRY and not _LOADED:
        # load only what this id needs (cheap in worker processes), else everything
        system = claim_id.split(".", 1)[0]
        if system == "core":
            importlib.import_module("aflab.core.selfcheck")
        elif system in SYSTEMS:
            load_system(system)
        else:
            load_plugins()
        if claim_id not in _REGISTRY:
            load_systems()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}; run `aflab list --ids` to see the ids") from None


#: Libraries whose version enters every cell's cache key (read from package metadata: nothing is imported).
KEY_LIBRARIES: tuple[str, ...] = (
    "numpy",
    "scipy",
    "pandas",
    "torch",
    "transformers",
    "python-sat",
    "mpmath",
    "scikit-learn",
)


def code_version(claim: Claim) -> str:
    """The cache key's code part: package version + a hash of every source the claim's result depends on.

    Hashed: ``aflab/core`` (the runner, seeding and statistics shape every cell), the claim's own code (for
    an aflab system its folder; for a plugin its own package folder or, for a single-module plugin, that
    file -- never the whole of site-packages), and the installed versions of :data:`KEY_LIBRARIES`. Editing
    any of them, or upgrading numpy or torch, invalidates the cached cells (and marks stored stability runs
    as measured at older code). Presentation modules (:func:`is_presentation_source`: figures, command
    lines, the report page, the stability driver) are left out: they draw or print stored numbers and
    compute none, so restyling a figure does not discard hours of measurements.
    """
    from aflab import __version__

    return f"{__version__}+{_source_digest(claim.experiment.__module__)}"


@functools.lru_cache(maxsize=256)
def _source_digest(module_name: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(_core_sources()) + sorted(_claim_sources(module_name)):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    for lib in KEY_LIBRARIES:
        digest.update(f"{lib}={_library_version(lib)}".encode())
    return digest.hexdigest()[:10]


#: core modules that only present stored results (the report page, the stability driver and its figure)
PRESENTATION_MODULES: frozenset[str] = frozenset({"report.py", "stability.py", "cli_support.py"})


def is_presentation_source(path: Path) -> bool:
    """True for a module that draws or prints results but computes none: ``plots*.py``, ``cli*.py``, and
    :data:`PRESENTATION_MODULES` in ``aflab/core``. Such files do not enter :func:`code_version`."""
    name = path.name
    in_core = path.parent.name == "core" and path.parent.parent.name == "aflab"
    return name.startswith(("plots", "cli")) or (in_core and name in PRESENTATION_MODULES)


def _hashed(paths) -> list[Path]:
    return [p for p in paths if not is_presentation_source(p)]


def _core_sources() -> list[Path]:
    return _hashed(Path(__file__).resolve().parent.rglob("*.py"))


def _claim_sources(module_name: str) -> list[Path]:
    parts = module_name.split(".")
    if parts[0] == "aflab" and len(parts) > 2:
        system_file = importlib.import_module(f"aflab.{parts[1]}").__file__ or ""
        return _hashed(Path(system_file).resolve().parent.rglob("*.py"))
    if parts[0] == "aflab":  # aflab.core.<module>: covered by the core sources
        return []
    top = importlib.import_module(parts[0])
    top_file = Path(getattr(top, "__file__", None) or "")
    if hasattr(top, "__path__") and top_file.name == "__init__.py":
        return list(top_file.parent.rglob("*.py"))
    return [top_file] if top_file.is_file() else []


def _library_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"
