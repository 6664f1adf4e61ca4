"""synthlib is a typed library: mypy must accept it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_mypy_accepts_synthlib():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "synthlib", "--ignore-missing-imports", "--no-error-summary"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
