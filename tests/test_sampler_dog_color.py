"""The ``dog_color`` sampler: colour-opponent LGN DoG cells (P red/green, K blue/yellow, M luminance).

Every random draw uses a fixed seed, so the statistical tests are deterministic; p > 0.001 accepts
and p < 0.001 rejects, so a failure means a wrong mix, not bad luck.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from synthlib.samplers import get_sampler, sample_kernels
from synthlib.samplers.dog_color import (
    BLUE,
    CELL_TYPES,
    GREEN,
    RED,
    cell_kernels,
    cell_profile,
    cell_type_probabilities,
    draw_cells,
    render_cells,
)

ACCEPT_P = 1e-3
GAIN = 0.55
N_CELLS = 20_000
PRESETS = [None, *sorted(get_sampler("dog_color").presets)]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def draw(out_channels: int, in_channels: int = 3, size: int = 5, seed: int = 0, **params) -> torch.Tensor:
    return sample_kernels("dog_color", out_channels, in_channels, size, gen(seed), **params)


def kernels_of_type(cell_type: str, n: int = 400, in_channels: int = 3, **params) -> torch.Tensor:
    """Noiseless kernels of the cells of ``cell_type`` among ``n`` draws (types read off the same seed)."""
    kernels = draw(n, in_channels, seed=5, noise_std=0.0, **params).double()
    cells = draw_cells(n, gen(5))
    return kernels[cells.types == CELL_TYPES.index(cell_type)]


# --- the contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("sizes", [(7, 3, 5), (2, 1, 3), (4, 3, 7), (3, 1, 7)])
def test_shape_dtype_device(preset, sizes):
    weights = sample_kernels("dog_color", *sizes, gen(), preset=preset)
    assert weights.shape == (sizes[0], sizes[1], sizes[2], sizes[2])
    assert weights.dtype == torch.float32 and weights.device.type == "cpu"
    assert torch.isfinite(weights).all()


@pytest.mark.parametrize("preset", PRESETS)
def test_same_seed_same_kernels_different_seed_different(preset):
    first = draw(16, seed=7, preset=preset)
    assert torch.equal(first, draw(16, seed=7, preset=preset))
    assert not torch.equal(first, draw(16, seed=8, preset=preset))


def test_sampler_renders_the_drawn_cells():
    """The sampler's kernels are ``render_cells`` of ``draw_cells`` from the same generator state."""
    cells = draw_cells(64, gen(3))
    expected = render_cells(cells, 3, 5).float()
    assert torch.equal(draw(64, seed=3), expected)


def test_noise_is_added_on_top_of_the_cells():
    clean = draw(2000, seed=4)
    noisy = draw(2000, seed=4, preset="noisy")
    residual = (noisy - clean).double().numpy().ravel()  # the type and sign draws come first, so they agree
    assert stats.kstest(residual, stats.norm(0, 0.1).cdf).pvalue > ACCEPT_P
    assert stats.kstest(residual, stats.norm(0, 0.11).cdf).pvalue < ACCEPT_P


# --- colour opponency -------------------------------------------------------------------------


@pytest.mark.parametrize(("cell_type", "centre", "surround"), [("red_green", RED, GREEN), ("green_red", GREEN, RED)])
def test_red_green_centre_and_surround_have_opposite_signs(cell_type, centre, surround):
    kernels = kernels_of_type(cell_type)
    assert len(kernels) > 50
    centre_pixel = kernels[:, centre, 2, 2]
    assert (centre_pixel.abs() == 1).all()  # peak-normalised, the peak is the centre
    assert (torch.sign(kernels[:, surround, 0, 0]) == -torch.sign(centre_pixel)).all()
    assert (torch.sign(kernels[:, surround].sum(dim=(1, 2))) == -torch.sign(kernels[:, centre].sum(dim=(1, 2)))).all()
    assert (kernels[:, BLUE] == 0).all()


def test_blue_yellow_centre_opposes_red_and_green():
    kernels = kernels_of_type("blue_yellow")
    assert len(kernels) > 10
    blue = torch.sign(kernels[:, BLUE, 2, 2])
    for channel in (RED, GREEN):
        assert (torch.sign(kernels[:, channel, 2, 2]) == -blue).all()
        assert (torch.sign(kernels[:, channel].sum(dim=(1, 2))) == -blue).all()
    torch.testing.assert_close(kernels[:, RED], kernels[:, GREEN], rtol=0, atol=0)  # yellow = (R + G) / 2


def test_magno_cells_see_luminance():
    kernels = kernels_of_type("magno")
    assert len(kernels) > 10
    assert torch.equal(kernels[:, RED], kernels[:, GREEN]) and torch.equal(kernels[:, RED], kernels[:, BLUE])
    assert (torch.sign(kernels[:, RED, 2, 2]) == -torch.sign(kernels[:, RED, 0, 0])).all()  # centre vs surround


