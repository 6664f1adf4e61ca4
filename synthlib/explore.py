"""Interactive exploration of the samplers in JupyterLab: sliders and drop-downs that redraw figures.

The redraw functions are plain: settings in, a matplotlib ``Figure`` out, so they are tested like
the rest of the library. ``sampler_explorer`` wires them to ipywidgets controls; it is built only
when a widget frontend can show it (``widgets_wanted``), so papermill and nbval runs of the
notebooks, which have no frontend, produce exactly the outputs they produced before.

Slider ranges (``KNOBS``) span each preset's values (``synthlib.samplers``) with room on both
sides; a preset's value that no slider can hold (``surround_ratio=inf``, ``surround_gain="zero_sum"``
of ``center_surround``'s ``authors_code`` preset) is kept and its slider disabled.

Any other registered sampler (one an installed package adds through the ``synthlib.samplers`` entry
points, ``synthlib.samplers.registry.load_plugins``) gets a slider per numeric keyword parameter
(``knobs``: from 0 to three times its default), its presets or, without any, its defaults
(``DEFAULTS``), and a histogram of its centre weight without an analytic density.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from scipy import stats

from synthlib.plots import plot_covariance_pair, plot_kernel_grid
from synthlib.samplers import get_sampler, resolve_params, sample_kernels
from synthlib.samplers.center_surround import preset_covariance
from synthlib.seeding import make_generator

KERNEL_SIZE = 5
"""The paper's 5x5 kernels."""


@dataclass(frozen=True)
class Knob:
    """A slider over one numeric sampler parameter."""

    low: float
    high: float
    step: float


KNOBS: Mapping[str, Mapping[str, Knob]] = {
    "normal": {"sigma": Knob(0.005, 3.0, 0.005)},
    "lognormal": {"mu": Knob(-2.0, 1.0, 0.01), "sigma": Knob(0.1, 2.0, 0.01)},
    "center_surround": {
        "center_sigma": Knob(0.2, 2.0, 0.05),
        "surround_ratio": Knob(1.0, 10.0, 0.1),
        "surround_gain": Knob(0.0, 1.0, 0.05),
        "noise_std": Knob(0.0, 0.5, 0.01),
        "noise_correlation_length": Knob(0.0, 3.0, 0.1),
    },
}


DEFAULTS = "defaults"
"""The preset menu's entry of a sampler without presets: its function's defaults."""


def knobs(name: str) -> Mapping[str, Knob]:
    """The sliders of sampler ``name``: ``KNOBS``' for the paper's samplers; for any other, one per numeric
    keyword-only parameter, from 0 to three times its default (-1 to 1 around a default of 0, symmetric
    around a negative one), in 300 steps."""
    if name in KNOBS:
        return KNOBS[name]
    found = {}
    for key, parameter in inspect.signature(get_sampler(name).fn).parameters.items():
        value = knob_value(parameter.default) if parameter.kind is parameter.KEYWORD_ONLY else None
        if value is None or isinstance(parameter.default, int):
            continue
        low, high = (0.0, 3 * value) if value > 0 else (-max(3 * abs(value), 1.0), max(3 * abs(value), 1.0))
        found[key] = Knob(low, high, (high - low) / 300)
    return found


def preset_names(name: str) -> list[str]:
    """The preset menu of sampler ``name``: its presets, or ``DEFAULTS`` when it has none."""
    return list(get_sampler(name).presets) or [DEFAULTS]


def _preset(name: str, preset: str) -> str | None:
    return None if preset == DEFAULTS and preset not in get_sampler(name).presets else preset


def knob_value(value: Any) -> float | None:
    """A preset's value as a slider position, or ``None`` when no slider can hold it (a string, inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def preset_values(name: str, preset: str) -> dict[str, Any]:
    """Every keyword parameter of sampler ``name``: its function's defaults, overridden by the preset."""
    signature = inspect.signature(get_sampler(name).fn)
    defaults = {key: p.default for key, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY}
    return {**defaults, **resolve_params(name, _preset(name, preset))}


def sampler_params(name: str, preset: str, overrides: Mapping[str, float]) -> dict[str, Any]:
    """The preset's parameters with the sliders' values where the preset's own value is a finite number."""
    params = preset_values(name, preset)
    sliders = knobs(name)
    adjustable = {key: float(value) for key, value in overrides.items() if key in sliders}
    return {
        **params,
        **{key: value for key, value in adjustable.items() if knob_value(params.get(key, 0.0)) is not None},
    }


def draw_kernels(
    name: str, preset: str, overrides: Mapping[str, float], n_kernels: int, in_channels: int, seed: int
) -> torch.Tensor:
    """``n_kernels`` 5x5 kernels of ``name`` for these settings, from a generator derived from ``seed``."""
    params = sampler_params(name, preset, overrides)
    generator = make_generator(seed, "explore", name, preset)
    return sample_kernels(name, n_kernels, in_channels, KERNEL_SIZE, generator, **params)


