"""Copy results/table1.md into README.md between the table1 markers (run_all.sh calls this).

tests/test_readme.py checks that the README's table is exactly the committed results/table1.md,
so the README can never show numbers that the records do not produce.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- table1:start -->", "<!-- table1:end -->"


def readme_with_table(readme: str, table: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table.strip()}\n{END}{tail}"


def main(results_dir: Path) -> None:
    readme = ROOT / "README.md"
    readme.write_text(readme_with_table(readme.read_text(), (results_dir / "table1.md").read_text()))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results")
