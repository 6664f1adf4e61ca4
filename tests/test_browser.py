"""End to end in a real browser: JupyterLab as ./run_lab.sh configures it, driven by selenium in
Debian's chromium (packages chromium and chromium-driver, installed by .ci/run when missing).

JupyterLab starts on 127.0.0.1 with a random free port and a token, the kernel ``synthlib`` and
this checkout first on PYTHONPATH; it is stopped at the end, also on failure. The test opens
``notebooks/02_kernels.py`` as a notebook (jupytext), runs all cells, waits for the kernel figures
and the explorer's figure, moves one slider, checks that the figure changes, and saves the
screenshot. docs/jupyterlab.md shows the one this test saved (figures/jupyterlab.png); a plain run saves
it beside the test's scratch files, so running the tests never changes a committed file:

    ./run_tests.sh -m browser                                       # scratch screenshot
    SYNTHLIB_SCREENSHOT=figures/jupyterlab.png ./run_tests.sh -m browser   # the docs'
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
SERVER_START_TIMEOUT_S = 120
RUN_ALL_TIMEOUT_S = 240
REDRAW_TIMEOUT_S = 90

pytestmark = pytest.mark.browser


def first_existing(candidates: tuple[str, ...], name: str) -> str | None:
    found = [path for path in candidates if Path(path).exists()]
    return found[0] if found else shutil.which(name)


def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and its driver; skip (or, under CI, fail) with the reason when absent."""
    browser = first_existing(CHROMIUM_CANDIDATES, "chromium")
    driver = first_existing(CHROMEDRIVER_CANDIDATES, "chromedriver")
    if browser and driver:
        return browser, driver
    reason = (
        f"chromium ({browser or 'missing'}) and chromium-driver ({driver or 'missing'}) are needed: "
        "apt-get update && apt-get install -y chromium chromium-driver (.ci/run installs them)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_server(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} in {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


USER_SETTINGS = {
    # The test never writes the notebooks it opens, and no news prompt covers the page.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def write_user_settings(folder: Path) -> None:
    for name, settings in USER_SETTINGS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(settings))


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab server with the study's settings; yields its base URL with the token."""
    port, token = free_port(), os.urandom(16).hex()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "SYNTHLIB_DATA": os.environ.get("SYNTHLIB_DATA") or str(ROOT / "data"),
    }
    write_user_settings(tmp_path / "user-settings")
    log = tmp_path / "jupyterlab.log"
    command = [
        *[sys.executable, "-m", "jupyterlab", "--config", str(ROOT / "jupyter" / "jupyter_lab_config.py")],
        *["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"],
        *[f"--IdentityProvider.token={token}", f"--LabApp.user_settings_dir={tmp_path / 'user-settings'}"],
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: wait for the kernel, then run all cells
        *(["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root
    ]
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", process, log)
        yield f"http://127.0.0.1:{port}", token
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,1000"):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


RUN_ALL_WHEN_READY_SCRIPT = """
const done = arguments[arguments.length - 1];
const app = window.jupyterapp;
const panel = app.shell.currentWidget;
panel.sessionContext.ready
    .then(() => panel.sessionContext.session.kernel.info)
    .then(() => {
        app.commands.execute("notebook:run-all-cells");
        done(panel.sessionContext.session.kernel.name);
    })
    .catch((error) => done(String(error)));
"""


def all_code_cells_executed(driver) -> bool:
    """Every code cell's prompt shows an execution count (``[7]:``), none a pending ``[*]:``."""
    from selenium.webdriver.common.by import By

    prompts = [
        element.text.strip() for element in driver.find_elements(By.CSS_SELECTOR, ".jp-CodeCell .jp-InputArea-prompt")
    ]
    return bool(prompts) and all(prompt[1:-2].isdigit() for prompt in prompts)


def explorer_image_source(driver) -> str | None:
    """The ``src`` of the first explorer's figure (a PNG data URL), or None before it is drawn."""
    from selenium.webdriver.common.by import By

    images = driver.find_elements(By.CSS_SELECTOR, ".widget-output img")
    return images[0].get_attribute("src") if images else None


def test_jupyterlab_runs_kernels_notebook_and_widget_redraws(jupyterlab, chromium, tmp_path):
    base, token = jupyterlab
    try:
        open_run_and_move_a_slider(chromium, base, token)
    except BaseException:
        chromium.save_screenshot(str(tmp_path / "failure.png"))
        print(f"the browser at the failure: {tmp_path / 'failure.png'}; server log: {tmp_path / 'jupyterlab.log'}")
        raise


def open_run_and_move_a_slider(driver, base: str, token: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/lab/tree/notebooks/02_kernels.py?token={token}")

    # jupytext opens the .py as a notebook (cells, not a text editor) with the synthlib kernel idle.
    WebDriverWait(driver, 90).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")) > 5)
    assert not driver.find_elements(By.CSS_SELECTOR, ".jp-FileEditor")
    driver.set_script_timeout(SERVER_START_TIMEOUT_S)
    kernel = driver.execute_async_script(RUN_ALL_WHEN_READY_SCRIPT)
    assert kernel == "synthlib", kernel

    # The last cell's explorer draws its figure (the saved notebook has none), every code cell has
    # run (a number in its prompt, no pending [*]) and the kernel grids are drawn.
    first = WebDriverWait(driver, RUN_ALL_TIMEOUT_S).until(explorer_image_source)
    WebDriverWait(driver, REDRAW_TIMEOUT_S).until(all_code_cells_executed)
    assert len(driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")) >= 4
    errors = driver.find_elements(By.CSS_SELECTOR, "[data-mime-type='application/vnd.jupyter.stderr']")
    assert not [e.text for e in errors if "Error" in e.text], [e.text for e in errors]

    # Move the first slider of the first explorer (centre width, 0.50 px in the biological preset)
    # to 1.00 px through its editable readout: the figure is redrawn.
    readout = driver.find_element(By.CSS_SELECTOR, ".widget-slider .widget-readout")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", readout)
    assert readout.text == "0.50"
    readout.click()
    readout.send_keys(Keys.CONTROL, "a")
    readout.send_keys("1.00", Keys.ENTER)
    WebDriverWait(driver, REDRAW_TIMEOUT_S).until(lambda d: explorer_image_source(d) not in (None, first))
    assert readout.text == "1.00"
    output = driver.find_element(By.CSS_SELECTOR, ".widget-output")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", output)
    time.sleep(1)
    screenshot = ROOT / os.environ.get("SYNTHLIB_SCREENSHOT", "tests/notebooks/_nbval_out/jupyterlab.png")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(screenshot))
