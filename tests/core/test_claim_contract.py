"""The claim contract: one parametrized set of checks run on every registered claim (like scikit-learn's
``parametrize_with_checks``). A plugin is checked the same way: ``AFLAB_PLUGINS=mypkg.claims pytest
tests/core/test_claim_contract.py``. While working on one system, ``AFLAB_CONTRACT_ONLY=waluigi,core`` runs the
contract on the claims whose ids start with one of those prefixes (CI runs it on every claim).

For each claim, at its contract preset (``smoke`` if it has one, else ``quick``):

- *declared*: kind, and for a claim a threshold with its justification, what would refute it, and a
  counterfactual; functions named by the one scheme (``<slug>_experiment`` / ``_verdict`` / ``_figures``);
- *determinism and purity*: the same cells run in fresh pool workers and serially in this process (which
  has imported and run everything else first) give identical tables -- module-level state that depends on
  what else a process built shows up here -- and so do Ray workers where Ray is installed;
- *Parquet-safe tables*, *figures drawn from the stored table* (deterministically), a verdict that is a
  pure function of the table and decided by the shared rule (its headline threshold is the claim's);
- *a refutation that fires*: the counterfactual (a broken mechanism) gives the declared verdict, "refuted".
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pandas as pd
import pytest

from aflab.core.claims import ConfigError, all_claims, get_claim
from aflab.core.evaluate import ClaimOutcome, judge
from aflab.core.runner import execute_cell, plan_cells, run_cells
from aflab.core.store import ResultStore, bytes_to_table


def _selected_claims():
    """Every registered claim, or those whose ids start with a prefix in ``AFLAB_CONTRACT_ONLY``."""
    only = [p.strip() for p in os.environ.get("AFLAB_CONTRACT_ONLY", "").split(",") if p.strip()]
    return [c for c in all_claims() if not only or c.id.startswith(tuple(only))]


CLAIM_IDS = [c.id for c in _selected_claims()]
SAFE_KINDS = "biufb"  # bool, int, unsigned, float (+ strings, checked apart)


def _contract_jobs():
    """(claim, config, preset, n_seeds, role) for every claim: its contract run and its counterfactual."""
    jobs = []
    for claim in _selected_claims():
        preset = claim.contract_preset
        jobs.append((claim, claim.make_config(preset), preset, claim.n_seeds(preset), "contract"))
        cf = claim.counterfactual
        if cf is not None:
            cfg = claim.make_config(preset, cf.overrides)
            jobs.append((claim, cfg, preset, cf.n_seeds or claim.n_seeds(preset), "counterfactual"))
    return jobs


@pytest.fixture(scope="session")
def contract_runs(tmp_path_factory):
    """Every claim's contract and counterfactual cells, run once on a 2-worker pool; then the contract cells
    again serially in this process. Returns ``{(claim_id, role): outcome}`` and the serial tables."""
    path = tmp_path_factory.mktemp("contract") / "results.duckdb"
    jobs = _contract_jobs()
    outcomes = {(c.id, role): ClaimOutcome(c, cfg, p, plan_cells(c, cfg, n)) for c, cfg, p, n, role in jobs}
    with ResultStore(path) as store:
        run_cells([cell for o in outcomes.values() for cell in o.cells], store, jobs=2, progress=False)
        for o in outcomes.values():
            judge(o, store, draw_figures=False)
    serial = {}
    for (cid, role), o in outcomes.items():
        if role == "contract" and o.skipped is None:
            serial[cid] = [execute_cell(cell) for cell in o.cells]
    return outcomes, serial


def _outcome(contract_runs, claim_id: str, role: str = "contract") -> ClaimOutcome:
    outcomes, _ = contract_runs
    o = outcomes[(claim_id, role)]
    if o.skipped:
        pytest.skip(f"{claim_id} skipped here: {o.skipped}")
    assert o.error is None, f"{claim_id} ({role}) did not finish:\n{o.error}"
    return o


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_contract_is_declared(claim_id):
    claim = get_claim(claim_id)
    assert claim.contract_problems() == []
    claim.make_config(claim.contract_preset)


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_config_rejects_nan_and_infinity_in_every_float_field(claim_id):
    """A NaN threshold compares false everywhere (it could never refute), so no config field takes one, from
    the Python API as from ``--set``; the error names the field."""
    claim = get_claim(claim_id)
    for key, field in claim.config.model_fields.items():
        kind = str(field.annotation)
        if field.annotation is float:
            bad_values = [math.nan, math.inf, -math.inf]
        elif kind.startswith("tuple[float") or "Annotated[float" in kind:  # tuples of floats, element-wise
            bad_values = [(0.5, math.nan), (0.5, math.inf)]
        else:
            continue
        for bad in bad_values:
            with pytest.raises(ConfigError, match=key):
                claim.make_config(claim.contract_preset, {key: bad})


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_same_seed_same_table_in_pool_and_in_this_process(claim_id, contract_runs):
    o = _outcome(contract_runs, claim_id)
    _, serial = contract_runs
    for cell, rec in zip(o.cells, serial[claim_id]):
        assert rec.status == "ok", rec.error
        in_pool = o.table[o.table.seed == cell.seed_index].drop(columns="seed").reset_index(drop=True)
        pd.testing.assert_frame_equal(bytes_to_table(rec.result), in_pool, check_exact=True)


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_table_is_parquet_safe(claim_id, contract_runs):
    table = _outcome(contract_runs, claim_id).table
    assert len(table) > 0
    for col in table.columns:
        dtype = table[col].dtype
        if dtype.kind in SAFE_KINDS:
            continue
        values = table[col].dropna()
        assert values.map(type).isin([str]).all(), f"column {col!r} holds {values.map(type).unique()}, not plain values"
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(buf.getvalue())), table, check_exact=True)


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_verdict_is_a_pure_function_of_the_table_by_the_shared_rule(claim_id, contract_runs):
    o = _outcome(contract_runs, claim_id)
    again = o.claim.verdict(o.config, o.table.copy())
    assert again.label == o.verdict.label
    assert _same_numbers(again.numbers, o.verdict.numbers)
    assert o.verdict.decisions, "the verdict must come from aflab.core.stats.decide (Verdict.from_decisions)"
    if o.claim.kind == "claim":
        assert o.verdict.headline.threshold == o.claim.threshold, "the headline decision must use claim.threshold"


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_figures_come_from_the_stored_table(claim_id, contract_runs):
    o = _outcome(contract_runs, claim_id)
    if o.claim.figures is None:
        pytest.skip("no figures")
    from aflab.core.plots import figure_png

    first = o.claim.figures(o.config, o.table.copy())
    second = o.claim.figures(o.config, o.table.copy())
    assert first and set(first) == set(second)
    for name in first:
        assert figure_png(first[name], dpi=40) == figure_png(second[name], dpi=40), f"figure {name} not deterministic"


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_counterfactual_gives_the_declared_verdict(claim_id, contract_runs):
    claim = get_claim(claim_id)
    if claim.counterfactual is None:
        assert claim.kind == "check"
        pytest.skip("a check without a mutation")
    o = _outcome(contract_runs, claim_id, "counterfactual")
    assert o.verdict.label == claim.counterfactual.expect, (
        f"broken mechanism ({claim.counterfactual.broken}) gave {o.verdict.label}: {o.verdict.reason}"
    )


def _same_numbers(a, b) -> bool:
    if set(a) != set(b):
        return False
    for k in a:
        x, y = a[k], b[k]
        try:
            if not (float(x) == float(y) or (math.isnan(float(x)) and math.isnan(float(y)))):
                return False
        except (TypeError, ValueError):
            if x != y:
                return False
    return True


def test_ray_runs_equal_serial_runs(contract_runs, tmp_path):
    """Ray workers give the same tables as the pool, for every claim (where Ray is installed)."""
    pytest.importorskip("ray")
    outcomes, _ = contract_runs
    picked = [o for (cid, role), o in outcomes.items() if role == "contract" and o.error is None and not o.skipped]
    with ResultStore(tmp_path / "ray.duckdb") as store:
        summary = run_cells([c for o in picked for c in o.cells], store, jobs=2, ray_address="local", progress=False)
        assert summary.failed == 0, summary.failures[:1]
        for o in picked:
            twin = ClaimOutcome(o.claim, o.config, o.preset, o.cells)
            judge(twin, store, draw_figures=False)
            pd.testing.assert_frame_equal(twin.table, o.table, check_exact=True, obj=o.claim.id)


def test_contract_rejects_a_claim_that_cannot_fail():
    """The contract's own negative test: a kind='claim' with no counterfactual, threshold or reason is flagged."""
    from aflab.core.claims import Claim, ClaimConfig, Verdict

    class SomethingConfig(ClaimConfig):
        n: int = 1

    def something_experiment(cfg, seed):
        return pd.DataFrame({"x": np.arange(cfg.n)})

    def judged(cfg, table):
        return Verdict("supported", {}, "always")

    problems = Claim("x.y", "s", "t", SomethingConfig, something_experiment, judged).contract_problems()
    assert any("counterfactual" in p for p in problems)
    assert any("threshold" in p for p in problems)
    assert any("refuted_if" in p for p in problems)
    assert any("_verdict" in p for p in problems)
