"""Copy generated results into README.md and docs/*.md between markers (run_all.sh calls this).

A block ``<!-- NAME:start -->`` ... ``<!-- NAME:end -->`` may sit in any of ``DOCUMENTS`` (the README and
every Markdown page of ``docs/``). It holds either the file ``results/<BLOCKS[NAME]>`` or, for the names of
``RENDERED``, a rendering of a results file (the README's verdict matrix, from
``results/verdict_claims.csv``; the learning curves' runs, sizes and minutes, and the plateau curves' progress,
from their run records),
or, for the names of ``FROM_CODE``, text the library generates (the
deviations from the paper's text). tests/test_readme.py checks that every document holds exactly what the
committed results give, so no page can show numbers that the run records do not produce.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from synthlib.deviations import deviations_markdown
from synthlib.learning_curves import LEARNING_CURVES, LEARNING_CURVES_PLATEAU
from synthlib.protocols import default_protocol
from synthlib.records import load_records
from synthlib.verdict_matrix import verdict_matrix

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = {
    "verdict": "verdict.md",
    "protocols": "protocols.md",
    "table1": f"{default_protocol().name}/table1.md",  # the first registered protocol: the paper's text
    "benchmark": "benchmark.md",
    "benchmark_intel": "benchmark_intel.md",
    "curves": "learning_curves/headline.md",
}
"""Blocks that hold a results file as it is."""


def tuned_datasets(curves_runs: Path) -> list[str]:
    """The datasets whose learning curves can run (``sound`` tuned them), beside ``<results>/<curves>/runs``."""
    tuning = curves_runs.parent.parent / LEARNING_CURVES_PLATEAU.settings_from / "tuning"
    return sorted(path.stem for path in tuning.glob("*.json"))


RENDERED: dict[str, tuple[str, Callable[[Path], str]]] = {
    "matrix": ("verdict_claims.csv", lambda path: verdict_matrix(pd.read_csv(path))),
    "curves_runs": (
        f"{LEARNING_CURVES.name}/runs",
        lambda path: LEARNING_CURVES.runs_markdown(
            [r for r in load_records(path) if r.protocol == LEARNING_CURVES.name]
        ),
    ),
    "plateau_progress": (
        f"{LEARNING_CURVES_PLATEAU.name}/runs",
        lambda path: LEARNING_CURVES_PLATEAU.progress_markdown(
            [r for r in load_records(path) if r.protocol == LEARNING_CURVES_PLATEAU.name], tuned_datasets(path)
        ),
    ),
}
"""Blocks rendered from a results file: name -> (the file, its rendering)."""


FROM_CODE: dict[str, Callable[[], str]] = {
    "deviations": deviations_markdown,
}
"""Blocks that copy text the library generates (not results): name -> its generator."""

MARKER = re.compile(r"<!-- ([a-z0-9_]+):start -->")


def documents(root: Path = ROOT) -> list[Path]:
    """The Markdown files that may hold blocks: README.md, then docs/*.md in name order."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def block_names(text: str) -> list[str]:
    """The names of the blocks a document holds, in order."""
    return MARKER.findall(text)


def source(name: str, results_dir: Path) -> Path:
    """The results file a block comes from."""
    return results_dir / (RENDERED[name][0] if name in RENDERED else BLOCKS[name])


def block_texts(results_dir: Path) -> dict[str, str]:
    """Every block whose results file exists (e.g. benchmark.md exists only once the benchmark has run)."""
    texts = {name: path.read_text() for name in BLOCKS if (path := source(name, results_dir)).exists()}
    for name, (_, render) in RENDERED.items():
        if (path := source(name, results_dir)).exists():
            texts[name] = render(path)
    return texts | {name: generate() for name, generate in FROM_CODE.items()}


def with_block(text: str, name: str, block: str) -> str:
    start, end = markers(name)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block.strip()}\n{end}{tail}"


def updated_text(text: str, texts: dict[str, str]) -> str:
    """``text`` with each of its blocks that ``texts`` has filled in."""
    for name in block_names(text):
        if name in texts:
            text = with_block(text, name, texts[name])
    return text


def updated_readme(readme: str, results_dir: Path) -> str:
    return updated_text(readme, block_texts(results_dir))


def main(results_dir: Path) -> None:
    texts = block_texts(results_dir)
    for path in documents():
        old = path.read_text()
        if (new := updated_text(old, texts)) != old:
            path.write_text(new)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results")
