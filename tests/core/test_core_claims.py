import pytest
from pydantic import Field

from aflab.core import Claim, ClaimConfig, ConfigError, Verdict, all_claims, get_claim
from aflab.core.seeding import cell_seed, derive_seed


def test_selfcheck_registered_and_system_is_core():
    claim = get_claim("core.selfcheck")
    assert claim.system == "core"
    assert claim in all_claims("core")


def test_unknown_claim_names_the_fix():
    with pytest.raises(KeyError, match="aflab list --ids"):
        get_claim("nope.nothing")


@pytest.mark.parametrize(
    "overrides, key, fragment",
    [
        ({"n_samples": 5}, "n_samples", ">= 10"),
        ({"n_samples": "abc"}, "n_samples", "integer"),
        ({"bogus": 1}, "bogus", "allowed keys: n_samples, n_batches"),
        ({"n_batches": 0}, "n_batches", ">= 1"),
    ],
)
def test_config_errors_name_key_and_allowed_values(overrides, key, fragment):
    claim = get_claim("core.selfcheck")
    with pytest.raises(ConfigError) as info:
        claim.make_config("quick", overrides)
    assert info.value.key == key
    assert fragment in str(info.value)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset"):
        get_claim("core.selfcheck").make_config("medium")


def test_config_hash_is_stable_and_sensitive():
    claim = get_claim("core.selfcheck")
    a, b = claim.make_config("quick"), claim.make_config("quick")
    assert a.config_hash() == b.config_hash()
    assert a.config_hash() != claim.make_config("quick", {"n_batches": 7}).config_hash()
    with pytest.raises(Exception):
        a.n_samples = 3  # frozen


def test_verdict_label_is_checked():
    with pytest.raises(ValueError):
        Verdict("maybe", {}, "")


def test_bad_preset_fails_at_registration():
    class C(ClaimConfig):
        x: int = Field(1, ge=0)

    from aflab.core import register

    with pytest.raises(ConfigError):
        register(
            Claim(
                id="core.bad-preset",
                statement="",
                source="",
                config=C,
                experiment=lambda c, s: None,
                verdict=lambda c, t: None,
                presets={"quick": {"x": -1}},
            )
        )


def test_seeds_are_deterministic_and_distinct():
    assert derive_seed(1, "a", 2) == derive_seed(1, "a", 2)
    seeds = {cell_seed(0, "core.selfcheck", "abc", i) for i in range(1000)}
    assert len(seeds) == 1000
    assert all(0 <= s < 2**63 for s in seeds)
    assert cell_seed(0, "x", "h", 0) != cell_seed(1, "x", "h", 0)


def test_selfcheck_verdict_can_refute():
    """The self-check must be able to fail: a biased table is refuted."""
    import pandas as pd

    claim = get_claim("core.selfcheck")
    cfg = claim.make_config("quick")
    biased = pd.DataFrame({"batch": range(20), "mean": [0.51] * 20, "n": [1000] * 20, "seed": 0})
    assert claim.verdict(cfg, biased).label == "refuted"
    fair = claim.experiment(cfg, 123).assign(seed=0)
    assert claim.verdict(cfg, fair).label == "supported"


def test_literal_field_error_lists_the_choices():
    from typing import Literal

    class C(ClaimConfig):
        dataset: Literal["digits", "mnist1d"] = "digits"

    claim = Claim(
        id="core.literal-test",
        statement="",
        source="",
        config=C,
        experiment=lambda c, s: None,
        verdict=lambda c, t: None,
        presets={"quick": {}},
    )
    with pytest.raises(ConfigError) as info:
        claim.make_config("quick", {"dataset": "cifar"})
    assert info.value.key == "dataset" and "one of 'digits', 'mnist1d'" in str(info.value)
