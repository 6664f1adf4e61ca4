r"""Colour-opponent LGN kernels: difference-of-Gaussians cells of the P, M and K pathways.

Each kernel is one LGN relay cell, a difference of Gaussians (Rodieck 1965, Vision Res 5:583)

.. math::

    w = s\,\kappa\,\bigl(G_{\sigma_c} \otimes c - g\,G_{r\sigma_c} \otimes u\bigr) + \varepsilon

where :math:`G_\sigma` is a 2-D Gaussian sampled on the ``size x size`` grid and normalised to unit
sum, :math:`c` and :math:`u` are the colour weights (over R, G, B) of centre and surround,
:math:`g` the integrated surround/centre gain, :math:`r` the surround/centre radius ratio,
:math:`s = \pm 1` the polarity (ON- or OFF-centre, equally likely), :math:`\kappa` scales the
kernel to a largest absolute weight of 1, and :math:`\varepsilon` is optional i.i.d. normal noise.

Cell types (input channels in the order R, G, B):

- ``red_green``: P cell, single-opponent L-M: centre on R, surround on G with the opposite sign
  (Wiesel & Hubel 1966 type I, J Neurophysiol 29:1115), centre :math:`c = (1, 0, 0)`,
  surround :math:`u = (0, 1, 0)`;
- ``green_red``: the mirrored P cell, centre on G, surround on R;
- ``blue_yellow``: S-(L+M): centre on B, surround on (R+G)/2 with the opposite sign,
  :math:`c = (0, 0, 1)`, :math:`u = (1/2, 1/2, 0)`;
- ``magno``: M cell, luminance ON/OFF: the same DoG on R, G and B with equal weights 1/3.

Biological numbers:

- surround/centre radius ratio 6.7 for P cells and 4.8 for M cells, integrated surround/centre
  gain 0.55 for both (so the field is *not* zero-sum), M centres twice the radius of P centres
  (Croner & Kaplan 1995, Vision Res 35:7, macaque);
- blue-ON cells have centre and surround of the same extent (Wiesel & Hubel 1966 type II, cells
  opponent in colour without a spatial centre/surround), so the ``blue_yellow`` surround ratio is
  1 by default;
- the mix of cell types: P (midget) cells about 80% of the relay cells, M (parasol) about 10%
  and K (koniocellular) about 10%: the rounded split usually quoted (Perry, Oehler & Cowey 1984,
  Neuroscience 12:1101, for the ganglion cells; Hendry & Reid 2000, Annu Rev Neurosci 23:127,
  for K cells being about as many as M cells); rounded, and to be checked against those papers'
  tables before the percentages are quoted. All K cells are drawn as ``blue_yellow``, which is
  a simplification: only part of the K population is blue/yellow opponent;
- ON- and OFF-centre cells in equal numbers.

Stated choices, not measurements: P cells are half ``red_green`` and half ``green_red`` (both
L-centre and M-centre midget cells exist; equal numbers is the simplest rule); the K centre has
the P centre's radius; the gain 0.55 is carried over to ``blue_yellow`` cells.

Not biological, and stated as such: the pixel scale. There is no pixels-per-degree in the paper,
so the P centre's sigma is 0.5 px (the centre covers about one pixel, as in ``center_surround``)
and the M centre's 1 px. The surrounds, 6.7 x 0.5 = 3.35 px (P) and 4.8 x 1 = 4.8 px (M), are
far wider than a 5x5 footprint: they are truncated to it, and nearly flat on it. Both Gaussians
are normalised to unit sum *over the footprint*, so the gain 0.55 is imposed over the kernel as
``center_surround`` does, not over the cell's full field.

Noise: none by default, so each kernel is its cell type's profile exactly and the sampling is of
cell types and polarities only. An RGB layer then holds at most eight distinct kernels (four
types, two polarities) and a grayscale layer at most six (``red_green`` and ``green_red`` sum to
the same DoG), so a frozen layer of many kernels is mostly copies. ``noise_std`` adds i.i.d.
normal noise per synapse, relative to the peak of 1 (not biological); the ``noisy`` preset uses
0.1, ``center_surround``'s level, which is larger than a P cell's surround weight per pixel
(about 0.04 after truncation), so it hides the P surround pixel by pixel.

Grayscale input (``in_channels == 1``, e.g. MNIST): each cell's kernel is the sum of its R, G and
B slices, i.e. what the cell sees of a gray image. P cells then become luminance DoGs of the P
size, M cells of the M size, and ``blue_yellow`` cells a centre blob of weight 1 - 0.55 (their
surround is co-extensive). The same mix is drawn. Other channel counts are refused: the colour
weights are defined for R, G, B only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synthlib.samplers.center_surround import CRONER_KAPLAN_SURROUND_GAIN, _unit_sum_gaussian
from synthlib.samplers.registry import register_sampler

CRONER_KAPLAN_PARVO_SURROUND_RATIO = 6.7
"""Surround/centre radius ratio of macaque P cells (Croner & Kaplan 1995, Vision Res 35:7)."""
CRONER_KAPLAN_MAGNO_SURROUND_RATIO = 4.8
"""Surround/centre radius ratio of macaque M cells (Croner & Kaplan 1995)."""
MAGNO_CENTER_SCALE = 2.0
"""M centre radius / P centre radius: M centres are about twice P's (Croner & Kaplan 1995)."""
KONIO_SURROUND_RATIO = 1.0
"""Blue-ON centre and surround are co-extensive (Wiesel & Hubel 1966, type II)."""
PARVO_CENTER_SIGMA_PX = 0.5
"""P centre sigma in pixels: not biological; the centre covers about one pixel."""

