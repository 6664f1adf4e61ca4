"""The ``gabor_v1`` sampler: its parameter distributions against the published macaque V1 tables
(scipy.stats chi-squared and KS), its rendered kernels against hand-computed Gabors, and the
sampler contract (shapes, dtype, determinism, errors).

Every draw uses a fixed seed, so the statistical tests are deterministic; p > 0.001 accepts and
p < 0.001 rejects, and each accepting test has a twin that the same test rejects.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from synthlib.samplers import get_sampler, sample_kernels
from synthlib.samplers.gabor_v1 import (
    DEVALOIS1982_ORIENTATION_COUNTS,
    DEVALOIS1982_SF_COUNTS,
    DEVALOIS1982_SF_EDGES,
    NYQUIST_PIXELS_PER_DEGREE,
    RINGACH2002_EDGES,
    RINGACH2002_NX_NY_COUNTS,
    draw_gabor_parameters,
    normalise_filters,
    render_gabor_kernels,
)

ACCEPT_P = 1e-3
N_CELLS = 100_000
PRESETS = [None, *sorted(get_sampler("gabor_v1").presets)]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def draw(out_channels: int, in_channels: int = 1, size: int = 5, seed: int = 0, **params) -> torch.Tensor:
    return sample_kernels("gabor_v1", out_channels, in_channels, size, gen(seed), **params)


@pytest.fixture(scope="module")
def cells() -> dict[str, np.ndarray]:
    """100,000 cells' parameters under the default rules, as float64 arrays."""
    return {key: value.numpy() for key, value in draw_gabor_parameters(N_CELLS, gen(11)).items()}


@pytest.fixture(scope="module")
def isotropic_cells() -> dict[str, np.ndarray]:
    params = draw_gabor_parameters(N_CELLS, gen(12), phase_rule="uniform", orientation_rule="uniform")
    return {key: value.numpy() for key, value in params.items()}


