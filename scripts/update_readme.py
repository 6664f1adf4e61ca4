"""Copy generated results into README.md between markers (run_all.sh calls this).

Each block ``<!-- NAME:start -->`` ... ``<!-- NAME:end -->`` in the README holds the file
``results/<BLOCKS[NAME]>``. tests/test_readme.py checks that the README holds exactly the committed files,
so the README can never show numbers that the run records do not produce.
"""

from __future__ import annotations

import sys
from pathlib import Path

from synthlib.protocols import default_protocol

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = {
    "verdict": "verdict.md",
    "protocols": "protocols.md",
    "table1": f"{default_protocol().name}/table1.md",  # the first registered protocol: the paper's text
    "benchmark": "benchmark.md",
    "beyond": "learning_curves/headline.md",
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def readme_with_block(readme: str, name: str, text: str) -> str:
    start, end = markers(name)
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{text.strip()}\n{end}{tail}"


def updated_readme(readme: str, results_dir: Path) -> str:
    for name, relative in BLOCKS.items():
        path = results_dir / relative
        if path.exists():  # e.g. benchmark.md exists only once the benchmark has run
            readme = readme_with_block(readme, name, path.read_text())
    return readme


def main(results_dir: Path) -> None:
    readme = ROOT / "README.md"
    readme.write_text(updated_readme(readme.read_text(), results_dir))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results")
