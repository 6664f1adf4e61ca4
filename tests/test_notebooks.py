"""The notebooks' structure: one papermill ``parameters`` cell each, the jupytext pair in sync, and
nbval reference copies (tests/notebooks/) that match the current notebooks and CI parameters."""

from __future__ import annotations

import json

import jupytext
import nbformat
import pytest

from tests.conftest import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
REFERENCE_DIR = REPO_ROOT / "tests" / "notebooks"
SOURCES = sorted(NOTEBOOK_DIR.glob("*.py"))
CI_PARAMETERS = json.loads((REFERENCE_DIR / "ci_parameters.json").read_text())


def cell_sources(notebook, skip_tag: str | None = None) -> list[tuple[str, str]]:
    return [
        (cell.cell_type, cell.source.strip())
        for cell in notebook.cells
        if skip_tag is None or skip_tag not in cell.metadata.get("tags", [])
    ]


def test_there_are_notebooks():
    assert [p.stem for p in SOURCES] == sorted(CI_PARAMETERS), "every notebook needs CI parameters and a reference"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_exactly_one_parameters_cell(source):
    notebook = jupytext.read(source)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_paired_ipynb_is_in_sync_and_clean(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"run: jupytext --sync {source}"
    ipynb = nbformat.read(paired, as_version=4)
    assert cell_sources(ipynb) == cell_sources(jupytext.read(source)), f"out of sync; run: jupytext --sync {source}"
    assert all(not cell.get("outputs") for cell in ipynb.cells), f"{paired} should be committed without outputs"
    assert jupytext.read(source).metadata["jupytext"]["formats"] == "ipynb,py:percent"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_nbval_reference_matches_notebook_and_ci_parameters(source):
    reference = nbformat.read(REFERENCE_DIR / f"{source.stem}.ipynb", as_version=4)
    stale = "stale reference; run: .venv/bin/python scripts/make_nbval_references.py"
    assert cell_sources(reference, skip_tag="injected-parameters") == cell_sources(jupytext.read(source)), stale
    assert reference.metadata["papermill"]["parameters"] == CI_PARAMETERS[source.stem], stale
    assert all(cell.get("outputs") is not None for cell in reference.cells if cell.cell_type == "code")