PARVO_FRACTION = 0.8
"""P (midget) share of LGN relay cells, about 80% (Perry, Oehler & Cowey 1984; rounded)."""
MAGNO_FRACTION = 0.1
"""M (parasol) share, about 10% (Perry, Oehler & Cowey 1984; rounded)."""
KONIO_FRACTION = 0.1
"""K share, about 10%, about as many as M cells (Hendry & Reid 2000; rounded)."""
NOISE_STD = 0.0
"""Additive i.i.d. noise, relative to a peak of 1: none by default (not biological)."""

CELL_TYPES = ("red_green", "green_red", "blue_yellow", "magno")
"""The cell types, in the order of ``CellDraw.types``'s indices."""
RGB_CHANNELS = 3
RED, GREEN, BLUE = 0, 1, 2
_FRACTION_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CellDraw:
    """The cells behind a layer of kernels: ``types`` indexes ``CELL_TYPES``, ``signs`` is +1 for an
    ON-centre and -1 for an OFF-centre cell; both int64 tensors of length ``out_channels``."""

    types: torch.Tensor
    signs: torch.Tensor


def cell_type_probabilities(
    parvo_fraction: float = PARVO_FRACTION,
    magno_fraction: float = MAGNO_FRACTION,
    konio_fraction: float = KONIO_FRACTION,
) -> torch.Tensor:
    """Probabilities of the ``CELL_TYPES``, float64: P split equally into ``red_green`` and
    ``green_red``, K as ``blue_yellow``, M as ``magno``."""
    fractions = {"parvo_fraction": parvo_fraction, "magno_fraction": magno_fraction, "konio_fraction": konio_fraction}
    for label, value in fractions.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{label} must lie in [0, 1], got {value}")
    total = parvo_fraction + magno_fraction + konio_fraction
    if abs(total - 1.0) > _FRACTION_TOLERANCE:
        raise ValueError(
            f"parvo_fraction + magno_fraction + konio_fraction must sum to 1, got {total}; rescale them so they do"
        )
    return torch.tensor([parvo_fraction / 2, parvo_fraction / 2, konio_fraction, magno_fraction], dtype=torch.float64)


def draw_cells(
    n_cells: int,
    generator: torch.Generator,
    *,
    parvo_fraction: float = PARVO_FRACTION,
    magno_fraction: float = MAGNO_FRACTION,
    konio_fraction: float = KONIO_FRACTION,
) -> CellDraw:
    """The type and polarity of ``n_cells`` cells drawn from ``generator``: types from the mix,
    then an independent fair ON/OFF sign per cell."""
    probabilities = cell_type_probabilities(parvo_fraction, magno_fraction, konio_fraction)
    types = torch.multinomial(probabilities, n_cells, replacement=True, generator=generator)
    signs = torch.randint(0, 2, (n_cells,), generator=generator) * 2 - 1
    return CellDraw(types=types, signs=signs)


def cell_profile(
    cell_type: str,
    size: int,
    *,
    parvo_center_sigma: float = PARVO_CENTER_SIGMA_PX,
    magno_center_sigma: float = MAGNO_CENTER_SCALE * PARVO_CENTER_SIGMA_PX,
    parvo_surround_ratio: float = CRONER_KAPLAN_PARVO_SURROUND_RATIO,
    magno_surround_ratio: float = CRONER_KAPLAN_MAGNO_SURROUND_RATIO,
    konio_surround_ratio: float = KONIO_SURROUND_RATIO,
    surround_gain: float = CRONER_KAPLAN_SURROUND_GAIN,
) -> torch.Tensor:
    """The ON-centre R, G, B profile of one cell type, a float64 ``(3, size, size)`` tensor before
    peak normalisation: over the footprint and the channels its centre sums to 1 and its surround
    to ``-surround_gain``."""
    for label, value in (
        ("parvo_center_sigma", parvo_center_sigma),
        ("magno_center_sigma", magno_center_sigma),
        ("parvo_surround_ratio", parvo_surround_ratio),
        ("magno_surround_ratio", magno_surround_ratio),
        ("konio_surround_ratio", konio_surround_ratio),
    ):
        if not value > 0:
            raise ValueError(f"{label} must be positive, got {value}")
    if not surround_gain >= 0:
        raise ValueError(f"surround_gain must be >= 0, got {surround_gain}")
    profile = torch.zeros((RGB_CHANNELS, size, size), dtype=torch.float64)
    parvo_center = _unit_sum_gaussian(size, parvo_center_sigma)
    if cell_type in ("red_green", "green_red"):
        centre_channel, surround_channel = (RED, GREEN) if cell_type == "red_green" else (GREEN, RED)
        profile[centre_channel] = parvo_center
        profile[surround_channel] = -surround_gain * _unit_sum_gaussian(size, parvo_center_sigma * parvo_surround_ratio)
    elif cell_type == "blue_yellow":
        profile[BLUE] = parvo_center
        yellow = -surround_gain * _unit_sum_gaussian(size, parvo_center_sigma * konio_surround_ratio) / 2
        profile[RED] = yellow
        profile[GREEN] = yellow
    elif cell_type == "magno":
        dog = _unit_sum_gaussian(size, magno_center_sigma) - surround_gain * _unit_sum_gaussian(
            size, magno_center_sigma * magno_surround_ratio
        )
        profile[:] = dog / RGB_CHANNELS
    else:
        raise ValueError(f"unknown cell type {cell_type!r}; valid types are: {', '.join(CELL_TYPES)}")
    return profile


