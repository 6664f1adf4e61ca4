"""JupyterLab settings for the study, passed by ./run_lab.sh (``jupyter lab --config``).

- jupytext's contents manager: ``notebooks/*.py`` (py:percent, paired with ``.ipynb`` by their
  ``formats`` metadata) open as notebooks, and saving one writes both files of the pair;
- a double-click opens ``.py`` files with jupytext's "Notebook" viewer (``settings/overrides.json``);
- new notebooks use the project kernel ``synthlib``, which starts with CurveZMQ transport
  encryption (synthlib/kernel_transport.py);
- the server listens on 127.0.0.1 only, with a token.
"""

from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (provided by traitlets when it loads this file)

HERE = Path(__file__).resolve().parent

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.contents_manager_class = "jupytext.TextFileContentsManager"
c.ServerApp.root_dir = str(HERE.parent)
c.MappingKernelManager.default_kernel_name = "synthlib"
c.LabApp.app_settings_dir = str(HERE / "settings")
c.LabApp.default_url = "/lab/tree/notebooks"
