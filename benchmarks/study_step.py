"""Time one step of ``run_all.sh`` (a notebook, the learning curves) and note its peak memory.

    python -m benchmarks.study_step RESULTS_DIR STEP -- COMMAND [ARG...]

runs ``COMMAND`` (its file descriptors inherited, so ``run_all.sh``'s ``>(cat)`` still works), then appends one
line to ``RESULTS_DIR/.study_steps.jsonl``: the step's name, its wall seconds, its exit status and the peak
resident memory of the largest process it ran (``getrusage(RUSAGE_CHILDREN).ru_maxrss``: every descendant that
ended and was waited for, e.g. papermill's kernel), and exits with the command's status.
``benchmarks.study_timing finish`` turns these lines into ``study_timing.json``'s steps, phases and peak memory.
Only the standard library is imported, so the wrapper costs milliseconds, not an import of PyTorch.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STEPS = ".study_steps.jsonl"


def run_step(results: Path, step: str, command: Sequence[str]) -> dict[str, Any]:
    """Run ``command``, append its line to ``results/.study_steps.jsonl`` and return it."""
    started = time.perf_counter()
    status = subprocess.run(list(command), close_fds=False, check=False).returncode
    line = {
        "step": step,
        "seconds": round(time.perf_counter() - started, 2),
        "returncode": status,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,  # KiB on Linux
    }
    with open(results / STEPS, "a", encoding="utf-8") as steps:
        steps.write(json.dumps(line) + "\n")
    return line


def read_steps(results: Path) -> list[dict[str, Any]]:
    """The lines ``run_step`` appended under ``results``, in order (none when there is no file)."""
    path = results / STEPS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 4 or args[2] != "--":
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    return int(run_step(Path(args[0]), args[1], args[3:])["returncode"])


if __name__ == "__main__":
    raise SystemExit(main())
