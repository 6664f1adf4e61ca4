"""Shared fixtures. Tests that need the genuine datasets skip, with the reason, when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def real_data_dir() -> Path | None:
    """``$SYNTHLIB_DATA`` if set, else ``../shared/data`` beside the checkout, if it holds MNIST and CIFAR-10."""
    candidate = Path(os.environ.get("SYNTHLIB_DATA") or REPO_ROOT.parent / "shared" / "data")
    if all((candidate / f"{name}.npz").exists() for name in ("mnist", "cifar10")):
        return candidate
    return None


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    root = real_data_dir()
    if root is None:
        pytest.skip("real-data tier skipped: no mnist.npz and cifar10.npz in $SYNTHLIB_DATA or ../shared/data")
    return root


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slurm: against a one-node Slurm cluster the tests start (tests/slurm_cluster.py; root, Debian's packages)",
    )


@pytest.fixture(scope="session")
def slurm_cluster():
    """A one-node Slurm cluster for the session (``tests.slurm_cluster``), stopped at its end; skips with the
    reason where it cannot start (under CI: fails)."""
    from tests.slurm_cluster import cluster_for_tests

    yield from cluster_for_tests()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start nbval from a clean scratch folder, so notebooks never reuse a previous session's records."""
    import shutil

    shutil.rmtree(REPO_ROOT / "tests" / "notebooks" / "_nbval_out", ignore_errors=True)
