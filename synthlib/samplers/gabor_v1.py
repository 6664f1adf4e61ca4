r"""Gabor kernels with the parameters of macaque V1 simple cells: the ``gabor_v1`` sampler.

Each kernel is a Gabor function sampled at integer pixel positions around the kernel's centre,

.. math::

    G(x, y) = \exp\!\Bigl(-\frac{x'^2}{2\sigma_x^2} - \frac{y'^2}{2\sigma_y^2}\Bigr)\,
              \cos(2\pi f x' + \phi), \qquad
    \sigma_x = n_x / f, \quad \sigma_y = n_y / f,

where :math:`x'` runs along the carrier's direction of modulation (across the bars) and
:math:`y'` along the bars, as in Ringach's convention: :math:`n_x` and :math:`n_y` are the
envelope's widths in cycles of the carrier. Pixel ``(row, col)`` of a ``size x size`` kernel sits
at :math:`x = \mathrm{col} - c`, :math:`y = c - \mathrm{row}` with :math:`c = (\mathrm{size} - 1)/2`
(y up, as the kernel is displayed). A cell's preferred orientation :math:`\theta` is the
orientation of its bars, anticlockwise from horizontal (0 deg horizontal bars, 90 deg vertical),
so :math:`x' = -x\sin\theta + y\cos\theta` and :math:`y' = x\cos\theta + y\sin\theta`.

Parameters are drawn from published macaque V1 measurements (STUDY_BRIEF section 5), each from
its histogram: a bin with probability count / N, then a value uniform in log within the bin.
The tables are the published histograms as tabulated for VOneNet (Dapello et al., NeurIPS 2020),
re-entered here from their numbers (VOneNet's code is not used); they have not been re-read off
the original papers' figures.

- :math:`(n_x, n_y)` jointly: Ringach 2002 (J Neurophysiol 88:455), ``RINGACH2002_NX_NY_COUNTS``,
  N = 79, on 5 log-spaced bins per axis from 0.1 to 1.58. The resulting medians are
  :math:`n_x` = 0.365 and :math:`n_y` = 0.444 (Ringach reports about 0.37 and 0.45).
- Preferred spatial frequency :math:`f`: De Valois, Albrecht & Thorell 1982 (Vision Res
  22:545), simple cells, ``DEVALOIS1982_SF_COUNTS``, N = 147, on 9 log-spaced bins from 0.5 to
  11.2 c/deg; the resulting median is 2.83 c/deg ("near 3 c/deg").
- Preferred orientation: De Valois, Yund & Hepler 1982 (oblique effect), 66 / 49 / 77 / 54 cells
  at 0 / 45 / 90 / 135 deg (``DEVALOIS1982_ORIENTATION_COUNTS``). Rule for a continuous angle
  (``orientation_rule="oblique_effect"``): one of the four bins with probability count / 246,
  then uniform within +-22.5 deg of its centre, taken modulo 180 deg. That the source's 0 deg
  means horizontal bars is the usual convention, assumed here; the data's asymmetry between the
  two cardinal bins (66 vs 77) is the only thing that convention decides.
  ``"uniform"`` (no oblique effect) is a control.
- Phase: Ringach 2002 finds the fields clustered into even- and odd-symmetric ones. Rule
  (``phase_rule="even_odd"``): :math:`\phi` uniform on {0, pi/2, pi, 3 pi/2}, i.e. even or odd
  symmetric with equal probability, times a fair ON/OFF sign (phase + pi flips the sign).
  ``"uniform"`` (phase uniform on [0, 2 pi)) is a control.

The four are drawn independently of each other: the sources measured them in different cells,
so no joint distribution of shape, frequency, orientation and phase is published.

Not biological, and stated as such:

- Pixels per degree. The network's images have no visual angle, so degrees are mapped to pixels
  by a rule: ``pixels_per_degree = 22.4`` puts the highest frequency bin edge, 11.2 c/deg, at the
  Nyquist limit of 0.5 cycles/pixel, so no cell's carrier aliases. The price is the footprint:
  the median cell (2.83 c/deg) has a period of 7.9 px and an envelope of sigma_x = 2.9 px,
  sigma_y = 3.5 px, wider than a 5x5 kernel (+-2 px), so a 5x5 kernel holds only the centre of
  a typical field, about half a period. The 35% of cells below 2.24 c/deg (period over 10 px,
  twice the kernel) become near-constant patches (even phase) or near-linear ramps (odd phase);
  the 7% below 1.12 c/deg (period over 20 px) are essentially luminance or gradient detectors.
  A smaller ``pixels_per_degree`` fits more of each field into the kernel but aliases the
  high-frequency cells (above ``pixels_per_degree / 2`` c/deg); this sampler renders them as
  sampled, without correction.
- Normalisation (``normalise``): the default ``"l2"`` scales each output channel's whole filter
  (all its input channels) to unit L2 norm, so every output channel has unit response variance to
  unit-variance white noise, however much of its Gabor the footprint cuts off. ``"peak"`` scales
  the largest absolute weight to 1 (``center_surround``'s convention); ``"none"`` keeps the
  Gabor's own amplitude (1 at the envelope's centre). ``scale`` multiplies the result.
- Colour (``channel_mode``): the measurements are with achromatic gratings and say nothing of
  colour, so the default ``"shared"`` puts the same Gabor on every input channel (a luminance
  cell); ``"independent"`` draws each input channel's Gabor independently, a control, not a
  model of double-opponent cells.
"""

