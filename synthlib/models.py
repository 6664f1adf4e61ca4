"""The paper's CNN: conv 64 x 5x5 -> max-pool stride 2 -> ReLU -> FC 1024 -> 64 -> 10.

The text says one conv layer of 64 5x5 kernels, max-pooling with stride 2, ReLU, and fully
connected layers "1024 - 64 - 10". One 5x5 conv (padding 2) on a 32x32 image pooled with stride 2
leaves a 16x16x64 = 16,384-wide map, not 1024 (STUDY_BRIEF section 2). This implementation makes
the map 1024 wide by a further adaptive max-pool to a ``feature_grid`` x ``feature_grid`` grid
(4 x 4 x 64 = 1024), which also works for 28x28 MNIST without padding it to 32x32.
``feature_grid=None`` keeps the full map (the authors' one-conv code: 16,384 inputs).

Deeper synthesized networks (``deeper_layers``) repeat conv (same padding, no bias) -> max-pool ->
ReLU once per further layer before the grid pool; the first layer has ``n_kernels`` kernels and
each further layer the ``(n_kernels, kernel_size)`` it lists, so the head's input is the last
layer's channels times the grid.

The conv has no bias: sampled kernels have none to sample, and the fully trained baseline keeps
the same architecture. Layers are initialised only from an explicit generator (``init_``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ArchitectureConfig:
    """Sizes of the paper's CNN. Defaults: the paper's text, with the 1024 made by a 4x4 grid."""

    n_kernels: int = 64
    kernel_size: int = 5
    pool_kernel: int = 2
    pool_stride: int = 2
    pool_pad_after: int = 0
    feature_grid: int | None = 4
    hidden_units: int = 64
    n_classes: int = 10
    deeper_layers: tuple[tuple[int, int], ...] = ()
    """``(n_kernels, kernel_size)`` of each conv layer after the first (none: the paper's one-conv CNN)."""

    def __post_init__(self) -> None:  # JSON gives lists; keep the layers hashable and comparable
        object.__setattr__(self, "deeper_layers", tuple((int(n), int(k)) for n, k in self.deeper_layers))

    def to_dict(self) -> dict:
        """The sizes, as recorded in each run's configuration (``deeper_layers`` only when there are any,
        so a one-conv network's configuration, and its key, is what it always was)."""
        values = asdict(self)
        if not self.deeper_layers:
            del values["deeper_layers"]
        else:
            values["deeper_layers"] = [list(layer) for layer in self.deeper_layers]
        return values

    @property
    def depth(self) -> int:
        """The number of conv layers."""
        return 1 + len(self.deeper_layers)

    @property
    def out_channels(self) -> int:
        """Channels of the last conv layer (the grid pool's input)."""
        return self.deeper_layers[-1][0] if self.deeper_layers else self.n_kernels

    def layer_shapes(self, in_channels: int) -> list[tuple[int, int, int, int]]:
        """The weight shape ``(out, in, k, k)`` of every conv layer, first to last."""
        shapes = [(self.n_kernels, in_channels, self.kernel_size, self.kernel_size)]
        for n, k in self.deeper_layers:
            shapes.append((n, shapes[-1][0], k, k))
        return shapes

    def pooled_size(self, image_size: int) -> int:
        """Side of the map after every conv (same padding) and its max-pool."""
        side = image_size
        for _ in range(self.depth):
            side = (side + self.pool_pad_after - self.pool_kernel) // self.pool_stride + 1
        return side

    def feature_width(self, image_size: int) -> int:
        """Inputs to the first FC layer for square images of side ``image_size``."""
        side = self.feature_grid if self.feature_grid is not None else self.pooled_size(image_size)
        return self.out_channels * side * side

    def check(self, image_size: int) -> None:
        """Raise ``ValueError`` naming the value that cannot work for ``image_size`` images."""
        for label in ("n_kernels", "kernel_size", "pool_kernel", "pool_stride", "hidden_units", "n_classes"):
            value = getattr(self, label)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        if self.kernel_size > image_size:
            raise ValueError(f"kernel_size={self.kernel_size} is larger than the {image_size}x{image_size} image")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for same padding, got {self.kernel_size}")
        for n, k in self.deeper_layers:
            if n < 1 or k < 1 or k % 2 == 0:
                raise ValueError(
                    f"each of deeper_layers must be (n_kernels >= 1, odd kernel_size), got {(n, k)} in "
                    f"{[list(layer) for layer in self.deeper_layers]}"
                )
        if not isinstance(self.pool_pad_after, int) or not 0 <= self.pool_pad_after < self.pool_kernel:
            raise ValueError(
                f"pool_pad_after must be an integer from 0 to pool_kernel - 1 = {self.pool_kernel - 1}, "
                f"got {self.pool_pad_after!r}"
            )
        if self.pool_kernel > image_size:
            raise ValueError(f"pool_kernel={self.pool_kernel} is larger than the {image_size}x{image_size} image")
        pooled = self.pooled_size(image_size)
        if pooled < 1:
            raise ValueError(
                f"{self.depth} conv layers pool the {image_size}x{image_size} image away; use fewer deeper_layers"
            )
        if self.feature_grid is not None and (
            not isinstance(self.feature_grid, int) or not 1 <= self.feature_grid <= pooled
        ):
            raise ValueError(
                f"feature_grid={self.feature_grid} must lie between 1 and the pooled map's side {pooled} after "
                f"{self.depth} conv layer(s) "
                f"({image_size}x{image_size} images)"
            )


def conv2d_same(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolution with same padding (odd kernels), on images in channels-last layout, trained or frozen.

    Several channels: the images are made channels-last (a copy of the input only); the output follows.
    One channel: the images get channels-last strides, a free view (with one channel both layouts hold the
    same bytes). PyTorch counts a one-channel tensor as contiguous in both layouts and then may take
    oneDNN's plain-layout path, on the reference CPU about 7x slower than its channels-last one, which in
    turn runs about 1.6x faster (one thread, chunks of 64 MNIST images) than the same sums as unfold +
    matmul (``benchmarks/mnist_extraction.py``). Images given in plain layout are converted here, so every
    caller gets the channels-last path (``python -m benchmarks.conv_layout`` times it).
    Inside ``torch.func`` transforms (``vmap``), which cannot query a layout, the images are taken as given.
    """
    in_transform = torch._C._functorch.maybe_current_level() is not None  # vmap / grad: no layout queries
    if not in_transform and images.shape[1] == 1:
        height, width = images.shape[-2:]
        images = images.contiguous().as_strided(images.shape, (height * width, 1, width, 1))
    elif not in_transform:
        images = images.contiguous(memory_format=torch.channels_last)
    return F.conv2d(images, kernels, padding=kernels.shape[-1] // 2)


def conv_features(
    images: torch.Tensor, kernels: torch.Tensor | Sequence[torch.Tensor], arch: ArchitectureConfig
) -> torch.Tensor:
    """conv (same padding) -> max-pool -> ReLU, once per conv layer (``kernels``: one weight tensor, or
    one per layer), then the grid pool: the FC layer's input, as maps ``(N, channels, side, side)``
    (the head flattens them).

    ``pool_pad_after`` pads the bottom and right edges before pooling (MatConvNet's
    ``'pad', [0 1 0 1]``); padded cells never win a max.
    """
    maps = images
    for layer in [kernels] if isinstance(kernels, torch.Tensor) else kernels:
        maps = conv2d_same(maps, layer)
        if arch.pool_pad_after:
            maps = F.pad(maps, (0, arch.pool_pad_after, 0, arch.pool_pad_after), value=float("-inf"))
        maps = F.relu(F.max_pool2d(maps, arch.pool_kernel, arch.pool_stride))
    if arch.feature_grid is not None:
        maps = F.adaptive_max_pool2d(maps, arch.feature_grid)
    return maps


class ClassifierHead(nn.Sequential):
    """Flatten, then FC feature_width -> hidden -> n_classes with a ReLU between (the paper's "1024 - 64 - 10")."""

    def __init__(self, in_features: int, hidden_units: int, n_classes: int) -> None:
        super().__init__(
            nn.Flatten(), nn.Linear(in_features, hidden_units), nn.ReLU(), nn.Linear(hidden_units, n_classes)
        )


class PaperCNN(nn.Module):
    """conv -> max-pool -> ReLU [-> further conv layers] -> grid pool -> ClassifierHead. The convs may be
    frozen. ``conv_weight`` is the first layer; ``conv_weights`` lists every layer's."""

    def __init__(self, in_channels: int, image_size: int, arch: ArchitectureConfig = ArchitectureConfig()) -> None:
        super().__init__()
        arch.check(image_size)
        self.arch = arch
        first, *deeper = arch.layer_shapes(in_channels)
        self.conv_weight = nn.Parameter(torch.empty(first))
        self.deeper_weights = nn.ParameterList([nn.Parameter(torch.empty(shape)) for shape in deeper])
        self.head = ClassifierHead(arch.feature_width(image_size), arch.hidden_units, arch.n_classes)

    @property
    def conv_weights(self) -> list[torch.Tensor]:
        """Every conv layer's weights, first to last."""
        return [self.conv_weight, *self.deeper_weights]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return conv_features(images, self.conv_weights, self.arch)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def init_(module: ModuleT, generator: torch.Generator) -> ModuleT:
    """PyTorch's default initialisation, drawn from ``generator`` only.

    Weights are Kaiming-uniform (a = sqrt(5)); a bias is uniform in +-1/sqrt(fan_in) of the weight
    before it. Values are drawn on the CPU in parameter order and copied to the parameters'
    device, so the same generator gives the same network on every device.
    """
    fan_in = 1
    with torch.no_grad():
        for param in module.parameters():
            values = torch.empty(param.shape, dtype=torch.float32)
            if param.ndim > 1:
                fan_in = math.prod(param.shape[1:])
                nn.init.kaiming_uniform_(values, a=math.sqrt(5), generator=generator)
            else:
                bound = 1 / math.sqrt(fan_in)
                values.uniform_(-bound, bound, generator=generator)
            param.copy_(values)
    return module
