"""Regenerate the nbval reference notebooks in tests/notebooks/.

Each notebook in notebooks/ is executed by papermill with the CI-sized parameters of
tests/notebooks/ci_parameters.json (built-in synthetic data, tiny grids; 05_results reads the
committed results/runs) and saved with its outputs. nbval re-executes these copies in CI and
compares every output, after tests/notebooks/sanitize.cfg, so a changed number fails the tests.

Run after changing a notebook, the library's numerics, or the committed results:

    .venv/bin/python scripts/make_nbval_references.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import papermill

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ROOT / "tests" / "notebooks"


def main(names: list[str]) -> None:
    os.chdir(ROOT)
    parameters = json.loads((REFERENCES / "ci_parameters.json").read_text())
    shutil.rmtree(REFERENCES / "_nbval_out", ignore_errors=True)
    for name, params in parameters.items():
        if names and name not in names:
            continue
        print(f"executing {name} with {params}")
        papermill.execute_notebook(  # relative paths: the references hold no path of this machine
            f"notebooks/{name}.ipynb",
            f"tests/notebooks/{name}.ipynb",
            parameters=params,
            kernel_name="synthlib",
            cwd="tests/notebooks",
            progress_bar=False,
        )
    shutil.rmtree(REFERENCES / "_nbval_out", ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