def bin_index(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """The histogram bin (0 .. len(edges) - 2) of each value; every value must lie inside the edges."""
    assert (values >= edges[0]).all() and (values <= edges[-1]).all()
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


def chisquare_p(observed: np.ndarray, table: np.ndarray) -> float:
    """p of observed counts against the proportions of ``table``, over the table's non-empty cells
    (the caller checks the empty cells stay empty)."""
    support = table > 0
    expected = table[support] / table.sum() * observed.sum()
    return float(stats.chisquare(observed[support], expected).pvalue)


def joint_counts(cells: dict[str, np.ndarray]) -> np.ndarray:
    rows, columns = bin_index(cells["nx"], RINGACH2002_EDGES), bin_index(cells["ny"], RINGACH2002_EDGES)
    return np.bincount(rows * 5 + columns, minlength=25).reshape(5, 5)


def position_in_log_bin(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Where each value lies within its bin, 0 .. 1 on a log axis."""
    log_edges = np.log(edges)
    k = bin_index(values, edges)
    return (np.log(values) - log_edges[k]) / (log_edges[k + 1] - log_edges[k])


# ---------------------------------------------------------------------------------------------
# The published tables
# ---------------------------------------------------------------------------------------------


def test_tables_are_the_published_numbers():
    table = np.array(RINGACH2002_NX_NY_COUNTS)
    assert table.shape == (5, 5) and table.sum() == 79
    assert sum(DEVALOIS1982_SF_COUNTS) == 147 and len(DEVALOIS1982_SF_COUNTS) == len(DEVALOIS1982_SF_EDGES) - 1
    assert DEVALOIS1982_ORIENTATION_COUNTS == (66, 49, 77, 54)
    np.testing.assert_allclose(RINGACH2002_EDGES, np.geomspace(0.1, 1.58, 6), rtol=1e-12)
    np.testing.assert_allclose(DEVALOIS1982_SF_EDGES, np.geomspace(0.5, 11.2, 10), rtol=1e-12)
    assert NYQUIST_PIXELS_PER_DEGREE == pytest.approx(22.4)


# ---------------------------------------------------------------------------------------------
# (n_x, n_y): Ringach 2002
# ---------------------------------------------------------------------------------------------


def test_nx_ny_joint_bins_match_ringach_table(cells):
    observed = joint_counts(cells)
    table = np.array(RINGACH2002_NX_NY_COUNTS)
    assert (observed[table == 0] == 0).all(), "a draw fell in a cell Ringach's table leaves empty"
    assert chisquare_p(observed, table) > ACCEPT_P


def test_nx_ny_chisquare_rejects_independent_marginals(cells):
    """The table's nx-ny correlation matters: the product of its marginals is rejected."""
    table = np.array(RINGACH2002_NX_NY_COUNTS)
    independent = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    assert chisquare_p(joint_counts(cells), independent) < ACCEPT_P


def test_nx_ny_chisquare_sees_one_count_moved(cells):
    moved = np.array(RINGACH2002_NX_NY_COUNTS)
    moved[2, 2] -= 1
    moved[2, 3] += 1
    assert chisquare_p(joint_counts(cells), moved) < ACCEPT_P


def test_nx_ny_medians_near_ringach(cells):
    """The histogram's medians are 0.365 and 0.444; Ringach 2002 reports about 0.37 and 0.45."""
    assert np.median(cells["nx"]) == pytest.approx(0.365, abs=0.005)
    assert np.median(cells["ny"]) == pytest.approx(0.444, abs=0.005)
    assert np.median(cells["nx"]) == pytest.approx(0.37, abs=0.02)
    assert np.median(cells["ny"]) == pytest.approx(0.45, abs=0.02)


@pytest.mark.parametrize("key", ["nx", "ny"])
def test_nx_ny_uniform_in_log_within_bins(cells, key):
    position = position_in_log_bin(cells[key], RINGACH2002_EDGES)
    assert stats.kstest(position, "uniform").pvalue > ACCEPT_P


def test_within_bin_ks_rejects_linear_placement(cells):
    """The same KS test rejects 'uniform in nx' within a bin: log-uniform values lean low."""
    edges = np.array(RINGACH2002_EDGES)
    k = bin_index(cells["nx"], RINGACH2002_EDGES)
    linear_position = (cells["nx"] - edges[k]) / (edges[k + 1] - edges[k])
    assert stats.kstest(linear_position, "uniform").pvalue < ACCEPT_P


# ---------------------------------------------------------------------------------------------
# Spatial frequency: De Valois, Albrecht & Thorell 1982
# ---------------------------------------------------------------------------------------------


def test_spatial_frequency_bins_match_de_valois(cells):
    observed = np.bincount(bin_index(cells["frequency_cpd"], DEVALOIS1982_SF_EDGES), minlength=9)
    assert chisquare_p(observed, np.array(DEVALOIS1982_SF_COUNTS)) > ACCEPT_P
    assert np.median(cells["frequency_cpd"]) == pytest.approx(2.83, abs=0.05)  # "median near 3 c/deg"


@pytest.mark.parametrize(
    "wrong",
    [
        (4, 4, 8, 25, 32, 26, 28, 13, 7),  # one cell moved between the two highest bins
        (4, 4, 8, 26, 32, 26, 28, 12, 7),  # one cell moved from 11.2 c/deg down to 1.4-2 c/deg
        (16, 16, 16, 16, 16, 16, 16, 16, 19),  # flat in log frequency
    ],
)
def test_spatial_frequency_chisquare_rejects_wrong_table(cells, wrong):
    observed = np.bincount(bin_index(cells["frequency_cpd"], DEVALOIS1982_SF_EDGES), minlength=9)
    assert chisquare_p(observed, np.array(wrong)) < ACCEPT_P


def test_spatial_frequency_uniform_in_log_within_bins(cells):
    position = position_in_log_bin(cells["frequency_cpd"], DEVALOIS1982_SF_EDGES)
    assert stats.kstest(position, "uniform").pvalue > ACCEPT_P


# ---------------------------------------------------------------------------------------------
# Orientation and phase
# ---------------------------------------------------------------------------------------------


def orientation_bins(orientation_deg: np.ndarray) -> np.ndarray:
    """0 .. 3: the nearest of 0 / 45 / 90 / 135 deg, 180 wrapping to 0."""
    return np.rint(orientation_deg / 45.0).astype(int) % 4


def test_orientation_bins_match_oblique_effect(cells):
    assert ((cells["orientation_deg"] >= 0) & (cells["orientation_deg"] < 180)).all()
    observed = np.bincount(orientation_bins(cells["orientation_deg"]), minlength=4)
    assert chisquare_p(observed, np.array(DEVALOIS1982_ORIENTATION_COUNTS)) > ACCEPT_P


def test_orientation_chisquare_rejects_isotropy(cells):
    observed = np.bincount(orientation_bins(cells["orientation_deg"]), minlength=4)
    assert chisquare_p(observed, np.ones(4)) < ACCEPT_P


def test_orientation_uniform_within_its_bin(cells):
    offset = (cells["orientation_deg"] + 22.5) % 45.0  # 0 .. 45 across each bin
    assert stats.kstest(offset, stats.uniform(0, 45).cdf).pvalue > ACCEPT_P


def test_uniform_orientation_rule_is_isotropic(isotropic_cells):
    orientation = isotropic_cells["orientation_deg"]
    assert stats.kstest(orientation, stats.uniform(0, 180).cdf).pvalue > ACCEPT_P
    observed = np.bincount(orientation_bins(orientation), minlength=4)
    assert chisquare_p(observed, np.array(DEVALOIS1982_ORIENTATION_COUNTS)) < ACCEPT_P


def test_phases_are_even_or_odd_with_either_sign(cells):
    quarter_turns = cells["phase"] / (math.pi / 2)
    np.testing.assert_array_equal(quarter_turns, np.rint(quarter_turns))
    observed = np.bincount(np.rint(quarter_turns).astype(int), minlength=4)
    assert observed.shape == (4,)
    assert chisquare_p(observed, np.ones(4)) > ACCEPT_P
    assert chisquare_p(observed, np.array([2, 1, 2, 1])) < ACCEPT_P  # even twice as common: rejected


def test_uniform_phase_rule(isotropic_cells):
    phase = isotropic_cells["phase"]
    assert stats.kstest(phase, stats.uniform(0, 2 * math.pi).cdf).pvalue > ACCEPT_P
    assert stats.kstest(phase, stats.uniform(0, 1.9 * math.pi).cdf).pvalue < ACCEPT_P


def test_parameters_are_float64_vectors():
    params = draw_gabor_parameters(7, gen())
    assert set(params) == {"nx", "ny", "frequency_cpd", "orientation_deg", "phase"}
    for value in params.values():
        assert value.shape == (7,) and value.dtype == torch.float64


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def one_cell(nx: float, ny: float, frequency_cpd: float, orientation_deg: float, phase: float) -> dict:
    return {
        key: torch.tensor([value], dtype=torch.float64)
        for key, value in zip(
            ("nx", "ny", "frequency_cpd", "orientation_deg", "phase"),
            (nx, ny, frequency_cpd, orientation_deg, phase),
            strict=True,
        )
    }


def test_horizontal_bars_match_hand_computed_gabor():
    """nx 0.5, ny 0.8, 5.6 c/deg at 22.4 px/deg: f = 0.25 cycles/px, sigma_x = 2 px, sigma_y = 3.2 px.
    Horizontal bars modulate along y (up); pixel (row, col) is at x = col - 2, y = 2 - row."""
    kernel = render_gabor_kernels(one_cell(0.5, 0.8, 5.6, 0.0, 0.0), 5, 22.4)[0]
    assert kernel[2, 2] == pytest.approx(1.0)
    assert kernel[0, 2] == pytest.approx(math.exp(-(2**2) / (2 * 2**2)) * math.cos(math.pi))  # x' = 2: -0.607
    assert kernel[2, 0] == pytest.approx(math.exp(-(2**2) / (2 * 3.2**2)))  # y' = -2, x' = 0
    assert kernel[1, 1] == pytest.approx(math.exp(-1 / 8 - 1 / (2 * 3.2**2)) * math.cos(math.pi / 2), abs=1e-15)
    torch.testing.assert_close(kernel, kernel.flip(1))  # horizontal bars: mirror-symmetric left-right


def test_oblique_odd_gabor_matches_hand_computed():
    """45 deg bars, phase pi/2 (odd): x' = (y - x) / sqrt 2 and y' = (x + y) / sqrt 2."""
    nx, ny, cpd, ppd = 0.4, 0.6, 3.0, 10.0
    kernel = render_gabor_kernels(one_cell(nx, ny, cpd, 45.0, math.pi / 2), 7, ppd)[0]
    f = cpd / ppd
    sx, sy = nx / f, ny / f
    for row, col in [(0, 0), (1, 4), (5, 2), (3, 6)]:
        x, y = col - 3, 3 - row
        across, along = (y - x) / math.sqrt(2), (x + y) / math.sqrt(2)
        expected = math.exp(-(across**2) / (2 * sx**2) - along**2 / (2 * sy**2)) * math.cos(
            2 * math.pi * f * across + math.pi / 2
        )
        assert float(kernel[row, col]) == pytest.approx(expected, abs=1e-14)
    torch.testing.assert_close(kernel, -kernel.flip(0).flip(1))  # odd: antisymmetric about the centre


def test_even_and_odd_kernels_are_point_symmetric_and_antisymmetric():
    params = draw_gabor_parameters(400, gen(4))
    kernels = render_gabor_kernels(params, 5)
    even = torch.remainder(params["phase"], math.pi) == 0
    rotated = kernels.flip(1).flip(2)
    torch.testing.assert_close(kernels[even], rotated[even])
    torch.testing.assert_close(kernels[~even], -rotated[~even])


@pytest.mark.parametrize("normalise", ["l2", "peak", "none"])
def test_normalisation(normalise):
    kernels = draw(50, 3, normalise=normalise, channel_mode="independent").double()
    flat = kernels.reshape(50, -1)
    if normalise == "l2":
        torch.testing.assert_close(flat.norm(dim=1), torch.ones(50, dtype=torch.float64))
    elif normalise == "peak":
        torch.testing.assert_close(flat.abs().amax(dim=1), torch.ones(50, dtype=torch.float64))
    else:
        assert flat.abs().max() <= 1.0


def test_default_is_the_unit_l2_rendering_of_the_drawn_parameters():
    kernels = draw(20, 1, size=7, seed=9)
    rendered = render_gabor_kernels(draw_gabor_parameters(20, gen(9)), 7)
    expected = (rendered / rendered.reshape(20, -1).norm(dim=1)[:, None, None]).float()
    torch.testing.assert_close(kernels[:, 0], expected)


def test_zero_filters_stay_zero():
    """A 1x1 odd-phase kernel is cos(pi/2) = 6e-17: normalised, it is 0, not +-1."""
    kernels = draw(200, 1, size=1)
    values = kernels.ravel()
    assert set(values.abs().unique().tolist()) == {0.0, 1.0}
    assert torch.equal(normalise_filters(torch.zeros(2, 1, 3, 3), "l2"), torch.zeros(2, 1, 3, 3))


def test_scale_multiplies():
    torch.testing.assert_close(draw(10, 2, scale=0.01), draw(10, 2) * 0.01)


# ---------------------------------------------------------------------------------------------
# Contract: shapes, channels, determinism, errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("sizes", [(7, 3, 5), (2, 1, 3), (4, 1, 7), (3, 3, 3), (5, 3, 7)])
def test_shape_dtype_device(preset, sizes):
    weights = sample_kernels("gabor_v1", *sizes, gen(), preset=preset)
    assert weights.shape == (sizes[0], sizes[1], sizes[2], sizes[2])
    assert weights.dtype == torch.float32 and weights.device.type == "cpu"
    assert torch.isfinite(weights).all()


@pytest.mark.parametrize("preset", PRESETS)
def test_same_seed_same_kernels_different_seed_different(preset):
    first = draw(16, 3, seed=7, preset=preset)
    assert torch.equal(first, draw(16, 3, seed=7, preset=preset))
    assert not torch.equal(first, draw(16, 3, seed=8, preset=preset))
    params = draw_gabor_parameters(16, gen(7))
    again = draw_gabor_parameters(16, gen(7))
    assert all(torch.equal(params[key], again[key]) for key in params)


def test_draws_only_from_the_generator():
    torch.manual_seed(0)
    first = draw(8, 3)
    torch.manual_seed(1)
    assert torch.equal(first, draw(8, 3))


def test_channel_modes():
    shared = draw(20, 3)  # default: shared (luminance)
    assert torch.equal(shared[:, 0], shared[:, 1]) and torch.equal(shared[:, 0], shared[:, 2])
    torch.testing.assert_close(shared[:, 0] * math.sqrt(3), draw(20, 1)[:, 0])  # unit L2 over all channels
    independent = draw(20, 3, channel_mode="independent")
    assert not torch.equal(independent[:, 0], independent[:, 1])


def test_presets():
    presets = get_sampler("gabor_v1").presets
    assert presets["biological"] == {}
    assert presets["isotropic"] == {"orientation_rule": "uniform", "phase_rule": "uniform"}


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, "22.4", True])
def test_bad_pixels_per_degree_names_the_fix(bad):
    with pytest.raises(ValueError, match=r"pixels_per_degree must be a positive, finite number .* default 22.4"):
        draw(2, pixels_per_degree=bad)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"channel_mode": "mixed"}, "unknown channel_mode 'mixed'; valid values are: shared, independent"),
        ({"normalise": "max"}, "unknown normalise 'max'; valid values are: l2, peak, none"),
        ({"phase_rule": "even"}, "unknown phase_rule 'even'; valid values are: even_odd, uniform"),
        ({"orientation_rule": "cardinal"}, "unknown orientation_rule 'cardinal'; valid values are: oblique_effect"),
        ({"scale": 0.0}, "scale must be a positive, finite factor, got 0.0"),
    ],
)
def test_invalid_params(params, message):
    with pytest.raises(ValueError, match=message):
        draw(2, 3, **params)


@pytest.mark.parametrize("bad", [0, -3, 2.0, True])
def test_draw_gabor_parameters_rejects_bad_n(bad):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        draw_gabor_parameters(bad, gen())
