"""Verdict stability (aflab.core.stability): disjoint seed sets, the stored result, the --shipped table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import replace

import pytest
import threadpoolctl
from typer.testing import CliRunner

from aflab.cli import app
from aflab.core.claims import code_version, get_claim
from aflab.core.stability import (
    StabilityResult,
    best_results,
    machine_signature,
    platform_summary,
    run_stability,
    stability_rows,
)
from aflab.core.store import ResultStore


def _selfcheck_stability(tmp_path, n_sets=3) -> StabilityResult:
    claim = get_claim("core.selfcheck")
    with ResultStore(tmp_path / "store") as st:
        res = run_stability(claim, st, n_sets=n_sets, preset="smoke", progress=False)
    assert res is not None
    return res


def test_sets_are_disjoint_and_set0_is_the_report_seeds(tmp_path):
    res = _selfcheck_stability(tmp_path)
    n = res.seeds_per_set
    assert [s.first_seed_index for s in res.sets] == [0, n, 2 * n]  # seed indices j*n .. j*n+n-1: no overlap
    assert res.agreement == res.labels.count(res.modal_label) and 1 <= res.agreement <= 3
    assert res.code_version == code_version(get_claim("core.selfcheck"))
    again = StabilityResult.from_json(res.to_json())
    assert again.labels == res.labels and again.config_hash == res.config_hash


def test_a_stability_run_records_the_machine_it_ran_on(tmp_path):
    res = _selfcheck_stability(tmp_path, n_sets=2)
    assert res.platform == machine_signature() and platform.machine() in res.platform
    assert StabilityResult.from_json(res.to_json()).platform == res.platform
    old = json.loads(res.to_json())
    del old["platform"]  # rows stored before the machine was recorded still load
    assert StabilityResult.from_json(old).platform == ""
    [row] = stability_rows([get_claim("core.selfcheck")], [StabilityResult.from_json(old)], "smoke")
    assert platform_summary([row]) == ["measured on not recorded: 1 row", f"this machine: {machine_signature()}"]


def _signature_in_subprocess(first: str = "", **env) -> str:
    code = first + "import sys; from aflab.core.stability import machine_signature as m; print(m())\n"
    code += "print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **env}
    )
    return out.stdout


def test_the_signature_names_the_blas_kernel_and_never_imports_torch():
    """Two machines whose OpenBLAS picks different kernels round sums differently: the signature must tell
    them apart. OPENBLAS_CORETYPE makes this machine's OpenBLAS load another kernel, as another CPU would."""
    sig, torch_loaded = _signature_in_subprocess().splitlines()
    assert torch_loaded == "False"  # describing the machine must not cost a torch import
    # scipy loads a second OpenBLAS: the signature must not depend on what the process imported before
    assert _signature_in_subprocess("import scipy.linalg; ").splitlines()[0] == sig
    blas = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    if not blas or platform.machine() != "x86_64":
        pytest.skip("the kernel switch needs numpy's OpenBLAS on x86_64")
    other = "Sandybridge" if blas[0].get("architecture") != "Sandybridge" else "Nehalem"
    forced = _signature_in_subprocess(OPENBLAS_CORETYPE=other).splitlines()[0]
    assert other in forced and forced != sig


def test_a_set_keeps_its_whole_reason(tmp_path, monkeypatch):
    """A two-decision claim states its second decision at the end of a long reason: the stored set must
    keep it (a 300-character cut once dropped provability-induction's floor-cost interval)."""
    from aflab.core import claims as claims_mod

    claim = get_claim("core.selfcheck")
    tail = " | second decision: 0.0123 [0.0045, 0.0201] -> supported"

    def long_reason(cfg, table):
        v = claim.verdict(cfg, table)
        return replace(v, reason=v.reason + " " + "x" * 400 + tail)

    monkeypatch.setitem(claims_mod._REGISTRY, claim.id, replace(claim, verdict=long_reason))
    res = _selfcheck_stability(tmp_path, n_sets=2)
    assert all(s.reason.endswith(tail) for s in res.sets)
    assert StabilityResult.from_json(res.to_json()).sets[0].reason.endswith(tail)


def test_rows_mark_missing_older_and_current_results(tmp_path):
    claim = get_claim("core.selfcheck")
    res = _selfcheck_stability(tmp_path)
    [row] = stability_rows([claim], [res], "smoke")
    assert row.current and row.agreement.startswith(f"{res.agreement}/3") and row.set0 == res.sets[0].label
    assert not row.meets_target  # 3 sets are too few for the target (>= 9 of 10), whatever they agree on
    ten = replace(res, sets=tuple(replace(res.sets[0], index=j, first_seed_index=j) for j in range(10)))
    [row] = stability_rows([claim], [ten], "smoke")
    assert row.meets_target and row.agreement == f"10/10 {res.sets[0].label}" and not row.undecided
    undecided = replace(ten, sets=tuple(replace(s, label="inconclusive") for s in ten.sets))
    [row] = stability_rows([claim], [undecided], "smoke")
    assert row.agreement == "10/10 inconclusive" and row.undecided and not row.meets_target
    older = replace(res, code_version="0.0.0+older")
    [row] = stability_rows([claim], [older], "smoke")
    assert not row.current
    other_config = replace(res, config_hash="not-this-config")  # a result for another config is never used
    assert best_results([claim], [other_config], "smoke") == {}
    [row] = stability_rows([claim], [other_config], "smoke")
    assert row.agreement == "not measured" and not row.meets_target


