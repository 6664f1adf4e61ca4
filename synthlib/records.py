"""Run records: one JSON file per (dataset, method, seed), written atomically.

A record holds the test accuracy, the full configuration and its hash, the seed, the device,
library versions and the git commit. Timing fields live under ``"timing"`` so that two runs of the
same configuration on the same machine give byte-identical records apart from that key.

A record is *finished* only if it parses and its ``config_hash`` matches the configuration asked
for; a half-written file cannot exist (write to a temporary file, then ``os.replace``), and a
record from another configuration is recomputed rather than reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RECORD_SCHEMA = 1


@dataclass
class RunRecord:
    dataset: str
    method: str
    seed: int
    test_accuracy: float
    val_accuracy: float
    n_train: int
    n_val: int
    n_test: int
    config: dict[str, Any]
    config_hash: str
    device: str
    environment: dict[str, str]
    timing: dict[str, float] = field(default_factory=dict)
    setting: str = ""  # the training setting's tag when a grid of settings is recorded
    schema: int = RECORD_SCHEMA

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``config``."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def record_path(runs_dir: str | os.PathLike, dataset: str, method: str, seed: int, setting: str = "") -> Path:
    """``<runs_dir>/<dataset>/<method>[__<setting>]__seed<seed>.json``."""
    middle = f"__{setting}" if setting else ""
    return Path(runs_dir) / dataset / f"{method}{middle}__seed{seed}.json"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
    try:
        os.replace(tmp.name, path)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


def write_record(path: Path, record: RunRecord) -> None:
    write_text_atomic(path, record.to_json())


def read_record(path: Path) -> RunRecord | None:
    """The record at ``path``, or None if it is missing, unreadable or of another schema."""
    try:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or data.get("schema") != RECORD_SCHEMA:
            return None
        return RunRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def finished_record(path: Path, expected_hash: str) -> RunRecord | None:
    """The record at ``path`` if it is complete and was made with the configuration ``expected_hash``."""
    record = read_record(path)
    return record if record is not None and record.config_hash == expected_hash else None


def load_records(runs_dir: str | os.PathLike) -> list[RunRecord]:
    """Every readable record under ``runs_dir``, sorted by (dataset, method, seed)."""
    records = [r for p in sorted(Path(runs_dir).glob("*/*.json")) if (r := read_record(p)) is not None]
    return sorted(records, key=lambda r: (r.dataset, r.method, r.setting, r.seed))


def _git_commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        return commit or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_info() -> dict[str, str]:
    """Versions of Python and the numerical libraries, and the git commit of the code."""
    import numpy
    import scipy
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "git_commit": _git_commit(),
    }
