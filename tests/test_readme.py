"""The README's promises: its table is the committed results/table1.md, its two commands exist, and
CI runs exactly the test command."""

from __future__ import annotations

import re

from scripts.update_readme import BLOCKS, markers, updated_readme
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_readme_results_are_the_committed_results():
    assert updated_readme(README, REPO_ROOT / "results") == README, "run: python scripts/update_readme.py"


def test_readme_names_the_two_commands_and_ci_runs_the_test_command():
    assert "SYNTHLIB_DATA=../shared/data ./run_all.sh" in README
    assert "./run_tests.sh" in README
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec \./run_tests\.sh$", ci, re.MULTILINE)


def test_readme_figures_exist():
    for path in re.findall(r"\]\((figures/[^)]+\.png)\)", README):
        assert (REPO_ROOT / path).exists(), path
    for name in BLOCKS:
        assert all(marker in README for marker in markers(name))


def test_readme_sampler_example_runs():
    block = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert block is not None
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    assert tuple(namespace["kernels"].shape) == (64, 3, 5, 5)
    assert float(namespace["kernels"].abs().max()) <= 0.1
