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
# # 1 · The weight distributions
#
# Each sampler's weights against its analytic density, with moments. The log-normal sampler has
# three readings of the same citation, kept as presets:
#
# | preset | μ | σ | signs | scale | source |
# |---|---|---|---|---|---|
# | `paper_text` | −0.702 | √0.9355 = 0.967 | all positive | 1 | the paper prints "σ² = 0.9355" |
# | `song2005` | −0.702 | 0.9355 | all positive | 1 | Song et al. 2005, appendix S1 (variance 0.8752) |
# | `authors_code` | −0.886 | 1.032 | random ±1 | 0.001 | −0.702 and 0.9355 moment-matched as the log-normal's own mean and variance |
#
# Song et al. report a mean, median and mode of 0.77, 0.50 and 0.21 mV for unitary EPSPs; the
# table below shows which preset reproduces them.

# %% tags=["parameters"]
n_samples = 200_000
seed = 0
figures_dir = "../figures"
save_figures = True
# widgets at the end: True, False, or None for only when JupyterLab runs the kernel (progress.widgets_wanted)
interactive = None

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats

from synthlib.explore import distribution_figure, sampler_explorer
from synthlib.progress import widgets_wanted
from synthlib.samplers import get_sampler, resolve_params, sample_kernels
from synthlib.samplers.center_surround import preset_covariance
from synthlib.seeding import make_generator

sns.set_theme(style="whitegrid", context="notebook")
SIZE = 5
n_kernels = max(1, n_samples // (SIZE * SIZE))


def draw(name: str, preset: str | None = None, in_channels: int = 1) -> np.ndarray:
    generator = make_generator(seed, "distributions", name, preset)
    return sample_kernels(name, n_kernels, in_channels, SIZE, generator, preset=preset).double().numpy()


# %% [markdown]
# ## Log-normal presets against Song et al. (2005)

# %%
SONG_REPORTED = {"mean": 0.77, "median": 0.50, "mode": 0.21}
rows = []
for preset in get_sampler("lognormal").presets:
    params = resolve_params("lognormal", preset)
    mu, sigma, scale = params["mu"], params["sigma"], params.get("scale", 1.0)
    magnitudes = np.abs(draw("lognormal", preset)).ravel() / scale
    ks = stats.kstest(magnitudes, stats.lognorm(s=sigma, scale=np.exp(mu)).cdf)
    rows.append(
        {
            "preset": preset,
            "mu": mu,
            "sigma": sigma,
            "analytic mean": np.exp(mu + sigma**2 / 2),
            "analytic median": np.exp(mu),
            "analytic mode": np.exp(mu - sigma**2),
            "sample mean": magnitudes.mean(),
            "sample median": np.median(magnitudes),
            "KS p-value": ks.pvalue,
        }
    )
lognormal_table = pd.DataFrame(rows).set_index("preset")
print("Song et al. 2005 report (mV):", SONG_REPORTED)
lognormal_table.round(3)

# %%
fig, ax = plt.subplots(figsize=(7, 4))
grid = np.linspace(0.001, 4, 400)
for preset, row in lognormal_table.iterrows():
    scale = resolve_params("lognormal", preset).get("scale", 1.0)
    magnitudes = np.abs(draw("lognormal", preset)).ravel() / scale
    ax.hist(magnitudes, bins=np.linspace(0, 4, 81), density=True, alpha=0.35, label=f"{preset} (samples)")
    ax.plot(grid, stats.lognorm(s=row["sigma"], scale=np.exp(row["mu"])).pdf(grid), lw=2)
for name, value in SONG_REPORTED.items():
    ax.axvline(value, color="black", ls=":", lw=1)
    ax.text(value, ax.get_ylim()[1] * 0.95, f" {name}", fontsize=8)
ax.set_xlabel("|w| (mV; weights divided by the preset's scale)")
ax.set_ylabel("density")
ax.set_title("Log-normal presets; dotted: Song et al.'s mean / median / mode")
ax.legend(fontsize=8)
if save_figures:
    Path(figures_dir).mkdir(parents=True, exist_ok=True)
    fig.savefig(Path(figures_dir) / "lognormal_presets.png", dpi=150, bbox_inches="tight")

# %% [markdown]
# ## All samplers: marginal distribution of one weight
#
# * `normal`: N(0, 1).
# * `lognormal` (`paper_text`): log-normal, all positive.
# * `center_surround`: every weight *i* is marginally N(0, Σᵢᵢ); the centre weight has the
#   largest variance (the profile's peak), a corner weight the smallest.

# %%
cs_sigma = preset_covariance(SIZE, "biological")
centre, corner = SIZE * SIZE // 2, 0
cs = draw("center_surround", "biological").reshape(n_kernels, -1)
cases = {
    "normal": (draw("normal", "paper_text").ravel(), stats.norm(0, 1)),
    "lognormal (paper_text)": (
        draw("lognormal", "paper_text").ravel(),
        stats.lognorm(s=np.sqrt(0.9355), scale=np.exp(-0.702)),
    ),
    "center_surround, centre weight": (cs[:, centre], stats.norm(0, np.sqrt(float(cs_sigma[centre, centre])))),
    "center_surround, corner weight": (cs[:, corner], stats.norm(0, np.sqrt(float(cs_sigma[corner, corner])))),
}
fig, axes = plt.subplots(1, len(cases), figsize=(4 * len(cases), 3.2), constrained_layout=True)
moments = []
for ax, (name, (values, law)) in zip(axes, cases.items()):
    low, high = np.quantile(values, [0.001, 0.995])
    xs = np.linspace(low, high, 300)
    ax.hist(values, bins=np.linspace(low, high, 60), density=True, alpha=0.5)
    ax.plot(xs, law.pdf(xs), color="black", lw=1.5)
    ax.set_title(name, fontsize=10)
    moments.append(
        {
            "weight": name,
            "sample mean": values.mean(),
            "analytic mean": law.mean(),
            "sample std": values.std(ddof=1),
            "analytic std": law.std(),
            "KS p-value": stats.kstest(values, law.cdf).pvalue,
        }
    )
if save_figures:
    fig.savefig(Path(figures_dir) / "distributions.png", dpi=150, bbox_inches="tight")
pd.DataFrame(moments).set_index("weight").round(3)

# %% [markdown]
# ## Explore: turn a sampler's knobs
# In JupyterLab, one panel per sampler: pick a preset, move its parameters, and the centre weight's
# density is redrawn beside its samples; samplers of installed packages (the `synthlib.samplers` entry
# points) get a panel too. Batch runs (papermill, nbval) skip this cell's widgets.

# %%
if widgets_wanted(interactive):
    from IPython.display import display

    from synthlib.samplers import plugin_sampler_names

    for sampler_name in ("normal", "lognormal", "center_surround", *plugin_sampler_names()):
        display(sampler_explorer(sampler_name, distribution_figure, seed=seed))
