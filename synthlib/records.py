"""Run records: one JSON file per run, written atomically, keyed by the run's complete configuration.

A record holds the run's identity (protocol, dataset, column, seed, training setting), its test
and validation accuracy, the complete resolved configuration and its hash, the device, and the
provenance of the code (``synthlib.provenance``: git commit, whether the tree was dirty, source
hash, library versions) with the machine under ``environment["machine"]`` (CPU model, PyTorch's CPU
capability, thread count, GPU and CUDA versions; absent from records made before it was recorded).
Timing lives under ``"timing"`` so that two runs of one configuration on one machine give
byte-identical records apart from that key.

The *key* of a run is ``config_hash`` of its configuration, which holds everything that decides
the result: every sampler parameter with its defaults merged in, the preprocessing, the
architecture, the training settings, the run options and ``RESULTS_VERSION``. A record is reused
only when its key equals the key the current code computes for that run; a record of another key
is *stale* and is recomputed.

``python -m synthlib records check RESULTS_DIR`` (``synthlib.audit``) lists stale records, records
from a dirty tree or an unknown commit, and unreadable records (exit status 1 if there is any).
``python -m synthlib records compare A B`` compares two results folders of the same configurations
(``synthlib.reproduction``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthlib.atomic import write_text_atomic

RECORD_SCHEMA = 2

RESULTS_VERSION = 2
"""Part of every run's key (2: frozen heads that flip take features of flipped images). Increase it
with any change to the code that alters what a given configuration produces (numerics,
initialisation, data order) without showing in the configuration, so that every committed record
becomes stale and is recomputed."""


class RecordError(ValueError):
    """A record file that cannot be used: unreadable, truncated, of another schema, or inconsistent."""


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
    environment: dict[str, Any]
    timing: dict[str, float] = field(default_factory=dict)
    setting: str = ""  # the training setting's tag when a grid of settings is recorded
    protocol: str = ""  # the registered protocol that planned the run
    schema: int = RECORD_SCHEMA
    stopping: dict[str, Any] | None = None
    """How an early-stopped run stopped (``synthlib.stopping.Stopping.to_dict()``: epoch_kept, epochs_run,
    stopped_at_max, best_validation_accuracy); None for a run of fixed length, and then absent from the file."""

    def to_json(self) -> str:
        data = asdict(self)
        if data["stopping"] is None:
            del data["stopping"]
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``config``."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def record_path(runs_dir: str | os.PathLike, dataset: str, method: str, seed: int, setting: str = "") -> Path:
    """``<runs_dir>/<dataset>/<method>[__<setting>]__seed<seed>.json``."""
    middle = f"__{setting}" if setting else ""
    return Path(runs_dir) / dataset / f"{method}{middle}__seed{seed}.json"


def write_record(path: Path, record: RunRecord) -> None:
    write_text_atomic(path, record.to_json())


def parse_record(path: str | os.PathLike) -> RunRecord:
    """The record at ``path``; ``RecordError`` saying what is wrong if it is unreadable, truncated, of
    another schema, or its stored hash does not match its stored configuration."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise RecordError(f"{path}: cannot be read ({error.strerror or error})") from error
    except ValueError as error:
        raise RecordError(f"{path}: not valid JSON (truncated or corrupt: {error})") from error
    if not isinstance(data, dict):
        raise RecordError(f"{path}: holds a JSON {type(data).__name__}, not a record")
    if data.get("schema") != RECORD_SCHEMA:
        raise RecordError(f"{path}: record schema {data.get('schema')!r}, this code reads schema {RECORD_SCHEMA}")
    try:
        record = RunRecord(**data)
    except TypeError as error:
        raise RecordError(f"{path}: not a run record ({error})") from error
    if config_hash(record.config) != record.config_hash:
        raise RecordError(f"{path}: its config_hash does not match its configuration (edited by hand?)")
    return record


def read_record(path: str | os.PathLike) -> RunRecord | None:
    """The record at ``path``, or None if there is no usable one (missing, unreadable or of another
    schema): for reuse, where such a file is recomputed and replaced."""
    try:
        return parse_record(path)
    except RecordError:
        return None


def finished_record(path: Path, expected_hash: str) -> RunRecord | None:
    """The record at ``path`` if it is complete and was made with the configuration ``expected_hash``."""
    record = read_record(path)
    return record if record is not None and record.config_hash == expected_hash else None


def record_files(runs_dir: str | os.PathLike) -> list[Path]:
    """The record files under ``runs_dir`` (``<dataset>/<name>.json``), in path order."""
    return sorted(Path(runs_dir).glob("*/*.json"))


def load_records(runs_dir: str | os.PathLike) -> list[RunRecord]:
    """Every record under ``runs_dir``, sorted by (dataset, method, setting, seed).

    A file that is not a usable record is never skipped: ``RecordError`` names every such file
    and how to find them all (``python -m synthlib records check``)."""
    records, problems = [], []
    for path in record_files(runs_dir):
        try:
            records.append(parse_record(path))
        except RecordError as error:
            problems.append(str(error))
    if problems:
        raise RecordError(
            f"{len(problems)} unusable record file(s) under {runs_dir}:\n  "
            + "\n  ".join(problems)
            + "\nDelete them and rerun the study; `python -m synthlib records check RESULTS_DIR` lists all problems."
        )
    return sorted(records, key=lambda r: (r.dataset, r.method, r.setting, r.seed))


__all__ = [
    "RECORD_SCHEMA",
    "RESULTS_VERSION",
    "RecordError",
    "RunRecord",
    "config_hash",
    "finished_record",
    "load_records",
    "parse_record",
    "read_record",
    "record_files",
    "record_path",
    "write_record",
    "write_text_atomic",
]
