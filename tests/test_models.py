"""The paper's CNN: shapes, the 1024-wide feature map, configuration checks, seeded initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from synthlib.models import ArchitectureConfig, PaperCNN, init_


def gen(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def initialised(in_channels: int = 1, image_size: int = 28, seed: int = 0, **arch) -> PaperCNN:
    return init_(PaperCNN(in_channels, image_size, ArchitectureConfig(**arch)), gen(seed))


def images(in_channels: int, image_size: int, n: int = 4) -> torch.Tensor:
    return torch.randn(n, in_channels, image_size, image_size, generator=gen(123))


@pytest.mark.parametrize(("in_channels", "image_size"), [(1, 28), (3, 32)])
def test_output_and_default_feature_width(in_channels, image_size):
    model = initialised(in_channels, image_size)
    x = images(in_channels, image_size)
    assert model(x).shape == (4, 10)
    assert model.features(x).flatten(1).shape == (4, 1024)  # 64 kernels x 4 x 4 grid: the paper's "1024"
    assert model.head[1].in_features == 1024 == model.arch.feature_width(image_size)
    assert model.head[1].out_features == 64 and model.head[3].out_features == 10


@pytest.mark.parametrize(("in_channels", "image_size", "width"), [(3, 32, 16384), (1, 28, 64 * 14 * 14)])
def test_full_map_without_feature_grid(in_channels, image_size, width):
    model = initialised(in_channels, image_size, feature_grid=None)
    x = images(in_channels, image_size, n=2)
    assert model.head[1].in_features == width
    assert model.features(x).flatten(1).shape == (2, width)
    assert model(x).shape == (2, 10)


def test_parameters_conv_has_no_bias():
    model = initialised()
    assert [name for name, _ in model.named_parameters()] == [
        "conv_weight", "head.1.weight", "head.1.bias", "head.3.weight", "head.3.bias",
    ]  # fmt: skip
    assert model.conv_weight.shape == (64, 1, 5, 5)


def test_features_are_non_negative():
    """ReLU comes before the grid max-pool, so every feature is >= 0."""
    assert (initialised().features(images(1, 28)) >= 0).all()


@pytest.mark.parametrize(
    ("arch", "image_size", "message"),
    [
        ({"kernel_size": 31}, 28, "kernel_size=31 is larger than the 28x28 image"),
        ({"kernel_size": 4}, 28, "kernel_size must be odd for same padding, got 4"),
        ({"feature_grid": 15}, 28, "feature_grid=15 must lie between 1 and the pooled map's side 14"),
        ({"feature_grid": 0}, 28, "feature_grid=0 must lie between 1"),
        ({"n_kernels": 0}, 28, "n_kernels must be a positive integer, got 0"),
        ({"n_kernels": -3}, 32, "n_kernels must be a positive integer, got -3"),
        ({"hidden_units": 2.5}, 32, "hidden_units must be a positive integer, got 2.5"),
        ({"pool_kernel": 40}, 32, "pool_kernel=40 is larger than the 32x32 image"),
    ],
)
def test_check_names_the_bad_value(arch, image_size, message):
    config = ArchitectureConfig(**arch)
    with pytest.raises(ValueError, match=message):
        config.check(image_size)
    with pytest.raises(ValueError, match=message):
        PaperCNN(1, image_size, config)


def test_check_accepts_the_largest_feature_grid():
    ArchitectureConfig(feature_grid=14).check(28)
    ArchitectureConfig(feature_grid=16).check(32)
    assert ArchitectureConfig().pooled_size(28) == 14 and ArchitectureConfig().pooled_size(32) == 16


def test_init_same_seed_same_parameters_different_seed_different():
    a, b, c = initialised(seed=5), initialised(seed=5), initialised(seed=6)
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), name
        assert not torch.equal(pa, pc), name


def test_init_is_pytorch_default_distribution():
    """Kaiming-uniform (a = sqrt(5)) is U(+-1/sqrt(fan_in)); a bias uses its weight's fan_in."""
    model = initialised(seed=1)
    bounds = {
        "conv_weight": 1 / math.sqrt(25),
        "head.1.weight": 1 / math.sqrt(1024),
        "head.1.bias": 1 / math.sqrt(1024),
        "head.3.weight": 1 / math.sqrt(64),
        "head.3.bias": 1 / math.sqrt(64),
    }
    for name, param in model.named_parameters():
        assert param.abs().max() <= bounds[name], name
    values = model.head[1].weight.detach().double().numpy().ravel()  # 65,536 weights
    bound = bounds["head.1.weight"]
    assert stats.kstest(values, stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3


def test_init_only_uses_the_generator():
    torch.manual_seed(0)
    a = initialised(seed=9)
    torch.manual_seed(1)
    b = initialised(seed=9)
    assert all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))
