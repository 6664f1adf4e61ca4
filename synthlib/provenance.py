"""Where a number came from: the code's git commit, whether the tree was clean, and a hash of the source.

Every run record and the benchmark's report carry ``environment_info()``, so a reader can trace a
number to the exact code that made it:

- ``git_commit``: ``git rev-parse HEAD`` of the checkout the library was imported from;
- ``git_dirty``: whether any file that can change a result differs from that commit (tracked
  changes and untracked files, outside the study's own outputs ``STUDY_OUTPUTS``). A record made
  from a dirty tree cannot be traced to any commit;
- ``source_sha256``: SHA-256 over the library's Python sources (path and content, in path order),
  which identifies the code even outside a git checkout;
- the versions of Python and the numerical libraries.

Nothing here holds a path of the machine: records are committed.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from functools import cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent

STUDY_OUTPUTS = ("results", "figures", "README.md", "docs")
"""Paths the study itself writes (records, tables, figures, the generated blocks of the README and of
``docs/``): changes there do not make the code dirty."""


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def in_git_checkout() -> bool:
    """Whether the library is imported from a git checkout (not from an installed copy)."""
    top = _git("rev-parse", "--show-toplevel")
    return top is not None and Path(top.strip()).resolve() == REPO_ROOT


def git_commit() -> str:
    """The checkout's HEAD commit, or ``"unknown"`` outside a git checkout."""
    head = _git("rev-parse", "HEAD") if in_git_checkout() else None
    return head.strip() if head else "unknown"


def dirty_paths() -> list[str]:
    """Files that differ from HEAD (modified, staged, deleted or untracked and not ignored), outside
    ``STUDY_OUTPUTS``; empty outside a git checkout (``git_commit`` then says ``"unknown"``)."""
    if not in_git_checkout():
        return []
    excludes = [f":(exclude){path}" for path in STUDY_OUTPUTS]
    status = _git("status", "--porcelain", "--untracked-files=all", "--", ".", *excludes)
    if status is None:
        return ["(git status failed)"]
    return [line[3:] for line in status.splitlines() if line.strip()]


def source_sha256() -> str:
    """SHA-256 of the library's ``.py`` files (relative path and bytes, in path order)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def _versions() -> tuple[tuple[str, str], ...]:
    import numpy
    import scipy
    import torch

    return (
        ("python", platform.python_version()),
        ("torch", torch.__version__),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
    )


def environment_info() -> dict[str, str | bool]:
    """Library versions, the git commit, whether the tree is dirty, and the source hash."""
    return {
        **dict(_versions()),
        "git_commit": git_commit(),
        "git_dirty": bool(dirty_paths()),
        "source_sha256": source_sha256(),
    }


def commit_exists(commit: str) -> bool:
    """Whether ``commit`` is a commit of this checkout's repository."""
    return _git("cat-file", "-e", f"{commit}^{{commit}}") is not None


__all__ = [
    "REPO_ROOT",
    "STUDY_OUTPUTS",
    "commit_exists",
    "dirty_paths",
    "environment_info",
    "git_commit",
    "in_git_checkout",
    "source_sha256",
]
