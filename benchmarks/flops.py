"""Floating-point work of the study's conv-heavy phases, counted from the architecture and run sizes.

Conventions (multiply and add count as two FLOPs; pooling, ReLU, the loss and the optimiser step are
not counted, they are a rounding error next to the conv and the FC layers):

- conv forward per image: ``2 * H_out * W_out * C_in * k * k * n_kernels`` with same padding
  (``H_out = H``);
- FC head forward per sample: ``2 * in * out`` per layer (1024 -> 64 -> 10);
- training a layer costs ~3x its forward (forward, weight gradient, input gradient), except the conv
  of the fully trained net, whose input needs no gradient: 2x its forward;
- frozen-feature extraction converts train + val + test images once per frozen run;
- the validation score at the end of training runs inside ``fit`` and is counted with training; the
  test-set forward passes are counted with evaluation, where their time is charged (for frozen runs the
  test conv is part of frozen-feature extraction, as is its time).
"""

from __future__ import annotations

from dataclasses import dataclass

from synthlib.models import ArchitectureConfig

PHASES_WITH_FLOPS = ("frozen_feature_extraction", "fc_training", "full_training", "evaluation")


@dataclass(frozen=True)
class RunShape:
    """What fixes one run's floating-point work."""

    regime: str
    in_channels: int
    image_size: int
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    arch: ArchitectureConfig = ArchitectureConfig()


def conv_forward_flops(in_channels: int, image_size: int, arch: ArchitectureConfig = ArchitectureConfig()) -> int:
    """FLOPs of the conv layer's forward pass on one square image (same padding)."""
    return 2 * image_size * image_size * in_channels * arch.kernel_size**2 * arch.n_kernels


def head_forward_flops(image_size: int, arch: ArchitectureConfig = ArchitectureConfig()) -> int:
    """FLOPs of the FC head's forward pass on one sample (feature width -> hidden -> classes)."""
    width = arch.feature_width(image_size)
    return 2 * (width * arch.hidden_units + arch.hidden_units * arch.n_classes)


def _conv(shape: RunShape) -> int:
    return conv_forward_flops(shape.in_channels, shape.image_size, shape.arch)


def _head(shape: RunShape) -> int:
    return head_forward_flops(shape.image_size, shape.arch)


def frozen_extraction_flops(shape: RunShape) -> int:
    """Conv features of train + val + test images, once (frozen runs only)."""
    if shape.regime != "frozen":
        return 0
    return _conv(shape) * (shape.n_train + shape.n_val + shape.n_test)


def fc_training_flops(shape: RunShape) -> int:
    """Training the head on precomputed features (3x forward per sample and epoch) plus its validation score."""
    if shape.regime != "frozen":
        return 0
    return 3 * _head(shape) * shape.epochs * shape.n_train + _head(shape) * shape.n_val


def full_training_flops(shape: RunShape) -> int:
    """Training the whole net (conv 2x forward, head 3x forward) plus its validation score."""
    if shape.regime == "frozen":
        return 0
    conv, head = _conv(shape), _head(shape)
    return (2 * conv + 3 * head) * shape.epochs * shape.n_train + (conv + head) * shape.n_val


def evaluation_flops(shape: RunShape) -> int:
    """Classifying the full test set: the head on features (frozen) or the whole net (fully trained)."""
    per_image = _head(shape) if shape.regime == "frozen" else _conv(shape) + _head(shape)
    return per_image * shape.n_test


def phase_flops(shape: RunShape) -> dict[str, int]:
    """The run's FLOPs per benchmark phase (keys: ``PHASES_WITH_FLOPS``)."""
    return {
        "frozen_feature_extraction": frozen_extraction_flops(shape),
        "fc_training": fc_training_flops(shape),
        "full_training": full_training_flops(shape),
        "evaluation": evaluation_flops(shape),
    }


def naive_run_flops(shape: RunShape) -> int:
    """FLOPs of the naive path's run: a frozen run recomputes the conv every batch of every epoch."""
    conv, head = _conv(shape), _head(shape)
    evaluation = (conv + head) * (shape.n_val + shape.n_test)
    if shape.regime == "frozen":
        return (conv + 3 * head) * shape.epochs * shape.n_train + evaluation
    return (2 * conv + 3 * head) * shape.epochs * shape.n_train + evaluation
