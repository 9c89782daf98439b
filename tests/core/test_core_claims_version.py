"""code_version: which sources enter a claim's cache key."""

from pathlib import Path

from aflab.core import claims as claims_mod
from aflab.core.claims import _claim_sources, _core_sources, is_presentation_source


def test_presentation_modules_do_not_enter_the_code_version():
    core = {p.name for p in _core_sources()}
    assert {"runner.py", "stats.py", "evaluate.py", "seeding.py", "claims.py"} <= core
    assert not core & {"report.py", "plots.py", "stability.py", "cli_support.py"}
    system = {p.name for p in _claim_sources("aflab.waluigi.claims_ml")}
    assert "lm_probe.py" in system and "theory.py" in system
    assert not any(n.startswith(("plots", "cli")) for n in system)


def test_a_computing_module_named_like_presentation_outside_core_is_judged_by_name():
    assert is_presentation_source(Path("/x/aflab/waluigi/plots_ml.py"))
    assert is_presentation_source(Path("/x/aflab/core/report.py"))
    assert not is_presentation_source(Path("/x/aflab/waluigi/report.py"))  # only core's report is exempt
    assert not is_presentation_source(Path("/x/aflab/core/stats.py"))


def test_editing_a_hashed_source_changes_the_digest(monkeypatch, tmp_path):
    real = _core_sources()
    extra = tmp_path / "aflab" / "core" / "extra.py"
    extra.parent.mkdir(parents=True)
    extra.write_text("x = 1\n")
    monkeypatch.setattr(claims_mod, "_core_sources", lambda: real + [extra])
    claims_mod._source_digest.cache_clear()
    first = claims_mod._source_digest("aflab.waluigi.claims_ml")
    extra.write_text("x = 2\n")
    claims_mod._source_digest.cache_clear()
    second = claims_mod._source_digest("aflab.waluigi.claims_ml")
    claims_mod._source_digest.cache_clear()
    assert first != second
