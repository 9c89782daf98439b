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

import hashlib
import importlib
import inspect
import json
import os
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

#: The systems aflab knows, in report order. ``core`` imports ``aflab.<name>.claims`` for each
#: that exists; a system that has not landed yet is simply absent.
SYSTEMS: tuple[str, ...] = (
    "logical_induction",
    "waluigi",
    "path_dependence",
    "partial_agency",
    "embedded",
    "normativity",
)

VerdictLabel = Literal["supported", "refuted", "inconclusive"]
VERDICTS: tuple[str, ...] = ("supported", "refuted", "inconclusive")


class ClaimConfig(BaseModel):
    """Base class of every claim's typed config: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

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
    """The outcome of a claim: a label, the numbers that decided it, and a one-line reason."""

    label: VerdictLabel
    numbers: Mapping[str, float]
    reason: str
    comparisons: tuple[Comparison, ...] = ()

    def __post_init__(self) -> None:
        if self.label not in VERDICTS:
            raise ValueError(f"verdict label must be one of {VERDICTS}, got {self.label!r}")


Experiment = Callable[[Any, int], pd.DataFrame]
Judge = Callable[[Any, pd.DataFrame], Verdict]
Figures = Callable[[Any, pd.DataFrame], dict]


@dataclass(frozen=True)
class Claim:
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

    @property
    def system(self) -> str:
        return self.id.split(".", 1)[0]

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
        return int(self.seeds.get(preset, 1))


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


def register(claim: Claim) -> Claim:
    """Add a claim to the registry (idempotent for the same object; a clash of ids is an error)."""
    if "." not in claim.id:
        raise ValueError(f"claim id must be '<system>.<slug>', got {claim.id!r}")
    old = _REGISTRY.get(claim.id)
    if (
        old is not None
        and old.experiment is not claim.experiment
        and getattr(old.experiment, "__qualname__", None) != getattr(claim.experiment, "__qualname__", None)
    ):
        raise ValueError(f"two claims registered with id {claim.id!r}")
    for preset in claim.presets:
        claim.make_config(preset)  # fail at import time on a bad preset
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


def code_version(claim: Claim) -> str:
    """Package version plus a hash of the claim's system sources: editing the code invalidates the cache."""
    from aflab import __version__

    module = inspect.getmodule(claim.experiment)
    pkg_dir = Path(module.__file__).parent if module and module.__file__ else None
    digest = hashlib.sha256()
    if pkg_dir is not None:
        for path in sorted(pkg_dir.rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:10]}"