def centre_weight_law(name: str, params: Mapping[str, Any]) -> tuple[Any, Callable[[np.ndarray], np.ndarray], str]:
    """The analytic law of the centre weight (magnitude / scale for the log-normal), how to map a draw
    onto it, and the axis label; ``None`` for the law of a sampler without one."""
    scale = float(params.get("scale", 1.0))
    if name == "normal":
        return stats.norm(0.0, params.get("sigma", 1.0)), lambda w: w, "w"
    if name == "lognormal":
        law = stats.lognorm(s=params["sigma"], scale=np.exp(params["mu"]))
        return law, lambda w: np.abs(w) / scale, "|w| / scale"
    if name == "center_surround":
        sigma = preset_covariance(KERNEL_SIZE, None, **params)
        centre = KERNEL_SIZE * KERNEL_SIZE // 2
        return stats.norm(0.0, math.sqrt(float(sigma[centre, centre]))), lambda w: w, "centre weight w"
    get_sampler(name)  # an unknown name lists the valid ones
    return None, lambda w: w, "centre weight w"


def distribution_figure(
    name: str, preset: str, overrides: Mapping[str, float], n_kernels: int = 4000, seed: int = 0
) -> Figure:
    """The centre weight's analytic density beside a histogram of as many draws (left), and 16 kernels (right)."""
    params = sampler_params(name, preset, overrides)
    kernels = draw_kernels(name, preset, overrides, n_kernels, 1, seed)
    law, to_axis, label = centre_weight_law(name, params)
    values = to_axis(kernels[:, 0, KERNEL_SIZE // 2, KERNEL_SIZE // 2].double().numpy())
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    low, high = np.quantile(values, [0.002, 0.995])
    grid = np.linspace(low, high, 300)
    left.hist(values, bins=np.linspace(low, high, 60), density=True, alpha=0.5, label=f"{n_kernels} draws")
    if law is not None:
        left.plot(grid, law.pdf(grid), color="black", lw=1.5, label="analytic density")
    left.set_xlabel(label)
    left.set_ylabel("density")
    left.legend(fontsize=8)
    left.set_title(f"{name} ({preset})", fontsize=10)
    plot_kernel_grid(kernels[:16], "16 draws", ax=right, columns=4)
    return fig


def kernel_grid_figure(
    name: str, preset: str, overrides: Mapping[str, float], n_kernels: int = 64, in_channels: int = 3, seed: int = 0
) -> Figure:
    """The ``n_kernels`` kernels of one conv layer for these settings, as in ``02_kernels``."""
    kernels = draw_kernels(name, preset, overrides, n_kernels, in_channels, seed)
    fig, ax = plt.subplots(figsize=(4.5, 4.8), constrained_layout=True)
    plot_kernel_grid(kernels, f"{name} ({preset})", ax=ax)
    return fig


def covariance_figure(preset: str, overrides: Mapping[str, float], n_draws: int = 20_000, seed: int = 0) -> Figure:
    """``center_surround``'s Σ for these settings beside the empirical covariance of ``n_draws`` draws."""
    params = sampler_params("center_surround", preset, overrides)
    sigma = preset_covariance(KERNEL_SIZE, None, **params)
    draws = draw_kernels("center_surround", preset, overrides, n_draws, 1, seed)
    empirical = torch.cov(draws.reshape(n_draws, -1).double().T)
    return plot_covariance_pair(sigma, empirical, f"center_surround ({preset}), {n_draws} draws")


Redraw = Callable[[str, str, Mapping[str, float], int], Figure]


def sampler_explorer(name: str, redraw: Redraw, seed: int = 0) -> Any:
    """A drop-down of ``name``'s presets, a slider per ``KNOBS`` entry and a seed slider above the
    figure ``redraw(name, preset, overrides, seed)``, redrawn whenever one of them moves.

    Choosing a preset moves the sliders to its values and disables those it cannot hold.
    """
    import ipywidgets as widgets
    from IPython.display import display

    presets = preset_names(name)
    label_style = {"description_width": "12em"}  # the full parameter names
    row = widgets.Layout(width="30em")
    preset_menu = widgets.Dropdown(
        options=presets, value=presets[0], description="preset", style=label_style, layout=row
    )
    sliders = {
        key: widgets.FloatSlider(
            min=knob.low,
            max=knob.high,
            step=knob.step,
            description=key,
            continuous_update=False,
            readout_format=".2f" if knob.step >= 0.01 else ".3f",
            style=label_style,
            layout=row,
        )
        for key, knob in knobs(name).items()
    }
    seed_slider = widgets.IntSlider(
        value=seed, min=0, max=20, description="seed", continuous_update=False, style=label_style, layout=row
    )
    output = widgets.Output()
    following_preset = [False]  # while a preset moves the sliders, draw once at the end, not per slider

    def follow_preset(preset: str) -> None:
        params = preset_values(name, preset)
        following_preset[0] = True
        try:
            for key, slider in sliders.items():
                value = knob_value(params.get(key))
                slider.disabled = value is None
                if value is not None:
                    slider.value = min(max(value, slider.min), slider.max)
        finally:
            following_preset[0] = False

    def show(*_: Any) -> None:
        if following_preset[0]:
            return
        overrides = {key: slider.value for key, slider in sliders.items() if not slider.disabled}
        figure = redraw(name, preset_menu.value, overrides, seed_slider.value)
        with output:
            output.clear_output(wait=True)
            display(figure)
        plt.close(figure)

    def on_preset(change: dict[str, Any]) -> None:
        follow_preset(change["new"])
        show()

    follow_preset(preset_menu.value)
    preset_menu.observe(on_preset, names="value")
    for control in (*sliders.values(), seed_slider):
        control.observe(show, names="value")
    show()
    controls = widgets.VBox([preset_menu, *sliders.values(), seed_slider])
    return widgets.HBox([controls, output])
