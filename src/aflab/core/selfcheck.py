"""A built-in check that tests the *harness*, not any agent-foundations idea: the smallest complete claim.

It draws uniform samples and checks the sample mean against the closed form E[U(0,1)] = 1/2 with a
4-standard-error interval (sigma^2 = 1/12). It exercises the registry, runner, store, verdict, stability
and report paths so ``make report`` produces a page even with no system installed. It is a theorem, so
its kind is ``check``; it still declares a broken mechanism (a generator shifted by ``shift``) under which
the contract test requires "refuted" -- a check that could not fail would test nothing.

Read this file to see the whole contract: a typed config, an experiment that reads only its config and
seed, a verdict from :func:`aflab.core.stats.decide`, figures drawn from the stored table, presets
(``smoke`` for the contract test), and the claim's kind, threshold and counterfactual.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core.claims import Claim, ClaimConfig, Comparison, Counterfactual, Verdict, register
from aflab.core.plots import new_figure
from aflab.core.stats import Threshold, decide, z_interval

#: 4 standard errors, two-sided: a false alarm once in ~16,000 runs of a correct generator.
LEVEL = 0.99994
THRESHOLD = Threshold(
    "mean of U(0,1) samples",
    "equals",
    0.5,
    "E[U(0,1)] = 1/2 exactly; the 4-SE interval (level 0.99994) rejects a correct generator once in ~16,000 runs "
    "and a shift of 0.05 with 20,000 samples (24 SE) essentially always",
)


class SelfcheckConfig(ClaimConfig):
    n_samples: int = Field(10_000, ge=10, le=10**8, description="uniform draws per seed")
    n_batches: int = Field(20, ge=1, le=10_000, description="batches, for the running-mean plot")
    shift: float = Field(0.0, ge=-1, le=1, description="added to every draw: a deliberately broken generator")


def selfcheck_experiment(cfg: SelfcheckConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.random((cfg.n_batches, cfg.n_samples // cfg.n_batches)) + cfg.shift
    return pd.DataFrame({"batch": np.arange(cfg.n_batches), "mean": x.mean(axis=1), "n": x.shape[1]})


def selfcheck_verdict(cfg: SelfcheckConfig, table: pd.DataFrame) -> Verdict:
    n = float(table["n"].sum())
    mean = float((table["mean"] * table["n"]).sum() / n)
    se = float(np.sqrt(1 / 12 / n))
    decision = decide(z_interval(mean, se, LEVEL, int(n)), THRESHOLD)
    return Verdict.from_decisions(
        [decision],
        {"stderr": se, "z": (mean - 0.5) / se, "n": n},
        comparisons=(Comparison("E[U(0,1)]", 0.5, mean, se),),
    )


def selfcheck_figures(cfg: SelfcheckConfig, table: pd.DataFrame) -> dict:
    fig, ax = new_figure()
    for seed, grp in table.groupby("seed"):
        ax.plot(grp["batch"], np.cumsum(grp["mean"]) / (np.arange(len(grp)) + 1), label=f"seed {seed}")
    ax.axhline(0.5, color="k", lw=1, ls="--", label="theory 1/2")
    ax.set(xlabel="batch", ylabel="running mean", title="Self-check: running mean of U(0,1)")
    ax.legend(fontsize=8)
    return {"running_mean": fig}


CLAIM = register(
    Claim(
        id="core.selfcheck",
        statement="Harness self-check (not a research claim): the mean of U(0,1) samples is 1/2 within 4 "
        "standard errors.",
        source="aflab itself: exercises registry, runner, store and report",
        config=SelfcheckConfig,
        experiment=selfcheck_experiment,
        verdict=selfcheck_verdict,
        figures=selfcheck_figures,
        presets={"smoke": {"n_samples": 2_000}, "quick": {"n_samples": 20_000}, "full": {"n_samples": 2_000_000}},
        seeds={"smoke": 2, "quick": 2, "full": 4},
        quick_budget_s=5,
        kind="check",
        threshold=THRESHOLD,
        counterfactual=Counterfactual("every draw shifted by +0.05 (a broken generator)", {"shift": 0.05}),
    )
)
