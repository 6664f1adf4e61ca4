"""Progress bars over long work (runs of a protocol, settings of a tuning search), where someone watches.

``progress_bar`` is a tqdm bar in the place it can be seen: a widget in JupyterLab (a kernel started by
a Jupyter server, ``widgets_wanted``), on standard error in a terminal. Unattended runs
(papermill in ``run_all.sh``, nbval in the tests, CI logs) get no bar, so executed notebooks hold no
bar's volatile text; they keep the one log line per finished run or tuning round.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm.auto import tqdm as auto_tqdm
from tqdm.std import tqdm as text_tqdm

SERVER_SESSION_ENV_VAR = "JPY_SESSION_NAME"
"""Set by jupyter_server for the kernels it starts (JupyterLab); papermill and nbval never set it."""


def widgets_wanted(interactive: bool | None = None) -> bool:
    """Whether to build widgets: ``interactive`` if given, else whether a Jupyter server runs the kernel.

    The rule: JupyterLab's server sets ``JPY_SESSION_NAME`` in the kernels it starts; papermill
    (``run_all.sh``) and nbval (``run_tests.sh``) start kernels themselves and have no widget
    frontend, so widgets are off there unless a notebook's ``interactive`` parameter says otherwise.
    """
    if interactive is not None:
        return bool(interactive)
    return bool(os.environ.get(SERVER_SESSION_ENV_VAR))


def bar_wanted() -> str | None:
    """``"widget"`` in JupyterLab, ``"text"`` when standard error is a terminal, else None (no bar)."""
    if widgets_wanted():
        return "widget"
    return "text" if sys.stderr.isatty() else None


def progress_bar(total: int, desc: str, **kwargs: Any) -> Any:
    """A tqdm bar of ``total`` steps named ``desc``; disabled where no one can see it (``bar_wanted``)."""
    asked_off = bool(kwargs.pop("disable", False))
    kind = bar_wanted()
    bar = auto_tqdm if kind == "widget" else text_tqdm
    disable = kind is None or asked_off
    return bar(total=total, desc=desc, disable=disable, leave=False, **kwargs)


__all__ = ["SERVER_SESSION_ENV_VAR", "bar_wanted", "progress_bar", "widgets_wanted"]