def test_cli_shipped_lists_without_running(tmp_path):
    store = tmp_path / "store"
    res = _selfcheck_stability(tmp_path)
    with ResultStore(store) as st:
        st.put_stability(res.claim, res.preset, res.config_hash, res.code_version, res.n_sets, res.to_json())
    out = CliRunner().invoke(
        app, ["stability", "core.selfcheck", "--shipped", "--preset", "smoke", "--store", str(store)]
    )
    assert out.exit_code == 0, out.output
    assert "core.selfcheck *" in out.output  # a check is starred
    assert f"{res.agreement}/3 {res.modal_label}" in out.output and "current" in out.output
    assert f"measured on {res.platform}: 1 row" in out.output and "this machine: " in out.output
    empty = CliRunner().invoke(app, ["stability", "core.selfcheck", "--shipped", "--store", str(tmp_path / "none")])
    assert empty.exit_code == 0 and "not measured" in empty.output
    assert not (tmp_path / "none").exists()  # listing never creates a store


def test_report_overview_counts_the_target_and_flags_a_verdict_against_the_sets():
    from aflab.core.report import stability_overview

    def view(cid, label, stab, kind="claim"):
        return {"id": cid, "kind": kind, "label": label, "stability": stab}

    def stab(agree, n, modal, current=True):
        return {"agreement": agree, "n_sets": n, "modal": modal, "current": current}

    views = [
        view("a", "supported", stab(10, 10, "supported")),
        view("b", "inconclusive", stab(9, 10, "supported", current=False)),  # meets, but set 0 is the odd one
        view("c", "supported", stab(8, 10, "supported")),
        view("d", "refuted", stab(2, 2, "refuted")),
        view("e", "supported", None),
        view("f", "supported", stab(10, 10, "supported"), kind="check"),  # checks are not counted
        view("g", "inconclusive", stab(10, 10, "inconclusive")),  # agreeing on "no decision" is not stability
    ]
    o = stability_overview(views)
    assert o == {
        "claims": 6,
        "meets": 2,
        "undecided": 1,
        "fewer_sets": 1,
        "not_measured": 1,
        "older_code": 1,
        "differs_from_modal": ["b"],
    }


def test_figures_encoded_on_two_processes_are_the_same_bytes():
    from aflab.core.plots import encode_figures, new_figure

    figs = []
    for k in range(16):
        fig, ax = new_figure()
        ax.plot(range(10), [x * k for x in range(10)])
        figs.append(fig)
    assert encode_figures(figs, jobs=2) == encode_figures(figs, jobs=1)


def test_every_shipped_stability_panel_draws():
    # a Wilson bound one ulp inside its estimate (80/80 -> high 0.9999999999999999 < 1) made matplotlib refuse a
    # negative error bar, and `aflab report` died after minutes of cells; every shipped result must draw
    import matplotlib.pyplot as plt

    from aflab.core.stability import SetOutcome, shipped_results, stability_figure

    ulp_inside = SetOutcome(0, 0, "supported", 1.0, 0.954, 0.9999999999999999)
    results = [*shipped_results(), replace(_first_shipped(), sets=(ulp_inside,))]
    for result in results:
        plt.close(stability_figure(result))


def _first_shipped() -> StabilityResult:
    from aflab.core.stability import shipped_results

    return shipped_results()[0]


def test_a_stability_panel_that_fails_is_left_out_of_the_report(monkeypatch, capsys):
    import aflab.core.stability as S
    from aflab.core import report

    def broken(result):
        raise ValueError("cannot draw")

    monkeypatch.setattr(S, "stability_figure", broken)

    class Outcome:  # the attributes _report_figures reads (no verdict: nothing of the claim's own to draw)
        claim = get_claim("core.selfcheck")
        figures: dict = {}
        verdict = None
        error = None

    figs = report._report_figures([Outcome()], {"core.selfcheck": (_first_shipped(), True)})
    assert figs == {} and "could not be drawn" in capsys.readouterr().err


def test_report_marks_agreement_on_inconclusive_as_undecided(tmp_path):
    """Ten sets agreeing on 'inconclusive' show as such in the report's table, flagged like a split."""
    from aflab.core.report import _stability_view

    claim = get_claim("core.selfcheck")
    res = _selfcheck_stability(tmp_path)
    ten = replace(res, sets=tuple(replace(res.sets[0], index=j, first_seed_index=j) for j in range(10)))
    undecided = replace(ten, sets=tuple(replace(s, label="inconclusive") for s in ten.sets))
    uris = {("stability", claim.id): "data:"}
    decided = _stability_view(claim, {claim.id: (ten, True)}, uris)
    assert not decided["undecided"] and decided["short"] == "10/10"
    view = _stability_view(claim, {claim.id: (undecided, True)}, uris)
    assert view["undecided"] and view["all_agree"] and view["short"] == "10/10 inconclusive"
