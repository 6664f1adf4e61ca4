"""Atomic file writes: a reader sees the old file or the new one, never a part of either.

Every file the study writes (run records, tuning results, tables, dataset files, feature caches)
goes through ``write_atomic``: the bytes go to a temporary file in the same folder, are flushed to
disk, and the temporary file then replaces the target with ``os.replace`` (atomic on POSIX and
Windows). An interrupted write leaves the previous file, or none, and no temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``path`` with what ``write(handle)`` writes to a binary handle."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """``write_atomic`` for UTF-8 text."""
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


__all__ = ["write_atomic", "write_text_atomic"]
