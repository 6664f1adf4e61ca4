"""Figures: what is drawn, not how it looks (images, bar heights, axes, titles)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from synthlib.plots import (  # noqa: E402
    kernel_grid_image,
    plot_covariance_pair,
    plot_kernel_grid,
    plot_table1,
    radial_profile,
)
from synthlib.records import RunRecord  # noqa: E402
from synthlib.samplers import sample_kernels  # noqa: E402
from synthlib.samplers.center_surround import PARVO_SURROUND_RATIO, center_surround_covariance, dog_profile  # noqa: E402
from synthlib.tables import summarise  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def kernels(n: int, channels: int, size: int = 5) -> torch.Tensor:
    return sample_kernels("normal", n, channels, size, torch.Generator().manual_seed(0))


# ---------------------------------------------------------------------------------------------
# Kernel grids
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "channels", "shape"),
    [(64, 1, (47, 47)), (64, 3, (47, 47, 3)), (10, 1, (11, 47)), (3, 3, (5, 17, 3))],
)
def test_kernel_grid_image_shape(n, channels, shape):
    assert kernel_grid_image(kernels(n, channels), columns=8, pad=1).shape == shape


def test_kernel_grid_image_tiles_and_gaps():
    weights = kernels(64, 1)
    image = kernel_grid_image(weights)
    np.testing.assert_array_equal(image[:5, :5], weights[0, 0].double().numpy())  # signed, unscaled
    np.testing.assert_array_equal(image[6:11, 12:17], weights[10, 0].double().numpy())  # row 1, column 2
    assert np.isnan(image[5, :]).all() and np.isnan(image[:, 5]).all()
    assert np.isfinite(image).sum() == 64 * 25


def test_kernel_grid_image_colour_tiles_scaled_per_kernel():
    image = kernel_grid_image(kernels(16, 3))
    for r, c in [(0, 0), (1, 7)]:
        tile = image[r * 6 : r * 6 + 5, c * 6 : c * 6 + 5]
        assert tile.min() == 0.0 and tile.max() == 1.0
    constant = kernel_grid_image(torch.ones(1, 3, 5, 5))
    assert (constant[:5, :5] == 0.5).all() and np.isnan(constant[:, 5:]).all()


@pytest.mark.parametrize(("channels", "shape"), [(1, (47, 47)), (3, (47, 47, 3))])
def test_plot_kernel_grid(channels, shape):
    ax = plot_kernel_grid(kernels(64, channels), title="normal")
    assert isinstance(ax, Axes)
    assert ax.get_title() == "normal"
    (image,) = ax.get_images()
    assert image.get_array().shape == shape


def test_plot_kernel_grid_single_channel_symmetric_colour_scale():
    weights = kernels(64, 1)
    ax = plot_kernel_grid(weights)
    low, high = ax.get_images()[0].get_clim()
    assert high == -low == pytest.approx(float(weights.abs().max()))


def test_plot_kernel_grid_draws_into_given_axes():
    fig, ax = plt.subplots()
    assert plot_kernel_grid(kernels(8, 1), ax=ax) is ax
    assert len(fig.axes) == 1


# ---------------------------------------------------------------------------------------------
# Radial profile and covariance
# ---------------------------------------------------------------------------------------------


def test_radial_profile_of_dog_decreases_then_turns_negative():
    distances, values = radial_profile(dog_profile(5, 0.5, PARVO_SURROUND_RATIO, 0.55))
    np.testing.assert_allclose(distances, [0, 1, math.sqrt(2), 2, math.sqrt(5), math.sqrt(8)], atol=1e-6)
    assert values[0] == 1.0 == values.max()
    first_negative = int(np.argmax(values < 0))
    assert first_negative > 0
    assert (np.diff(values[: first_negative + 1]) < 0).all()  # decreasing until it crosses zero
    assert (values[first_negative:] < 0).all()  # the surround stays negative


def test_radial_profile_averages_each_ring():
    kernel = torch.zeros(3, 3)
    kernel[0, 1], kernel[1, 0] = 4.0, 2.0  # two of the four pixels at distance 1
    distances, values = radial_profile(kernel)
    np.testing.assert_allclose(distances, [0, 1, math.sqrt(2)], atol=1e-6)
    np.testing.assert_allclose(values, [0, 1.5, 0])


def test_plot_covariance_pair():
    sigma = center_surround_covariance(5)
    empirical = sigma * 0.9
    fig = plot_covariance_pair(sigma, empirical, title="biological")
    assert isinstance(fig, Figure)
    assert len(fig.axes) >= 2  # two heatmaps and a colour bar
    assert [ax.get_title() for ax in fig.axes[:2]] == ["specified Σ", "empirical covariance"]
    for ax, matrix in zip(fig.axes[:2], (sigma, empirical)):
        mesh = ax.collections[0]
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(25, 25), matrix.numpy())
        assert mesh.get_clim() == pytest.approx((-float(sigma.abs().max()), float(sigma.abs().max())))
    assert fig._suptitle.get_text() == "biological"


# ---------------------------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------------------------

ACCURACIES = {  # (dataset, method) -> test accuracy of seeds 0, 1, 2
    ("mnist", "normal"): (0.70, 0.72, 0.74),
    ("mnist", "fully_trained"): (0.80, 0.79, 0.81),
    ("cifar10", "normal"): (0.20, 0.21, 0.25),
    ("cifar10", "fully_trained"): (0.22, 0.18, 0.20),
    ("synthetic_gray", "normal"): (0.50, 0.60, 0.70),  # not in the paper: no diamond
}


def record(dataset: str, method: str, seed: int, accuracy: float) -> RunRecord:
    return RunRecord(dataset, method, seed, accuracy, accuracy, 380, 380, 10000, {}, "0" * 16, "cpu", {})


@pytest.fixture
def table():
    records = [record(d, m, s, a) for (d, m), accs in ACCURACIES.items() for s, a in enumerate(accs)]
    return summarise(records, method_order=["normal", "fully_trained"])


def bars(ax: Axes) -> BarContainer:
    (container,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    return container


def test_plot_table1_one_axes_per_dataset_bars_at_means(table):
    fig = plot_table1(table, labels={"normal": "Normal", "fully_trained": "Fully Trained"})
    datasets = list(dict.fromkeys(table["dataset"]))
    assert len(fig.axes) == len(datasets) == 3
    for ax, dataset in zip(fig.axes, datasets):
        assert ax.get_title() == dataset
        expected = [100 * np.mean(ACCURACIES[dataset, m]) for m in table.loc[table["dataset"] == dataset, "method"]]
        np.testing.assert_allclose([bar.get_height() for bar in bars(ax)], expected, rtol=1e-12)
        assert ax.get_ylim() == (0, 100)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["Normal", "Fully Trained"]


def test_plot_table1_marks_the_papers_values(table):
    fig = plot_table1(table)
    mnist = fig.axes[list(dict.fromkeys(table["dataset"])).index("mnist")]
    diamonds = [line for line in mnist.get_lines() if line.get_marker() == "D"]
    assert len(diamonds) == 1
    np.testing.assert_allclose(
        np.asarray(diamonds[0].get_ydata(), dtype=float), [72.52, 79.01]
    )  # paper: normal, fully trained
