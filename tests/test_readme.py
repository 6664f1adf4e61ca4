"""The README's and docs' promises: every generated block is the committed result, the README answers
first in at most 200 lines that fit a laptop screen, every relative link and anchor resolves, its
commands exist and CI runs exactly the test command, and its sampler example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.update_readme import (
    BLOCKS,
    FROM_CODE,
    RENDERED,
    block_names,
    block_texts,
    documents,
    markers,
    source,
    updated_text,
)
from tests.conftest import REPO_ROOT

README_PATH = REPO_ROOT / "README.md"
README = README_PATH.read_text()
DOCUMENTS = documents(REPO_ROOT)
MAX_LINES = 200
MAX_WIDTH = 160

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks (the fences excluded)."""
    lines, inside = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if not inside:
            lines.append((number, line))
    return lines


def links(text: str) -> list[str]:
    """The targets of the Markdown links and images outside code (fenced blocks and inline spans)."""
    prose = "\n".join(line for _, line in prose_lines(text))
    return LINK.findall(INLINE_CODE.sub("code", prose))


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens,
    a repeated anchor numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(text):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """Every relative link of ``path`` whose file, or whose anchor in that file, does not exist (files
    named relative to ``root``)."""
    broken = []
    for target in links(path.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            shown = linked.relative_to(root.resolve()) if linked.is_relative_to(root.resolve()) else linked
            broken.append(f"{target}: no file {shown}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    return broken


# -- generated blocks ---------------------------------------------------------------------------------


def test_every_block_holds_the_committed_results():
    texts = block_texts(REPO_ROOT / "results")
    for name in [*BLOCKS, *RENDERED]:
        assert source(name, REPO_ROOT / "results").exists(), f"block {name}: no {source(name, REPO_ROOT / 'results')}"
    for path in DOCUMENTS:
        text = path.read_text()
        assert updated_text(text, texts) == text, f"{path.name}: run python scripts/update_readme.py"


def test_every_block_sits_in_exactly_one_document_and_every_marker_is_known():
    placed: dict[str, list[str]] = {}
    for path in DOCUMENTS:
        text = path.read_text()
        for name in block_names(text):
            assert name in BLOCKS or name in RENDERED or name in FROM_CODE, f"{path.name}: unknown block {name}"
            start, end = markers(name)
            assert text.count(start) == 1 and text.count(end) == 1, f"{path.name}: block {name} is not closed once"
            placed.setdefault(name, []).append(path.name)
    assert {name: where for name, where in placed.items() if len(where) != 1} == {}
    assert sorted(placed) == sorted([*BLOCKS, *RENDERED, *FROM_CODE])


# -- the README's shape -------------------------------------------------------------------------------


def test_readme_is_at_most_200_lines():
    assert len(README.splitlines()) <= MAX_LINES


def test_readme_lines_outside_code_fit_a_laptop_screen():
    wide = [(number, len(line)) for number, line in prose_lines(README) if len(line) > MAX_WIDTH]
    assert wide == [], f"lines over {MAX_WIDTH} characters (line, width): {wide}"


def test_readme_answers_first_with_the_verdict_matrix():
    """The title, the one-paragraph question, then the answer: the matrix is the first thing after it."""
    sections = re.split(r"^## ", README, flags=re.MULTILINE)
    title_and_question = sections[0].strip().split("\n\n")
    assert len(title_and_question) == 2 and title_and_question[0].startswith("# "), "title, then one paragraph"
    answer = sections[1]
    start, end = markers("matrix")
    assert start in answer and end in answer
    assert not any(start in s for s in [sections[0], *sections[2:]])


# -- links ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_and_anchor_resolves(path):
    assert broken_links(path) == []


def test_readme_links_every_docs_page():
    linked = {target.split("#")[0] for target in links(README)}
    pages = [p.relative_to(REPO_ROOT).as_posix() for p in DOCUMENTS[1:]]
    expected = {"docs/reproducibility.md", "docs/beyond_one_machine.md", *pages}
    assert sorted(expected - linked) == []


def test_the_link_checker_finds_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## The `x` part (two)\n\ntext\n\n## The x part (two)\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# T\n\n[ok](docs/page.md#the-x-part-two-1) [ok](docs/page.md#a-page) [ok](#t) [web](https://example.org)\n"
        "[gone](docs/missing.md) [bad anchor](docs/page.md#nowhere)\n"
        "```\n[in code](docs/also_missing.md)\n```\n`[inline](docs/inline_missing.md)`\n"
    )
    assert broken_links(readme, tmp_path) == [
        "docs/missing.md: no file docs/missing.md",
        "docs/page.md#nowhere: no heading with the anchor #nowhere",
    ]


# -- the commands and the example ---------------------------------------------------------------------


def test_readme_names_the_two_commands_and_ci_runs_the_test_command():
    assert "SYNTHLIB_DATA=../shared/data ./run_all.sh" in README
    assert "./run_tests.sh" in README
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec \./run_tests\.sh$", ci, re.MULTILINE)


def test_readme_sampler_example_runs():
    block = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert block is not None
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    assert tuple(namespace["kernels"].shape) == (64, 3, 5, 5)
    assert float(namespace["kernels"].abs().max()) <= 0.1
