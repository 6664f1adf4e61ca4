"""A kernel prior to evaluate: i.i.d. Laplace weights (heavier tails than the normal layer's).

python -m synthlib evaluate examples/laplace_sampler.py:laplace
python -m synthlib evaluate examples/laplace_sampler.py:laplace --param scale=0.5 --name laplace_half
"""

import torch


def laplace(out_channels, in_channels, size, generator, *, scale=1.0):
    """Laplace(0, scale) weights, drawn only from ``generator`` (inverse CDF of a uniform draw)."""
    u = torch.rand((out_channels, in_channels, size, size), generator=generator, dtype=torch.float64) - 0.5
    return (-scale * torch.sign(u) * torch.log1p(-2 * u.abs())).float()
