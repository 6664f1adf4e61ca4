"""The README and docs/statistics.md state the verdict's numbers: alpha, power, the margin, the seed
rule's bounds. These tests hold each number written there equal to the code's constant."""

from __future__ import annotations

import re

from synthlib.protocols import get_protocol
from synthlib.verdict import ALPHA, EQUIVALENCE_MARGIN, POWER
from tests.conftest import REPO_ROOT

README = " ".join((REPO_ROOT / "README.md").read_text().split())
STATISTICS = " ".join((REPO_ROOT / "docs" / "statistics.md").read_text().split())
RULE = get_protocol("sound").seed_rule


def percent(value: float) -> str:
    return f"{100 * value:g}%"


def test_the_readme_states_the_codes_margin_alpha_power_and_seed_bounds():
    assert RULE is not None
    assert f"within ±{percent(EQUIVALENCE_MARGIN)} of the right-hand column's error rate" in README
    assert f"Shaffer's modification of Holm at alpha {ALPHA:g}" in README
    assert f"at most a {percent(ALPHA)} chance of any false conclusion per family" in README
    assert (
        f"a {RULE.minimum}-seed pilot" in README
        and f"(at least {RULE.minimum}, at most {RULE.maximum}; power" in README
    )
    assert f"power {POWER:g} at a difference of one margin" in README


def test_docs_statistics_states_the_same_numbers():
    assert RULE is not None
    assert f"within ±{percent(EQUIVALENCE_MARGIN)} of the right-hand column's error rate" in STATISTICS
    assert f"`verdict.EQUIVALENCE_MARGIN` = {EQUIVALENCE_MARGIN:.2f}" in STATISTICS
    assert f"at most a {ALPHA:g} chance of any false conclusion" in STATISTICS
    assert f"power {POWER:g} for the t-test" in STATISTICS
    assert f"at least {RULE.minimum} and at most {RULE.maximum}" in STATISTICS
    assert re.search(rf"runs a {RULE.minimum}-seed pilot", STATISTICS)
