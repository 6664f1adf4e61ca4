"""Progress bars appear where someone watches: a widget in JupyterLab, text in a terminal, none in batch."""

from __future__ import annotations

import io

from tqdm.notebook import tqdm as notebook_tqdm

from synthlib import progress
from synthlib.progress import SERVER_SESSION_ENV_VAR


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_in_batch_runs(monkeypatch):
    monkeypatch.delenv(SERVER_SESSION_ENV_VAR, raising=False)
    monkeypatch.setattr(progress.sys, "stderr", io.StringIO())
    assert progress.bar_wanted() is None
    with progress.progress_bar(3, "runs") as bar:
        assert bar.disable
        bar.update(3)


def test_a_text_bar_in_a_terminal(monkeypatch):
    monkeypatch.delenv(SERVER_SESSION_ENV_VAR, raising=False)
    terminal = Terminal()
    monkeypatch.setattr(progress.sys, "stderr", terminal)
    assert progress.bar_wanted() == "text"
    with progress.progress_bar(2, "runs", file=terminal) as bar:
        assert not bar.disable
        bar.update(2)
    assert "runs:   0%" in terminal.getvalue() and "0/2" in terminal.getvalue()  # then cleared (leave=False)


def test_a_widget_in_jupyterlab(monkeypatch):
    monkeypatch.setenv(SERVER_SESSION_ENV_VAR, "session.ipynb")
    assert progress.bar_wanted() == "widget"
    assert progress.auto_tqdm is notebook_tqdm or progress.auto_tqdm.__module__.startswith("tqdm")
