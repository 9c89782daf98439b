"""A built-in self-check claim: it tests the *harness*, not any agent-foundations idea.

It draws uniform samples and checks the sample mean against 1/2 within 4 standard errors
(sigma^2 = 1/12). It exercises the registry, runner, store, verdict and report paths so
``make report`` produces a page even with no system installed. It says what it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from aflab.core.claims import Claim, ClaimConfig, Comparison, Verdict, register
from aflab.core.plots import new_figure


class SelfCheckConfig(ClaimConfig):
    n_samples: int = Field(10_000, ge=10, le=10**8, description="uniform draws per seed")
    n_batches: int = Field(20, ge=1, le=10_000, description="batches, for the running-mean plot")


def experiment(cfg: SelfCheckConfig, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.random((cfg.n_batches, cfg.n_samples // cfg.n_batches))
    return pd.DataFrame({"batch": np.arange(cfg.n_batches), "mean": x.mean(axis=1), "n": x.shape[1]})


def verdict(cfg: SelfCheckConfig, table: pd.DataFrame) -> Verdict:
    n = float(table["n"].sum())
    mean = float((table["mean"] * table["n"]).sum() / n)
    se = float(np.sqrt(1 / 12 / n))
    z = (mean - 0.5) / se
    label = "supported" if abs(z) < 4 else "refuted"
    return Verdict(
        label,
        {"mean": mean, "stderr": se, "z": z, "n": n},
        f"sample mean {mean:.5f} vs 1/2, z = {z:+.2f} (|z| < 4 passes)",
        (Comparison("E[U(0,1)]", 0.5, mean, se),),
    )


def figures(cfg: SelfCheckConfig, table: pd.DataFrame) -> dict:
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
        statement="Harness self-check (not a research claim): the mean of U(0,1) samples is 1/2 within 4 standard errors.",
        source="aflab itself: exercises registry, runner, store and report",
        config=SelfCheckConfig,
        experiment=experiment,
        verdict=verdict,
        figures=figures,
        presets={"quick": {"n_samples": 20_000}, "full": {"n_samples": 2_000_000}},
        seeds={"quick": 2, "full": 4},
        quick_budget_s=5,
    )
)