from __future__ import annotations

import math

import torch

from synthlib.samplers.registry import register_sampler

RINGACH2002_NX_NY_COUNTS: tuple[tuple[int, ...], ...] = (
    (2, 0, 1, 0, 0),
    (8, 9, 4, 1, 0),
    (1, 2, 19, 17, 3),
    (0, 0, 1, 7, 4),
    (0, 0, 0, 0, 0),
)
"""Joint counts of simple cells by (n_x, n_y) bin, rows n_x, columns n_y, N = 79 (Ringach 2002,
J Neurophysiol 88:455)."""
RINGACH2002_EDGES: tuple[float, ...] = tuple(0.1 * (1.58 / 0.1) ** (k / 5) for k in range(6))
"""Bin edges of n_x and of n_y: 6 log-spaced values from 0.1 to 1.58 (Ringach 2002)."""
DEVALOIS1982_SF_COUNTS: tuple[int, ...] = (4, 4, 8, 25, 32, 26, 28, 12, 8)
"""Simple cells by preferred spatial frequency bin, N = 147 (De Valois, Albrecht & Thorell 1982,
Vision Res 22:545)."""
DEVALOIS1982_SF_EDGES: tuple[float, ...] = tuple(0.5 * (11.2 / 0.5) ** (k / 9) for k in range(10))
"""Bin edges of preferred spatial frequency in c/deg: 10 log-spaced values from 0.5 to 11.2."""
DEVALOIS1982_ORIENTATION_COUNTS: tuple[int, ...] = (66, 49, 77, 54)
"""Cells preferring 0 / 45 / 90 / 135 deg (De Valois, Yund & Hepler 1982): the oblique effect."""
ORIENTATION_BIN_CENTRES_DEG: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0)
ORIENTATION_HALF_WIDTH_DEG = 22.5

NYQUIST_PIXELS_PER_DEGREE = 2 * DEVALOIS1982_SF_EDGES[-1]
"""22.4: the pixels per degree that put 11.2 c/deg at 0.5 cycles/pixel. Not biological."""

PHASE_RULES = ("even_odd", "uniform")
ORIENTATION_RULES = ("oblique_effect", "uniform")
CHANNEL_MODES = ("shared", "independent")
NORMALISATIONS = ("l2", "peak", "none")
ZERO_FILTER_TOLERANCE = 1e-12
"""A filter with L2 norm (or peak) at most this is zero up to rounding; Gabor weights are at most 1."""


