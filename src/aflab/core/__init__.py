"""aflab.core: what every system shares -- claims registry, seeding, runner, store, plots, report.

A system plugs in by defining ``aflab/<system>/claims.py`` (which calls :func:`register`) and,
optionally, ``aflab/<system>/cli.py`` exposing a ``typer.Typer`` named ``app``.
"""

from aflab.core.claims import (
    SYSTEMS,
    Claim,
    ClaimConfig,
    ClaimSkipped,
    Comparison,
    ConfigError,
    Counterfactual,
    Verdict,
    all_claims,
    get_claim,
    load_systems,
    register,
)
from aflab.core.seeding import derive_seed, seed_everything
from aflab.core.threads import single_thread

__all__ = [
    "SYSTEMS",
    "Claim",
    "ClaimConfig",
    "ClaimSkipped",
    "Comparison",
    "ConfigError",
    "Counterfactual",
    "Verdict",
    "all_claims",
    "derive_seed",
    "get_claim",
    "load_systems",
    "register",
    "seed_everything",
    "single_thread",
]
