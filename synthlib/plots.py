"""Figures: kernel grids, covariance matrices, radial profiles, the Table 1 comparison and learning curves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure

from synthlib.paper import LITERATURE_ANCHORS, LiteratureAnchor


def kernel_grid_image(kernels: torch.Tensor, columns: int = 8, pad: int = 1) -> np.ndarray:
    """Tile ``(K, C, k, k)`` kernels into one image; colour kernels are scaled per kernel to [0, 1],
    single-channel ones are returned signed (for a diverging colour map). NaN between tiles."""
    weights = kernels.detach().cpu().double().numpy()
    n, channels, size, _ = weights.shape
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    depth = 3 if channels == 3 else 1
    canvas = np.full((rows * (size + pad) - pad, columns * (size + pad) - pad, depth), np.nan)
    for i, kernel in enumerate(weights):
        tile = np.transpose(kernel, (1, 2, 0)) if channels == 3 else kernel[:1].transpose(1, 2, 0)
        if channels == 3:
            low, high = tile.min(), tile.max()
            tile = (tile - low) / (high - low) if high > low else np.full_like(tile, 0.5)
        r, c = divmod(i, columns)
        canvas[r * (size + pad) : r * (size + pad) + size, c * (size + pad) : c * (size + pad) + size] = tile
    return canvas if depth == 3 else canvas[..., 0]


def plot_kernel_grid(kernels: torch.Tensor, title: str = "", ax: plt.Axes | None = None, columns: int = 8) -> plt.Axes:
    """Show all kernels of a conv layer: RGB for 3 input channels, signed grey-scale (RdBu) for 1."""
    ax = ax or plt.figure(figsize=(4, 4)).add_subplot()
    image = kernel_grid_image(kernels, columns)
    if image.ndim == 3:
        ax.imshow(np.nan_to_num(image, nan=1.0), interpolation="nearest")
    else:
        limit = np.nanmax(np.abs(image)) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
    return ax


def plot_covariance_pair(specified: torch.Tensor, empirical: torch.Tensor, title: str = "") -> Figure:
    """The specified covariance Sigma beside the empirical covariance of many draws (same colour scale)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    limit = float(max(specified.abs().max(), empirical.abs().max()))
    for ax, matrix, name in zip(axes, (specified, empirical), ("specified Σ", "empirical covariance")):
        sns.heatmap(
            matrix.numpy(),
            ax=ax,
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
            square=True,
            cbar=ax is axes[1],
            xticklabels=5,
            yticklabels=5,
        )
        ax.set_title(name)
    fig.suptitle(title)
    return fig


def radial_profile(kernel: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean weight of a ``(k, k)`` kernel at each distinct distance from its centre."""
    size = kernel.shape[-1]
    coords = np.arange(size) - (size - 1) / 2
    radius = np.round(np.hypot(coords[:, None], coords[None, :]), 6).ravel()
    values = kernel.detach().cpu().double().numpy().ravel()
    distances = np.unique(radius)
    return distances, np.array([values[radius == d].mean() for d in distances])


def plot_table1(table: pd.DataFrame, labels: Mapping[str, str] | None = None, n_classes: int = 10) -> Figure:
    """Bars of our mean test accuracy (error bars: std over seeds) per dataset and method, with the
    paper's mean +- std marked as black diamonds and chance (10 classes) as a dotted line."""
    labels = dict(labels or {})
    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(4.2 * len(datasets), 3.8), squeeze=False, constrained_layout=True
    )
    palette = sns.color_palette("colorblind", n_colors=table["method"].nunique())
    for ax, dataset in zip(axes[0], datasets):
        rows = table[table["dataset"] == dataset].reset_index(drop=True)
        x = np.arange(len(rows))
        ax.bar(x, rows["mean"], yerr=rows["std"].fillna(0), color=palette[: len(rows)], capsize=4, label="this study")
        has_paper = rows["paper_mean"].notna()
        ax.errorbar(
            x[has_paper],
            rows.loc[has_paper, "paper_mean"],
            yerr=rows.loc[has_paper, "paper_std"],
            fmt="D",
            color="black",
            capsize=3,
            label="paper (Table 1)",
        )
        ax.axhline(100 / n_classes, color="grey", ls=":", lw=1, label="chance")
        ax.set_xticks(x, [labels.get(m, m) for m in rows["method"]], rotation=25, ha="right")
        ax.set_title(dataset)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
    axes[0][0].legend(loc="upper left", fontsize=8)
    return fig


def plot_protocols(
    table: pd.DataFrame, labels: Mapping[str, str] | None = None, variant_labels: Mapping[str, str] | None = None
) -> Figure:
    """Per dataset, grouped bars of mean test accuracy per column (x) and protocol variant (hue),
    error bars the 95% interval of the mean, the paper's values as black diamonds.

    ``table`` has columns dataset, method, variant, mean, ci95_low, ci95_high, paper_mean.
    """
    labels, variant_labels = dict(labels or {}), dict(variant_labels or {})
    datasets = list(dict.fromkeys(table["dataset"]))
    variants = list(dict.fromkeys(table["variant"]))
    fig, axes = plt.subplots(
        len(datasets), 1, figsize=(10, 3.6 * len(datasets)), squeeze=False, constrained_layout=True
    )
    palette = sns.color_palette("colorblind", n_colors=len(variants))
    width = 0.8 / len(variants)
    for ax, dataset in zip(axes[:, 0], datasets):
        rows = table[table["dataset"] == dataset]
        methods = list(dict.fromkeys(rows["method"]))
        x = np.arange(len(methods))
        for i, variant in enumerate(variants):
            part = rows[rows["variant"] == variant].set_index("method").reindex(methods)
            err = np.vstack([part["mean"] - part["ci95_low"], part["ci95_high"] - part["mean"]])
            ax.bar(
                x + (i - (len(variants) - 1) / 2) * width,
                part["mean"],
                width,
                yerr=np.nan_to_num(err),
                color=palette[i],
                capsize=2,
                label=variant_labels.get(variant, variant),
            )
        paper = rows.drop_duplicates("method").set_index("method").reindex(methods)["paper_mean"]
        ax.plot(x, paper, "D", color="black", label="paper (Table 1)")
        ax.axhline(10, color="grey", ls=":", lw=1)
        ax.set_xticks(x, [labels.get(m, m) for m in methods])
        ax.set_title(dataset)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
    axes[0][0].legend(loc="upper left", fontsize=7, ncol=3)
    return fig