def _check_choice(label: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {label} {value!r}; valid values are: {', '.join(valid)}")


def _probabilities(counts: torch.Tensor) -> torch.Tensor:
    return counts.to(torch.float64) / counts.sum()


def _log_uniform_in_bins(bins: torch.Tensor, edges: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A value uniform in log between ``edges[bins]`` and ``edges[bins + 1]``, one per entry of ``bins``."""
    log_low, log_high = edges[bins].log(), edges[bins + 1].log()
    u = torch.rand(bins.shape, generator=generator, dtype=torch.float64)
    return torch.exp(log_low + u * (log_high - log_low))


def sample_log_histogram(counts: torch.Tensor, edges: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` draws from a histogram on log-spaced ``edges``: a bin with probability count / N, then
    a value uniform in log within it. ``counts`` has one entry per bin (``len(edges) - 1``)."""
    bins = torch.multinomial(_probabilities(counts), n, replacement=True, generator=generator)
    return _log_uniform_in_bins(bins, edges, generator)


def sample_nx_ny(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` draws of (n_x, n_y) from Ringach's joint table: a cell with probability count / 79,
    then n_x and n_y each uniform in log within the cell's row and column bins."""
    table = torch.tensor(RINGACH2002_NX_NY_COUNTS)
    edges = torch.tensor(RINGACH2002_EDGES, dtype=torch.float64)
    cells = torch.multinomial(_probabilities(table.reshape(-1)), n, replacement=True, generator=generator)
    n_columns = table.shape[1]
    nx = _log_uniform_in_bins(cells // n_columns, edges, generator)
    ny = _log_uniform_in_bins(cells % n_columns, edges, generator)
    return nx, ny


def sample_orientation_deg(n: int, generator: torch.Generator, rule: str = "oblique_effect") -> torch.Tensor:
    """``n`` preferred orientations in [0, 180) deg: with ``"oblique_effect"`` one of De Valois'
    four bins (count / 246), then uniform within +-22.5 deg of its centre; with ``"uniform"``
    uniform on [0, 180)."""
    _check_choice("orientation_rule", rule, ORIENTATION_RULES)
    if rule == "uniform":
        return torch.rand(n, generator=generator, dtype=torch.float64) * 180.0
    counts = torch.tensor(DEVALOIS1982_ORIENTATION_COUNTS)
    bins = torch.multinomial(_probabilities(counts), n, replacement=True, generator=generator)
    centres = torch.tensor(ORIENTATION_BIN_CENTRES_DEG, dtype=torch.float64)[bins]
    offsets = (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * ORIENTATION_HALF_WIDTH_DEG
    return torch.remainder(centres + offsets, 180.0)


def sample_phase(n: int, generator: torch.Generator, rule: str = "even_odd") -> torch.Tensor:
    """``n`` carrier phases in radians: with ``"even_odd"`` uniform on {0, pi/2, pi, 3 pi/2} (even
    or odd symmetric, ON or OFF); with ``"uniform"`` uniform on [0, 2 pi)."""
    _check_choice("phase_rule", rule, PHASE_RULES)
    if rule == "uniform":
        return torch.rand(n, generator=generator, dtype=torch.float64) * (2 * math.pi)
    quarter_turns = torch.multinomial(
        torch.full((4,), 0.25, dtype=torch.float64), n, replacement=True, generator=generator
    )
    return quarter_turns.to(torch.float64) * (math.pi / 2)


def draw_gabor_parameters(
    n: int, generator: torch.Generator, *, phase_rule: str = "even_odd", orientation_rule: str = "oblique_effect"
) -> dict[str, torch.Tensor]:
    """``n`` simple cells' parameters, each a float64 tensor of length ``n``: ``nx``, ``ny``
    (envelope widths in cycles), ``frequency_cpd`` (c/deg), ``orientation_deg`` (of the bars,
    [0, 180)) and ``phase`` (radians). Drawn only from ``generator``, in that order."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer number of cells, got {n!r}")
    _check_choice("phase_rule", phase_rule, PHASE_RULES)
    _check_choice("orientation_rule", orientation_rule, ORIENTATION_RULES)
    nx, ny = sample_nx_ny(n, generator)
    frequency = sample_log_histogram(
        torch.tensor(DEVALOIS1982_SF_COUNTS), torch.tensor(DEVALOIS1982_SF_EDGES, dtype=torch.float64), n, generator
    )
    orientation = sample_orientation_deg(n, generator, orientation_rule)
    phase = sample_phase(n, generator, phase_rule)
    return {"nx": nx, "ny": ny, "frequency_cpd": frequency, "orientation_deg": orientation, "phase": phase}


def _check_pixels_per_degree(pixels_per_degree: float) -> None:
    if isinstance(pixels_per_degree, bool) or not (
        isinstance(pixels_per_degree, (int, float)) and math.isfinite(pixels_per_degree) and pixels_per_degree > 0
    ):
        raise ValueError(
            f"pixels_per_degree must be a positive, finite number of pixels per degree of visual angle, "
            f"got {pixels_per_degree!r}; the default {NYQUIST_PIXELS_PER_DEGREE:g} puts 11.2 c/deg at 0.5 cycles/pixel"
        )


def render_gabor_kernels(
    params: dict[str, torch.Tensor], size: int, pixels_per_degree: float = NYQUIST_PIXELS_PER_DEGREE
) -> torch.Tensor:
    """The Gabors of ``params`` (as ``draw_gabor_parameters`` returns them) sampled on a
    ``size x size`` pixel grid: a float64 ``(n, size, size)`` tensor, unnormalised (1 at the
    envelope's centre). Frequencies convert as f [cycles/px] = f [c/deg] / ``pixels_per_degree``."""
    _check_pixels_per_degree(pixels_per_degree)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    frequency = (params["frequency_cpd"] / pixels_per_degree)[:, None, None]  # cycles per pixel
    sigma_x = params["nx"][:, None, None] / frequency
    sigma_y = params["ny"][:, None, None] / frequency
    theta = torch.deg2rad(params["orientation_deg"])[:, None, None]
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    x = offsets[None, None, :]  # column - centre
    y = -offsets[None, :, None]  # centre - row: y points up
    across = -x * torch.sin(theta) + y * torch.cos(theta)  # x': along the direction of modulation
    along = x * torch.cos(theta) + y * torch.sin(theta)  # y': along the bars
    envelope = torch.exp(-(across**2) / (2 * sigma_x**2) - along**2 / (2 * sigma_y**2))
    return envelope * torch.cos(2 * math.pi * frequency * across + params["phase"][:, None, None])


def normalise_filters(filters: torch.Tensor, normalise: str) -> torch.Tensor:
    """Scale each output channel's filter (``filters[i]``, all its input channels) to unit L2 norm
    (``"l2"``) or unit peak absolute weight (``"peak"``), or leave it (``"none"``).

    A filter whose norm or peak is at most ``ZERO_FILTER_TOLERANCE`` is zero up to rounding (an
    odd-phase 1x1 kernel is cos(pi/2), 6e-17, not 0) and becomes exactly zero instead of being
    blown up to unit size."""
    _check_choice("normalise", normalise, NORMALISATIONS)
    if normalise == "none":
        return filters
    flat = filters.reshape(filters.shape[0], -1)
    magnitude = flat.norm(dim=1) if normalise == "l2" else flat.abs().amax(dim=1)
    nonzero = magnitude > ZERO_FILTER_TOLERANCE
    factor = torch.where(nonzero, 1 / torch.where(nonzero, magnitude, torch.ones_like(magnitude)), 0.0)
    return filters * factor.reshape(-1, *([1] * (filters.dim() - 1)))


@register_sampler(
    "gabor_v1",
    presets={
        # Macaque V1 simple cells: Ringach 2002 (n_x, n_y), De Valois, Albrecht & Thorell 1982
        # (spatial frequency), De Valois, Yund & Hepler 1982 (orientation); even/odd phases.
        "biological": {},
        # Control: the same shapes and frequencies without the oblique effect or the phase clusters.
        "isotropic": {"orientation_rule": "uniform", "phase_rule": "uniform"},
    },
)
def gabor_v1(
    out_channels: int,
    in_channels: int,
    size: int,
    generator: torch.Generator,
    *,
    pixels_per_degree: float = NYQUIST_PIXELS_PER_DEGREE,
    phase_rule: str = "even_odd",
    orientation_rule: str = "oblique_effect",
    channel_mode: str = "shared",
    normalise: str = "l2",
    scale: float = 1.0,
) -> torch.Tensor:
    """Gabor kernels with macaque V1 simple-cell parameters (Ringach 2002; De Valois et al. 1982).

    (n_x, n_y) from Ringach's joint table, spatial frequency and orientation from De Valois'
    histograms, even/odd phases with random ON/OFF sign. Not biological: ``pixels_per_degree``
    (22.4 puts 11.2 c/deg at the Nyquist limit), the unit-L2 normalisation and the shared
    (luminance) colour rule; see the module docstring.
    """
    _check_pixels_per_degree(pixels_per_degree)
    _check_choice("channel_mode", channel_mode, CHANNEL_MODES)
    _check_choice("normalise", normalise, NORMALISATIONS)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive, finite factor, got {scale!r}")
    n_draws = out_channels * (in_channels if channel_mode == "independent" else 1)
    params = draw_gabor_parameters(n_draws, generator, phase_rule=phase_rule, orientation_rule=orientation_rule)
    kernels = render_gabor_kernels(params, size, pixels_per_degree).reshape(out_channels, -1, size, size)
    if channel_mode == "shared":
        kernels = kernels.expand(out_channels, in_channels, size, size)
    return (normalise_filters(kernels, normalise) * scale).float().contiguous()
