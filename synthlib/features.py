"""Features of a frozen conv: computed once per run, in chunks, optionally standardised.

A frozen method trains only the classifier head, so the conv's output for the run's training,
validation and test images is computed once (``extract_features``) and reused by every training
setting of that run's kernels (``FrozenFeatures``). ``FeatureScaler`` standardises features with
training-subset statistics (the ``sound`` protocol's ``feature_norm="standardize"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from synthlib.models import ArchitectureConfig, conv_features


@torch.no_grad()
def extract_features(
    images: torch.Tensor,
    kernels: torch.Tensor | Sequence[torch.Tensor],
    arch: ArchitectureConfig,
    batch_size: int = 64,
) -> torch.Tensor:
    """Frozen-conv features of ``images`` ``(N, C, H, W)``, computed in chunks of ``batch_size``
    (``kernels``: the one conv's weights, or every layer's for a deeper network).

    Chunks keep the full-resolution conv output (``batch_size`` x 64 x H x W floats, 16 MiB for
    64 CIFAR-10 images) in the CPU's cache between the convolution and the pooling: on the
    reference 2-core CPU 64 images per chunk run at about 3.5x the speed of 1000. Channels-last
    layout lets the CPU convolution use its fast path. Each chunk is copied into one preallocated
    ``(N, channels, side, side)`` tensor as it is made: the features exist once, not also as a list of
    chunks and a channels-last concatenation (CIFAR-10's test set under the authors' architecture:
    0.66 GB of features had cost 2.6 GB at the peak).
    """
    layers = [kernels] if isinstance(kernels, torch.Tensor) else list(kernels)
    kernels = [k.to(images.device).contiguous(memory_format=torch.channels_last) for k in layers]

    def chunk(start: int) -> torch.Tensor:
        return conv_features(
            images[start : start + batch_size].contiguous(memory_format=torch.channels_last), kernels, arch
        )

    first = chunk(0)  # written chunk by chunk into one tensor: no list of chunks, no second copy
    features = torch.empty((len(images), *first.shape[1:]), dtype=first.dtype, device=first.device)
    features[: len(first)] = first
    for start in range(batch_size, len(images), batch_size):
        features[start : start + batch_size] = chunk(start)
    return features


@dataclass(frozen=True)
class FeatureScaler:
    """Per-feature standardisation with statistics of the training subset's features only.

    A feature that does not vary over the training subset keeps scale 1 (as scikit-learn's
    ``StandardScaler`` does), so it cannot blow up on test images.
    """

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, features: torch.Tensor) -> FeatureScaler:
        mean = features.mean(dim=0, keepdim=True)
        std = features.std(dim=0, keepdim=True) if len(features) > 1 else torch.zeros_like(mean)
        return cls(mean, torch.where(std > 1e-6 * (1 + mean.abs()), std, torch.ones_like(std)))

    def standardise_(self, features: torch.Tensor) -> torch.Tensor:
        """Standardise ``features`` in place (no copy; for features no one else holds); the same values as
        ``self(features)``."""
        return features.sub_(self.mean).div_(self.std)

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """The standardised features, a new tensor (divided in place: one temporary of the features' size
        instead of two, the same values)."""
        return (features - self.mean).div_(self.std)


@dataclass
class FrozenFeatures:
    """Features of a frozen run's train / val / test images, after its ``FeatureScaler`` if any.

    ``train_flipped``: features of the training images flipped left-right *before* the conv (for heads
    trained with ``hflip``: a flipped minibatch takes its rows from here), scaled like ``train``.
    """

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor | None = None
    scaler: FeatureScaler | None = None
    train_flipped: torch.Tensor | None = None


def frozen_features(
    kernels: torch.Tensor | Sequence[torch.Tensor],
    arch: ArchitectureConfig,
    x_train: torch.Tensor,
    x_val: torch.Tensor,
    standardize: bool,
    flipped: bool = False,
) -> FrozenFeatures:
    """Train and validation features of the frozen ``kernels`` (test features are added when first needed,
    ``ensure_test_features``), standardised with training statistics when ``standardize``. With ``flipped``,
    also the features of the training images flipped left-right before the conv (``train_flipped``): a conv
    and its pooling do not commute with a flip, so flipping the feature maps would be another augmentation."""
    train = extract_features(x_train, kernels, arch)
    val = extract_features(x_val, kernels, arch)
    train_flipped = extract_features(x_train.flip(-1), kernels, arch) if flipped else None
    scaler = FeatureScaler.fit(train) if standardize else None
    if scaler is not None:  # the extracted tensors are this function's own: standardised in place
        train, val = scaler.standardise_(train), scaler.standardise_(val)
        train_flipped = scaler.standardise_(train_flipped) if train_flipped is not None else None
    return FrozenFeatures(train, val, None, scaler, train_flipped)


def ensure_test_features(
    features: FrozenFeatures,
    kernels: torch.Tensor | Sequence[torch.Tensor],
    arch: ArchitectureConfig,
    x_test: torch.Tensor,
) -> torch.Tensor:
    """The test-set features of ``features``' kernels, computed once and kept in ``features.test``."""
    if features.test is None:
        test = extract_features(x_test, kernels, arch)
        features.test = features.scaler.standardise_(test) if features.scaler is not None else test
    return features.test


__all__ = ["FeatureScaler", "FrozenFeatures", "extract_features", "ensure_test_features", "frozen_features"]