def cell_kernels(in_channels: int, size: int, **geometry: float) -> torch.Tensor:
    """The ON-centre kernel of every ``CELL_TYPES`` entry, float64 ``(4, in_channels, size, size)``,
    each scaled to a largest absolute weight of 1. ``in_channels`` 3 keeps R, G, B; 1 sums them
    (the cell's response to a gray image). ``geometry``: ``cell_profile``'s keyword arguments."""
    if in_channels not in (1, RGB_CHANNELS):
        raise ValueError(
            f"dog_color needs in_channels 1 (grayscale) or 3 (RGB, in the order R, G, B), got {in_channels}; "
            "convert the images to grayscale or RGB"
        )
    table = torch.stack([cell_profile(cell_type, size, **geometry) for cell_type in CELL_TYPES])
    if in_channels == 1:
        table = table.sum(dim=1, keepdim=True)
    peaks = table.abs().amax(dim=(1, 2, 3), keepdim=True)
    if (peaks == 0).any():
        empty = [CELL_TYPES[i] for i in torch.nonzero(peaks.reshape(-1) == 0).reshape(-1).tolist()]
        raise ValueError(
            f"the surround cancels the centre exactly for {', '.join(empty)}; use surround_gain < 1 "
            "or a surround ratio other than 1"
        )
    return table / peaks


def render_cells(cells: CellDraw, in_channels: int, size: int, **geometry: float) -> torch.Tensor:
    """The noiseless kernels of ``cells``: each cell's type kernel times its sign, float64
    ``(len(cells.types), in_channels, size, size)``."""
    table = cell_kernels(in_channels, size, **geometry)
    return table[cells.types] * cells.signs.to(torch.float64).reshape(-1, 1, 1, 1)


@register_sampler("dog_color", presets={"biological": {}, "noisy": {"noise_std": 0.1}})
def dog_color(
    out_channels: int,
    in_channels: int,
    size: int,
    generator: torch.Generator,
    *,
    parvo_fraction: float = PARVO_FRACTION,
    magno_fraction: float = MAGNO_FRACTION,
    konio_fraction: float = KONIO_FRACTION,
    parvo_center_sigma: float = PARVO_CENTER_SIGMA_PX,
    magno_center_sigma: float = MAGNO_CENTER_SCALE * PARVO_CENTER_SIGMA_PX,
    parvo_surround_ratio: float = CRONER_KAPLAN_PARVO_SURROUND_RATIO,
    magno_surround_ratio: float = CRONER_KAPLAN_MAGNO_SURROUND_RATIO,
    konio_surround_ratio: float = KONIO_SURROUND_RATIO,
    surround_gain: float = CRONER_KAPLAN_SURROUND_GAIN,
    noise_std: float = NOISE_STD,
    scale: float = 1.0,
) -> torch.Tensor:
    """Colour-opponent LGN DoG cells: P red/green, K blue/yellow and M luminance, ON or OFF centre.

    Defaults: 80% P, 10% M, 10% K cells; surround/centre radius ratio 6.7 (P) and 4.8 (M), gain
    0.55, M centres twice P's (Croner & Kaplan 1995); P centre sigma 0.5 px (not biological);
    no noise (``noise_std``, relative to the peak, is not biological). RGB input in R, G, B order, or grayscale; see the
    module docstring for the cell types and the stated choices.
    """
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    geometry = {
        "parvo_center_sigma": parvo_center_sigma,
        "magno_center_sigma": magno_center_sigma,
        "parvo_surround_ratio": parvo_surround_ratio,
        "magno_surround_ratio": magno_surround_ratio,
        "konio_surround_ratio": konio_surround_ratio,
        "surround_gain": surround_gain,
    }
    cells = draw_cells(
        out_channels,
        generator,
        parvo_fraction=parvo_fraction,
        magno_fraction=magno_fraction,
        konio_fraction=konio_fraction,
    )
    kernels = render_cells(cells, in_channels, size, **geometry)
    if noise_std > 0:
        shape = (out_channels, in_channels, size, size)
        kernels = kernels + noise_std * torch.randn(shape, generator=generator, dtype=torch.float64)
    return (kernels * scale).float().contiguous()
