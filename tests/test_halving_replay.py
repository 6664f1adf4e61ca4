"""The committed successive-halving replay (``results/halving_replay.md``) is what the committed tunings give
now: regenerated from their score tables by ``scripts/replay_halving.py`` and compared whole."""

from __future__ import annotations

from scripts.replay_halving import replay_markdown, rules
from synthlib.provenance import REPO_ROOT

RESULTS = REPO_ROOT / "results"


def test_the_committed_halving_replay_is_current():
    committed = (RESULTS / "halving_replay.md").read_text()
    assert replay_markdown(rules(), RESULTS) == committed, (
        "results/halving_replay.md is stale: python scripts/replay_halving.py --write results/halving_replay.md"
    )


def test_the_replay_supports_what_docs_speed_says_of_the_first_rung():
    """docs/speed.md: from the first checkpoint, halving changes some choices; from 50 epochs on it still
    changes paper CIFAR-10's frozen setting; from 100 epochs on every replay picks the committed setting."""

    def changed(first_rung: int) -> list[str]:
        lines = replay_markdown(rules(first_rungs=(first_rung,)), RESULTS).splitlines()
        return [
            line
            for line in lines
            if line.startswith("| paper |") or line.startswith("| sound |")
            if "| the same | 0 |" not in line
        ]

    assert changed(0)
    assert changed(50) and all(line.startswith("| paper | cifar10 | frozen |") for line in changed(50))
    assert changed(100) == []
