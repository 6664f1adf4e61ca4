"""Tests of synthlib.explore (the notebooks' widgets and their redraw functions) and of the quiet,
encrypted kernel transport (synthlib.kernel_transport)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from synthlib import explore
from synthlib.explore import (
    KNOBS,
    covariance_figure,
    distribution_figure,
    draw_kernels,
    kernel_grid_figure,
    knob_value,
    preset_values,
    sampler_explorer,
    sampler_params,
)
from synthlib.kernel_transport import PROVISIONER_NAME, transport_encryption_policy, with_encrypted_provisioner
from synthlib.progress import SERVER_SESSION_ENV_VAR, widgets_wanted
from synthlib.samplers import get_sampler

ROOT = Path(__file__).resolve().parent.parent
EXPLORED_NOTEBOOKS = ("01_distributions", "02_kernels")


def figure_pixels(figure: Figure) -> np.ndarray:
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba()).copy()
    plt.close(figure)
    return pixels


# --- when widgets are built --------------------------------------------------------------------------


def test_widgets_wanted_follows_the_parameter_then_the_server(monkeypatch):
    monkeypatch.delenv(SERVER_SESSION_ENV_VAR, raising=False)
    assert widgets_wanted(None) is False  # papermill, nbval: no Jupyter server started the kernel
    assert widgets_wanted(True) is True
    monkeypatch.setenv(SERVER_SESSION_ENV_VAR, "notebooks/02_kernels.py")
    assert widgets_wanted(None) is True  # JupyterLab
    assert widgets_wanted(False) is False


@pytest.mark.parametrize("name", EXPLORED_NOTEBOOKS)
def test_notebooks_default_to_no_widgets_in_batch_runs(name):
    """The parameters cell leaves ``interactive`` to the rule, and the widgets cell is guarded by it."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and "\ninteractive = None\n" in f"\n{parameters[0].source}\n"
    explorers = [cell for cell in notebook.cells if "sampler_explorer(" in cell.source and cell.cell_type == "code"]
    assert explorers and all(cell.source.startswith("if widgets_wanted(interactive):") for cell in explorers)


@pytest.mark.parametrize("name", EXPLORED_NOTEBOOKS)
def test_nbval_references_hold_no_widgets(name):
    """Batch outputs stay as they were: the references have no widget views and the explorer cell is silent."""
    notebook = nbformat.read(ROOT / "tests" / "notebooks" / f"{name}.ipynb", as_version=4)
    text = json.dumps(notebook)
    assert "application/vnd.jupyter.widget-view+json" not in text
    assert "widgets" not in notebook.metadata
    explorers = [cell for cell in notebook.cells if "sampler_explorer(" in cell.source and cell.cell_type == "code"]
    assert explorers and all(cell.outputs == [] for cell in explorers)


# --- parameters from presets and sliders ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [(0.5, 0.5), (2, 2.0), (math.inf, None), ("zero_sum", None), (True, None)]
)
def test_knob_value(value, expected):
    assert knob_value(value) == expected


def test_sampler_params_overrides_only_what_a_slider_can_hold():
    biological = sampler_params("center_surround", "biological", {"center_sigma": 1.0, "not_a_knob": 3.0})
    assert biological == {**preset_values("center_surround", "biological"), "center_sigma": 1.0}
    assert biological["noise_std"] == 0.1 and biological["surround_gain"] == 0.55  # function defaults filled in
    authors = sampler_params("center_surround", "authors_code", {"surround_ratio": 2.0, "surround_gain": 0.3})
    assert authors["surround_ratio"] == math.inf and authors["surround_gain"] == "zero_sum"


@pytest.mark.parametrize("name", sorted(KNOBS))
def test_knob_ranges_hold_every_preset_value(name):
    for preset in get_sampler(name).presets:
        params = preset_values(name, preset)
        for key, knob in KNOBS[name].items():
            value = knob_value(params.get(key))
            if value is not None:
                assert knob.low <= value <= knob.high, (preset, key, value)


def test_draw_kernels_deterministic_and_follows_the_sliders():
    first = draw_kernels("lognormal", "paper_text", {}, 32, 3, seed=0)
    assert first.shape == (32, 3, 5, 5)
    assert torch.equal(first, draw_kernels("lognormal", "paper_text", {}, 32, 3, seed=0))
    assert not torch.equal(first, draw_kernels("lognormal", "paper_text", {}, 32, 3, seed=1))
    wider = draw_kernels("lognormal", "paper_text", {"sigma": 1.5}, 32, 3, seed=0)
    assert float(torch.log(wider).std()) > float(torch.log(first).std())


