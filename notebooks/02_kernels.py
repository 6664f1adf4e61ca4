# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: synthlib
#     language: python
#     name: synthlib
# ---

# %% [markdown]
# # 2 · The kernels
#
# The 64 kernels of one conv layer per sampler, the centre-surround covariance Σ beside the
# empirical covariance of many draws, and radial profiles.
#
# **Centre-surround Σ.** Each kernel channel is a draw w ~ N(0, Σ) over its 25 synapses with
#
# $$\Sigma = d\,d^\top + \sigma_n^2 K_\ell,\qquad d = \kappa\,(G_{\sigma_c} - g\,G_{\sigma_s}),\qquad
# K_\ell[i,j] = \exp\!\left(-\frac{\lVert p_i - p_j\rVert^2}{2\ell^2}\right)$$
#
# where $G_\sigma$ is a 2-D Gaussian on the 5×5 grid normalised to unit sum, $g$ the surround gain
# and $\kappa$ scales the profile's peak to 1. Equivalently $w = z\,d + \varepsilon$, $z \sim N(0, 1)$:
# the sign of $z$ makes an ON- or an OFF-centre cell. The rank-one term correlates centre synapses
# positively with each other and negatively with the surround.
#
# | parameter | default | source |
# |---|---|---|
# | surround/centre radius $\sigma_s/\sigma_c$ | 4.4 | marmoset parvocellular LGN, 0.333 / 0.076 deg |
# | surround gain $g$ | 0.55 | Croner & Kaplan 1995 (macaque), integrated surround/centre |
# | polarity | ON and OFF equally | both cell types exist |
# | centre width $\sigma_c$ | 0.5 px | not biological: no pixels-per-degree is given |
# | noise $\sigma_n$, correlation length $\ell$ | 0.1, 1 px | not biological: 0.1 is the authors' code's noise level |
#
# The `authors_code` preset: a σ = 1 px Gaussian minus its own mean (zero-sum, flat surround),
# ±1 polarity, i.i.d. noise 0.1, scale 0.01 — i.e. $\Sigma = d\,d^\top + 0.1^2 I$.

# %% tags=["parameters"]
in_channels = 3
n_kernels = 64
n_draws = 50_000
seed = 0
figures_dir = "../figures"
save_figures = True
# widgets at the end: True, False, or None for only when JupyterLab runs the kernel (progress.widgets_wanted)
interactive = None

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from synthlib.explore import covariance_figure, kernel_grid_figure, sampler_explorer
from synthlib.plots import plot_covariance_pair, plot_kernel_grid, radial_profile
from synthlib.progress import widgets_wanted
from synthlib.samplers import resolve_params, sample_kernels
from synthlib.samplers.center_surround import preset_covariance, preset_profile
from synthlib.seeding import make_generator

sns.set_theme(style="white", context="notebook")
SIZE = 5
if save_figures:
    Path(figures_dir).mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 64 kernels per sampler
# Colour kernels are scaled per kernel to the full colour range; grey kernels use a signed map.

# %%
SAMPLERS = [
    ("normal", "paper_text"),
    ("lognormal", "paper_text"),
    ("center_surround", "biological"),
    ("center_surround", "authors_code"),
]
kernel_sets = {
    f"{name} ({preset})": sample_kernels(
        name, n_kernels, in_channels, SIZE, make_generator(seed, "kernels", name, preset), preset=preset
    )
    for name, preset in SAMPLERS
}
fig, axes = plt.subplots(1, len(kernel_sets), figsize=(4 * len(kernel_sets), 4.3), constrained_layout=True)
for ax, (title, kernels) in zip(axes, kernel_sets.items()):
    plot_kernel_grid(kernels, title, ax=ax)
if save_figures:
    fig.savefig(Path(figures_dir) / "kernels.png", dpi=150, bbox_inches="tight")

# %%
pd.DataFrame(
    {
        title: {"mean": float(k.mean()), "std": float(k.std()), "min": float(k.min()), "max": float(k.max())}
        for title, k in kernel_sets.items()
    }
).T.round(4)

# %% [markdown]
# ## Σ beside the empirical covariance of many draws

# %%
comparison = []
for preset in ("biological", "authors_code"):
    sigma = preset_covariance(SIZE, preset)
    draws = sample_kernels(
        "center_surround", n_draws, 1, SIZE, make_generator(seed, "covariance", preset), preset=preset
    )
    empirical = torch.cov(draws.reshape(n_draws, -1).double().T)
    figure = plot_covariance_pair(sigma, empirical, f"center_surround ({preset}), {n_draws} draws")
    if save_figures:
        figure.savefig(Path(figures_dir) / f"center_surround_covariance_{preset}.png", dpi=150, bbox_inches="tight")
    comparison.append(
        {
            "preset": preset,
            "max |Σ|": float(sigma.abs().max()),
            "max |empirical − Σ|": float((empirical - sigma).abs().max()),
            "relative": float((empirical - sigma).abs().max() / sigma.abs().max()),
        }
    )
pd.DataFrame(comparison).set_index("preset").map(lambda value: f"{value:.3g}")

# %% [markdown]
# ## Radial profiles
# Mean profile d (black) and 20 single ON- and OFF-centre draws (grey), weight against distance
# from the kernel's centre.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
for ax, preset in zip(axes, ("biological", "authors_code")):
    scale = resolve_params("center_surround", preset).get("scale", 1.0)
    draws = sample_kernels("center_surround", 20, 1, SIZE, make_generator(seed, "radial", preset), preset=preset)[:, 0]
    for kernel in draws:
        ax.plot(*radial_profile(kernel / scale), color="grey", alpha=0.4, lw=1)
    distances, values = radial_profile(preset_profile(SIZE, preset) / scale)
    ax.plot(distances, values, color="black", lw=2.5, marker="o", label="d (mean ON profile)")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("distance from centre (px)")
    ax.set_ylabel("weight / scale")
    ax.set_title(f"center_surround ({preset})")
    ax.legend()
if save_figures:
    fig.savefig(Path(figures_dir) / "radial_profiles.png", dpi=150, bbox_inches="tight")

# %% [markdown]
# ## Explore: turn a sampler's knobs
# In JupyterLab, one panel per sampler: pick a preset, move its parameters, and the layer's kernels
# are redrawn; for centre-surround also Σ beside the empirical covariance. Samplers of installed
# packages (the `synthlib.samplers` entry points) get a panel too. Batch runs (papermill, nbval) skip
# this cell's widgets.

# %%
if widgets_wanted(interactive):
    from IPython.display import display

    from synthlib.samplers import plugin_sampler_names

    for sampler_name in ("center_surround", "lognormal", "normal", *plugin_sampler_names()):
        display(
            sampler_explorer(
                sampler_name,
                lambda name, preset, overrides, seed: kernel_grid_figure(
                    name, preset, overrides, n_kernels, in_channels, seed
                ),
                seed=seed,
            )
        )
    display(
        sampler_explorer(
            "center_surround",
            lambda name, preset, overrides, seed: covariance_figure(preset, overrides, min(n_draws, 20_000), seed),
            seed=seed,
        )
    )
