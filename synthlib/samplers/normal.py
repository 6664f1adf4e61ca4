"""Independent Gaussian weights: the paper's "Normal" column."""

from __future__ import annotations

import torch

from synthlib.samplers.registry import register_sampler


@register_sampler(
    "normal",
    presets={
        # Karimi et al. 2017, text: "w ~ N(0, 1)".
        "paper_text": {"sigma": 1.0},
        # The authors' MatConvNet code drew 0.01 * N(0, 1) (STUDY_BRIEF section 2).
        "authors_code": {"sigma": 0.01},
    },
)
def normal(
    out_channels: int, in_channels: int, size: int, generator: torch.Generator, *, sigma: float = 1.0
) -> torch.Tensor:
    """I.i.d. N(0, sigma^2) weights; sigma = 1 as the paper's text states.

    Not a biological model: the paper's control for the two biologically motivated samplers.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    shape = (out_channels, in_channels, size, size)
    return torch.randn(shape, generator=generator, dtype=torch.float64).mul_(sigma).float()
