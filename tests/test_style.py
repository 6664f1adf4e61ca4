"""Static checks of the code base: mypy accepts synthlib's types; ruff finds no lint and no
formatting drift (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

CHECKS = {
    "mypy": ["-m", "mypy", "synthlib", "--ignore-missing-imports", "--no-error-summary"],
    "ruff-lint": ["-m", "ruff", "check", "."],
    "ruff-format": ["-m", "ruff", "format", "--check", "."],
}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_static_check_passes(check):
    result = subprocess.run(
        [sys.executable, *CHECKS[check]], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
