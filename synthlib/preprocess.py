"""Turning uint8 ``(N, H, W, C)`` images into float ``(N, C, H, W)`` network inputs.

The paper states no input normalisation, so it is a hyperparameter chosen on the validation split:

- ``"unit"``: pixels divided by 255, into [0, 1];
- ``"standardize"``: then per channel, minus the mean and divided by the std of the *training
  subset* (the few-shot images only, never validation or test images).
"""

from __future__ import annotations

import numpy as np
import torch

INPUT_NORMS = ("unit", "standardize")


def to_unit_tensor(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 ``(N, H, W, C)`` -> float32 ``(N, C, H, W)`` in [0, 1], converted once on ``device``."""
    tensor = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return tensor.permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def channel_stats(train_images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of ``(N, C, H, W)`` training images, shaped ``(1, C, 1, 1)``."""
    mean = train_images.mean(dim=(0, 2, 3), keepdim=True)
    std = train_images.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return mean, std


def normalise(images: torch.Tensor, train_images: torch.Tensor, input_norm: str) -> torch.Tensor:
    """Apply ``input_norm`` to ``images`` with statistics from ``train_images`` (both unit-scaled)."""
    if input_norm == "unit":
        return images
    if input_norm == "standardize":
        mean, std = channel_stats(train_images)
        return (images - mean) / std
    raise ValueError(f"unknown input_norm {input_norm!r}; valid values are: {', '.join(INPUT_NORMS)}")
