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

``machine_info(device)`` names the machine a run was computed on (the device, the CPU model, PyTorch's
CPU capability, the thread count, for CUDA the GPU and the CUDA and cuDNN versions): run records carry
it under ``environment["machine"]``. It is not part of a run's key: a record made on another machine is
still a valid record of its configuration, and ``synthlib.reproduction`` compares such records.

Nothing here holds a path of the machine: records are committed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

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


FORCED_PATH_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR")
"""Environment variables that force other CPU code paths than the machine's best (PyTorch's ATen
kernels, oneDNN's and MKL's instruction sets, MKL's conditional reproducibility); a record names them
when they are set."""


ALLOCATOR_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
"""glibc malloc's tunables that decide whether freed blocks go back to the kernel (``scripts/bootstrap.sh``
sets both so that a training step's tensors are reused): they change speed, never a number; a record names
them when they are set."""


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``'s "model name", else ``platform.processor()``), or
    ``"unknown"``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                name, _, value = line.partition(":")
                if name.strip() == "model name" and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_capability() -> str:
    """PyTorch's CPU capability: the instruction set its ATen kernels dispatch to (``"AVX2"``,
    ``"AVX512"``, ``"DEFAULT"``, ...), after any ``ATEN_CPU_CAPABILITY`` in the environment."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def machine_info(device: object = "cpu") -> dict[str, Any]:
    """The machine a run is computed on: ``device`` (``"cpu"`` or ``"cuda"``), ``cpu_model``,
    ``cpu_capability``, ``threads`` (PyTorch's intra-op thread count), ``forced`` (the variables of
    ``FORCED_PATH_VARIABLES`` that are set, with their values), ``malloc`` (those of
    ``ALLOCATOR_VARIABLES`` that are set) and, on CUDA, ``gpu``, ``cuda`` and ``cudnn`` versions. Nothing
    in it is a path; it is not part of any key."""
    import torch

    kind = device.type if isinstance(device, torch.device) else str(device).split(":")[0]
    info: dict[str, Any] = {
        "device": kind,
        "cpu_model": cpu_model(),
        "cpu_capability": cpu_capability(),
        "threads": torch.get_num_threads(),
        "forced": {name: os.environ[name] for name in FORCED_PATH_VARIABLES if os.environ.get(name)},
        "malloc": {name: os.environ[name] for name in ALLOCATOR_VARIABLES if os.environ.get(name)},
    }
    if kind == "cuda":
        index = device.index if isinstance(device, torch.device) and device.index is not None else None
        info["gpu"] = torch.cuda.get_device_name(index)
        info["cuda"] = torch.version.cuda
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        info["cudnn"] = str(cudnn) if cudnn is not None else None
    return info


def machine_label(machine: dict[str, Any] | None) -> str:
    """One line naming a machine of ``machine_info`` (e.g. "AMD EPYC, cpu AVX2, 2 threads"), or
    ``"machine unknown"`` for a record made before records named their machine."""
    if not machine:
        return "machine unknown"
    parts = [str(machine.get("cpu_model", "unknown CPU")), f"cpu {machine.get('cpu_capability', '?')}"]
    threads = machine.get("threads", "?")
    parts.append(f"{threads} thread" + ("" if threads == 1 else "s"))
    if machine.get("device") == "cuda":
        parts.append(f"{machine.get('gpu')} (CUDA {machine.get('cuda')}, cuDNN {machine.get('cudnn')})")
    forced = machine.get("forced") or {}
    if forced:
        parts.append("forced " + " ".join(f"{k}={v}" for k, v in sorted(forced.items())))
    return ", ".join(parts)


def commit_exists(commit: str) -> bool:
    """Whether ``commit`` is a commit of this checkout's repository."""
    return _git("cat-file", "-e", f"{commit}^{{commit}}") is not None


__all__ = [
    "FORCED_PATH_VARIABLES",
    "REPO_ROOT",
    "STUDY_OUTPUTS",
    "commit_exists",
    "cpu_capability",
    "cpu_model",
    "dirty_paths",
    "environment_info",
    "git_commit",
    "in_git_checkout",
    "machine_info",
    "machine_label",
    "source_sha256",
]
