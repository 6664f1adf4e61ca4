"""Progress bars over long work (runs of a protocol, settings of a tuning search), where someone watches.

``progress_bar`` is a tqdm bar in the place it can be seen: a widget in JupyterLab (a kernel started by
a Jupyter server, ``explore.widgets_wanted``), on standard error in a terminal. Unattended runs
(papermill in ``run_all.sh``, nbval in the tests, CI logs) get no bar, so executed notebooks hold no
bar's volatile text; they keep the one log line per finished run or tuning round.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm as auto_tqdm
from tqdm.std import tqdm as text_tqdm

from synthlib.explore import widgets_wanted


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


__all__ = ["bar_wanted", "progress_bar"]