# --- redraws ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "preset", "knob", "value"),
    [
        ("normal", "paper_text", "sigma", 2.0),
        ("lognormal", "song2005", "mu", 0.0),
        ("center_surround", "biological", "center_sigma", 1.0),
    ],
)
def test_distribution_figure_changes_with_a_knob(name, preset, knob, value):
    before = distribution_figure(name, preset, {}, n_kernels=500)
    assert len(before.axes) == 2 and before.axes[0].get_legend() is not None
    after = distribution_figure(name, preset, {knob: value}, n_kernels=500)
    assert not np.array_equal(figure_pixels(before), figure_pixels(after))


def test_distribution_figure_density_matches_samples():
    figure = distribution_figure("normal", "paper_text", {"sigma": 2.0}, n_kernels=4000)
    hist_heights = np.array([patch.get_height() for patch in figure.axes[0].patches])
    curve = figure.axes[0].lines[0].get_ydata()
    plt.close(figure)
    assert abs(hist_heights.max() - curve.max()) / curve.max() < 0.25  # peak 1 / (2 sqrt(2 pi)) ≈ 0.2


def test_kernel_grid_and_covariance_figures_change_with_a_knob():
    grid = figure_pixels(kernel_grid_figure("center_surround", "biological", {}, n_kernels=16, in_channels=3))
    moved = figure_pixels(kernel_grid_figure("center_surround", "biological", {"center_sigma": 1.5}, 16, 3))
    assert not np.array_equal(grid, moved)
    covariance = covariance_figure("biological", {}, n_draws=2000)
    assert [ax.get_title() for ax in covariance.axes[:2]] == ["specified Σ", "empirical covariance"]
    wider = covariance_figure("biological", {"noise_std": 0.4}, n_draws=2000)
    assert not np.array_equal(figure_pixels(covariance), figure_pixels(wider))


def test_sampler_explorer_redraws_on_each_control_and_follows_presets():
    pytest.importorskip("ipywidgets")
    calls = []

    def redraw(name, preset, overrides, seed):
        calls.append((name, preset, dict(overrides), seed))
        return plt.figure()

    panel = sampler_explorer("center_surround", redraw, seed=3)
    controls = panel.children[0].children
    preset_menu, sliders, seed_slider = controls[0], controls[1:-1], controls[-1]
    assert [s.description for s in sliders] == list(KNOBS["center_surround"])
    assert len(calls) == 1 and calls[0][1] == "biological" and calls[0][3] == 3
    assert sliders[0].value == 0.5 and not any(s.disabled for s in sliders)  # the preset's values, all held
    sliders[0].value = 1.25
    assert calls[-1][2]["center_sigma"] == 1.25 and len(calls) == 2
    seed_slider.value = 7
    assert calls[-1][3] == 7
    preset_menu.value = "authors_code"
    assert len(calls) == 4  # one redraw for the preset, not one per slider it moved
    disabled = {s.description for s in sliders if s.disabled}
    assert disabled == {"surround_ratio", "surround_gain"}
    assert "surround_ratio" not in calls[-1][2] and calls[-1][1] == "authors_code"


def test_explore_module_has_no_widget_import_at_module_level():
    """papermill runs import synthlib.explore; ipywidgets is loaded only when a panel is built."""
    source = Path(explore.__file__).read_text()
    assert "\nimport ipywidgets" not in source and "\nfrom ipywidgets" not in source


# --- a quiet, encrypted kernel ------------------------------------------------------------------------


def test_kernelspec_names_the_encrypted_provisioner():
    spec = {"argv": ["python"], "metadata": {"debugger": True, "supported_encryption": ["curve"]}}
    named = with_encrypted_provisioner(spec)
    assert named["metadata"]["kernel_provisioner"] == {"provisioner_name": PROVISIONER_NAME}
    assert named["metadata"]["supported_encryption"] == ["curve"] and spec["metadata"].get("kernel_provisioner") is None


def test_provisioner_registered_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points."jupyter_client.kernel_provisioners"]' in text
    assert f'{PROVISIONER_NAME} = "synthlib.kernel_transport:EncryptedLocalProvisioner"' in text