@pytest.mark.parametrize(
    ("cell_type", "centre", "surround"), [("red_green", [RED], [GREEN]), ("blue_yellow", [BLUE], [RED, GREEN])]
)
def test_sampled_opponent_surround_gain_is_0_55(cell_type, centre, surround):
    """Centre and surround lie on different channels, so their integrals are read off the kernel."""
    kernels = kernels_of_type(cell_type)
    ratio = kernels[:, surround].sum(dim=(1, 2, 3)) / kernels[:, centre].sum(dim=(1, 2, 3))
    torch.testing.assert_close(ratio, torch.full_like(ratio, -GAIN), rtol=0, atol=1e-6)


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_every_profile_has_unit_centre_and_0_55_surround(cell_type):
    """Over the footprint and the channels: centre + surround = 1 - 0.55, centre alone = 1."""
    with_surround = cell_profile(cell_type, 5)
    centre_only = cell_profile(cell_type, 5, surround_gain=0.0)
    assert float(centre_only.sum()) == pytest.approx(1.0, abs=1e-12)
    gain = float((centre_only - with_surround).sum() / centre_only.sum())
    assert gain == pytest.approx(GAIN, abs=1e-12)
    assert float(with_surround.sum()) == pytest.approx(1 - GAIN, abs=1e-12)


def test_magno_centre_is_wider_than_parvo():
    """M centres have twice the P radius: the M kernel's centre falls off more slowly."""
    table = cell_kernels(3, 7)
    parvo, magno = table[CELL_TYPES.index("red_green"), RED], table[CELL_TYPES.index("magno"), RED]
    assert magno[3, 4] > parvo[3, 4] > 0


def test_grayscale_is_the_channel_sum():
    rgb = cell_kernels(3, 5)
    gray = cell_kernels(1, 5)
    summed = rgb.sum(dim=1, keepdim=True)
    torch.testing.assert_close(gray, summed / summed.abs().amax(dim=(1, 2, 3), keepdim=True), rtol=0, atol=1e-12)
    torch.testing.assert_close(gray[0], gray[1], rtol=0, atol=0)  # red_green and green_red look alike in gray
    assert (gray[:, 0, 2, 2] == 1).all()  # every ON cell has a positive luminance centre


# --- the mix and the polarities ---------------------------------------------------------------


def type_counts(seed: int = 0, **fractions: float) -> np.ndarray:
    cells = draw_cells(N_CELLS, gen(seed), **fractions)
    return np.bincount(cells.types.numpy(), minlength=len(CELL_TYPES))


def test_drawn_cell_types_match_the_stated_mix():
    expected = cell_type_probabilities().numpy() * N_CELLS
    np.testing.assert_allclose(expected / N_CELLS, [0.4, 0.4, 0.1, 0.1])
    assert stats.chisquare(type_counts(), expected).pvalue > ACCEPT_P


def test_chi_squared_rejects_a_wrong_mix():
    wrong = cell_type_probabilities(parvo_fraction=0.85, magno_fraction=0.075, konio_fraction=0.075).numpy()
    assert stats.chisquare(type_counts(), wrong * N_CELLS).pvalue < ACCEPT_P


def test_mix_is_a_parameter():
    counts = type_counts(parvo_fraction=0.0, magno_fraction=1.0, konio_fraction=0.0)
    assert counts.tolist() == [0, 0, 0, N_CELLS]


def test_on_and_off_centres_are_balanced():
    kernels = draw(N_CELLS, 1, seed=2).double()
    on = int((kernels[:, 0, 2, 2] > 0).sum())
    assert 0 < on < N_CELLS
    assert stats.binomtest(on, N_CELLS, 0.5).pvalue > ACCEPT_P
    cells = draw_cells(N_CELLS, gen(2))
    assert on == int((cells.signs == 1).sum())


def test_binomial_test_rejects_an_unfair_sign():
    on = int((draw_cells(N_CELLS, gen(2)).signs == 1).sum())
    assert stats.binomtest(on, N_CELLS, 0.52).pvalue < ACCEPT_P


# --- bad inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_channels", "params", "message"),
    [
        (2, {}, r"in_channels 1 \(grayscale\) or 3 \(RGB.*got 2; convert the images to grayscale or RGB"),
        (3, {"parvo_fraction": 0.9}, r"must sum to 1, got 1.1; rescale them"),
        (3, {"magno_fraction": -0.1, "parvo_fraction": 1.0}, r"magno_fraction must lie in \[0, 1\], got -0.1"),
        (3, {"parvo_center_sigma": 0.0}, "parvo_center_sigma must be positive, got 0.0"),
        (3, {"magno_surround_ratio": -1.0}, "magno_surround_ratio must be positive"),
        (3, {"surround_gain": -0.5}, "surround_gain must be >= 0"),
        (3, {"noise_std": -0.1}, "noise_std must be >= 0"),
        (1, {"surround_gain": 1.0, "konio_surround_ratio": 1.0}, "cancels the centre exactly for blue_yellow;"),
    ],
)
def test_bad_inputs_name_the_fix(in_channels, params, message):
    with pytest.raises(ValueError, match=message):
        draw(4, in_channels, **params)


def test_unknown_cell_type():
    with pytest.raises(ValueError, match="unknown cell type 'parasol'; valid types are: red_green"):
        cell_profile("parasol", 5)