LINE_STYLES = {"frozen": "-", "trained": "--", "baseline": ":"}
ANCHOR_MARKERS = ("*", "P", "X", "D", "^", "v", "s", "h")


def plot_learning_curves(
    table: pd.DataFrame,
    labels: Mapping[str, str],
    anchors: Sequence[LiteratureAnchor] | None = None,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    panels: Mapping[str, Sequence[str]] | None = None,
) -> Figure:
    """Learning curves: one panel per dataset, test accuracy (%) against training images per class on
    a log axis, one line per column (``columns``, default all, in the table's order) with its 95%
    interval as a band; the full training set sits at its per-class count with the tick "full".
    Line style by ``kinds`` (column -> "frozen" solid, "trained" dashed, "baseline" dotted). Published
    results (``anchors``; None: ``synthlib.paper.LITERATURE_ANCHORS``) are black markers on the panel
    of their dataset, one marker per method, labelled with the source and how its protocol differs.
    ``panels`` (row title -> columns) splits the columns into rows of panels, a column keeping its colour
    in every row; each row has its legend outside, on the right.

    ``table`` has columns dataset, column, per_class, full, mean, ci95_low, ci95_high
    (``synthlib.curves.curve_table``)."""
    if anchors is None:
        anchors = LITERATURE_ANCHORS
    kinds = dict(kinds or {})
    present = set(table["column"])
    names = [c for c in (columns or list(dict.fromkeys(table["column"]))) if c in present]
    rows = [(title, [c for c in row if c in present]) for title, row in (panels or {"": names}).items()]
    datasets = list(dict.fromkeys(table["dataset"]))
    everyone = list(dict.fromkeys([*names, *(c for _, row in rows for c in row)]))
    palette = dict(zip(everyone, sns.color_palette("tab20", n_colors=max(len(everyone), 1))))
    fig, axes = plt.subplots(
        len(rows),
        len(datasets),
        figsize=(5.0 * len(datasets) + 3.5, 4.3 * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    for axes_row, (row_title, row_columns) in zip(axes, rows):
        handles: dict[str, object] = {}
        for ax, dataset in zip(axes_row, datasets):
            _plot_curves(ax, table[table["dataset"] == dataset], row_columns, labels, kinds, palette, handles)
            _plot_anchors(ax, [a for a in anchors if a.dataset == dataset], handles)
            ax.set_title(f"{dataset}: {row_title}" if row_title else dataset, fontsize=10)
        kind_handles = [
            plt.Line2D([], [], color="grey", ls=style, label=f"{kind} columns")
            for kind, style in LINE_STYLES.items()
            if kind in set(kinds.get(c) for c in row_columns)
        ]
        axes_row[-1].legend(
            handles=[*handles.values(), *kind_handles],
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize=7,
            frameon=False,
        )
    return fig


def _plot_curves(
    ax: plt.Axes,
    rows: pd.DataFrame,
    columns: Sequence[str],
    labels: Mapping[str, str],
    kinds: Mapping[str, str],
    palette: Mapping[str, Any],
    handles: dict[str, object],
) -> None:
    """One dataset's lines and 95% bands, the log size axis with the full set's tick, and chance."""
    for column in columns:
        part = rows[rows["column"] == column].sort_values("per_class")
        if part.empty:
            continue
        (line,) = ax.plot(
            part["per_class"],
            part["mean"],
            ls=LINE_STYLES.get(kinds.get(column, ""), "-"),
            marker="o",
            ms=3,
            lw=1.4,
            color=palette[column],
            label=labels.get(column, column),
        )
        ax.fill_between(part["per_class"], part["ci95_low"], part["ci95_high"], color=palette[column], alpha=0.15)
        handles.setdefault(str(line.get_label()), line)
    sizes = rows.drop_duplicates("per_class").sort_values("per_class")
    ax.set_xscale("log")
    ax.set_xticks(
        sizes["per_class"].to_numpy(),
        ["full" if f else str(n) for n, f in zip(sizes["per_class"], sizes["full"])],
    )
    ax.minorticks_off()
    ax.axhline(10, color="grey", ls=":", lw=1)
    ax.set_xlabel("training images per class (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)


def _plot_anchors(ax: plt.Axes, anchors: Sequence[LiteratureAnchor], handles: dict[str, object]) -> None:
    """Published results as black markers, one marker shape per (method, source, protocol difference)."""
    methods = list(dict.fromkeys((a.method, a.source, a.difference) for a in anchors))
    for i, (method, source, difference) in enumerate(methods):
        points = [a for a in anchors if (a.method, a.source, a.difference) == (method, source, difference)]
        (marker,) = ax.plot(
            [a.per_class for a in points],
            [a.accuracy for a in points],
            ls="none",
            marker=ANCHOR_MARKERS[i % len(ANCHOR_MARKERS)],
            ms=8,
            color="black",
            label=f"{method} ({source}; {difference})",
        )
        handles.setdefault(str(marker.get_label()), marker)