@pytest.mark.slow
def test_papermill_run_prints_no_kernel_security_warning(tmp_path):
    """One cheap notebook run through papermill's command line, as run_all.sh does, with the project
    kernel (as scripts/bootstrap.sh registers it): no "without encryption" warning anywhere."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("synthlib")
    assert spec.metadata.get("kernel_provisioner", {}).get("provisioner_name") == PROVISIONER_NAME, (
        "the kernelspec 'synthlib' predates synthlib.kernel_transport: remove .venv and rerun scripts/bootstrap.sh"
    )
    assert transport_encryption_policy() == "auto"
    result = subprocess.run(
        [
            *[sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "02_kernels.ipynb")],
            str(tmp_path / "out.ipynb"),
            *["-k", "synthlib", "--cwd", str(ROOT / "notebooks"), "--no-progress-bar", "--log-level", "WARNING"],
            *["-p", "n_kernels", "4", "-p", "n_draws", "200", "-p", "save_figures", "False"],
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    combined = result.stdout + result.stderr
    assert "without encryption" not in combined, combined[-2000:]
    assert "IPKernelApp] WARNING" not in combined, combined[-2000:]


# --- JupyterLab's settings (jupyter/) --------------------------------------------------------------------


def lab_config() -> object:
    from traitlets.config import PyFileConfigLoader

    return PyFileConfigLoader("jupyter_lab_config.py", path=str(ROOT / "jupyter")).load_config()


def test_lab_config_uses_jupytext_the_kernel_and_localhost():
    config = lab_config()
    assert config.ServerApp.contents_manager_class == "jupytext.TextFileContentsManager"
    assert config.ServerApp.ip == "127.0.0.1"
    assert config.MappingKernelManager.default_kernel_name == "synthlib"
    overrides = json.loads((Path(config.LabApp.app_settings_dir) / "overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["python"] == "Jupytext Notebook"


def test_saving_a_py_notebook_through_jupytext_keeps_the_pair_in_sync(tmp_path):
    """What JupyterLab's save does with the configured contents manager: both files of the pair are written."""
    import jupytext

    (tmp_path / "notebooks").mkdir()
    for suffix in (".py", ".ipynb"):
        source = ROOT / "notebooks" / f"02_kernels{suffix}"
        (tmp_path / "notebooks" / source.name).write_text(source.read_text())
    manager = jupytext.TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get("notebooks/02_kernels.py")
    assert model["type"] == "notebook"
    model["content"].cells[-1].source = "n_draws_seen = n_draws"
    manager.save(model, "notebooks/02_kernels.py")
    paired = nbformat.read(tmp_path / "notebooks" / "02_kernels.ipynb", as_version=4)
    assert paired.cells[-1].source == "n_draws_seen = n_draws"
    assert (tmp_path / "notebooks" / "02_kernels.py").read_text().rstrip().endswith("n_draws_seen = n_draws")


def test_a_plugin_sampler_gets_sliders_a_preset_menu_and_a_histogram():
    """A sampler the explorers know nothing of (as one from an installed package's entry point): a slider per
    float keyword, its defaults as the only preset, its centre weight without an analytic density."""
    from synthlib.samplers import register_sampler, unregister_sampler

    @register_sampler("plugin_laplace")
    def plugin_laplace(out_channels, in_channels, size, generator, *, scale=0.5, shift=0.0, copies=2):
        u = torch.rand((out_channels, in_channels, size, size), generator=generator) - 0.5
        return shift - scale * torch.sign(u) * torch.log1p(-2 * u.abs())

    try:
        assert explore.knobs("plugin_laplace") == {
            "scale": explore.Knob(0.0, 1.5, 0.005),
            "shift": explore.Knob(-1.0, 1.0, 2 / 300),
        }
        assert explore.preset_names("plugin_laplace") == [explore.DEFAULTS]
        assert preset_values("plugin_laplace", explore.DEFAULTS) == {"scale": 0.5, "shift": 0.0, "copies": 2}
        figure = distribution_figure("plugin_laplace", explore.DEFAULTS, {"scale": 1.0}, n_kernels=500)
        assert len(figure.axes) == 2 and len(figure.axes[0].lines) == 0
        plt.close(figure)
        if pytest.importorskip("ipywidgets"):
            panel = sampler_explorer("plugin_laplace", lambda *_: plt.figure())
            assert [c.description for c in panel.children[0].children[1:-1]] == ["scale", "shift"]
    finally:
        unregister_sampler("plugin_laplace")
