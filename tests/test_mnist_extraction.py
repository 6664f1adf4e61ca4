"""The one-channel frozen conv (MNIST feature extraction) as a channels-last ``conv2d`` equals the same
sums written as unfold + matmul, on MNIST's shapes, whatever the layout of the images given."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from synthlib.features import extract_features
from synthlib.models import ArchitectureConfig, conv2d_same, conv_features

ARCH = ArchitectureConfig()  # 64 kernels 5x5, max-pool 2x2 stride 2, 4x4 grid: 1024 features


def mnist_like_images(count: int, seed: int = 0) -> torch.Tensor:
    """Standardised 28x28 one-channel images, mostly background like MNIST digits."""
    generator = torch.Generator().manual_seed(seed)
    strokes = (torch.rand((count, 1, 28, 28), generator=generator) < 0.2).float()
    images = strokes * torch.rand((count, 1, 28, 28), generator=generator)
    return (images - images.mean()) / images.std()


def unfold_matmul_conv(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """The same convolution as unfold + matmul (the sums written out, summed in another order)."""
    n, _, height, width = images.shape
    size = kernels.shape[-1]
    patches = F.unfold(images, size, padding=size // 2)  # (N, size*size, H*W)
    maps = patches.transpose(1, 2) @ kernels.reshape(len(kernels), -1).t()
    return maps.view(n, height, width, -1).permute(0, 3, 1, 2)


def kernels_for_test() -> torch.Tensor:
    return torch.randn((ARCH.n_kernels, 1, 5, 5), generator=torch.Generator().manual_seed(1)) * 0.2


@pytest.mark.parametrize("layout", ["plain", "channels_last", "transposed_view", "slice"])
def test_one_channel_conv_equals_unfold_matmul_in_every_layout(layout):
    images = mnist_like_images(80)
    if layout == "channels_last":
        images = images.contiguous(memory_format=torch.channels_last)
    elif layout == "transposed_view":  # not contiguous: a strided view must not be reinterpreted
        images = images.transpose(-1, -2)
    elif layout == "slice":  # storage offset from a chunk of a larger tensor
        images = mnist_like_images(100)[20:]
    kernels = kernels_for_test()
    with torch.no_grad():
        maps = conv2d_same(images, kernels)
    torch.testing.assert_close(maps, unfold_matmul_conv(images, kernels), rtol=1e-5, atol=1e-5)
    assert maps.is_contiguous(memory_format=torch.channels_last)


def test_mnist_features_equal_the_unfold_matmul_features():
    images = mnist_like_images(200, seed=2).contiguous(memory_format=torch.channels_last)
    kernels = kernels_for_test()
    features = extract_features(images, kernels, ARCH)
    maps = F.relu(F.max_pool2d(unfold_matmul_conv(images, kernels), 2, 2))
    expected = F.adaptive_max_pool2d(maps, ARCH.feature_grid)
    assert features.shape == (200, 64, 4, 4)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-5)


def test_trained_kernels_give_conv2d_of_the_images_within_rounding_and_pass_gradients():
    """``conv2d_same`` takes plain images to channels-last strides, whose kernels sum in another order than the
    plain layout's on some CPUs (bit-identical on AMD EPYC AVX2, not on Intel Xeon AVX-512): equal within
    rounding, not bit for bit."""
    images = mnist_like_images(8, seed=3)
    kernels = kernels_for_test().requires_grad_()
    maps = conv_features(images, kernels, ARCH)
    torch.testing.assert_close(conv2d_same(images, kernels), F.conv2d(images, kernels, padding=2))
    maps.sum().backward()
    assert kernels.grad is not None and kernels.grad.abs().sum() > 0
