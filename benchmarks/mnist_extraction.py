"""Formulations of the frozen MNIST feature extraction (one-channel 5x5 conv, 64 kernels, same padding ->
max-pool 2x2 stride 2 -> ReLU -> adaptive max-pool to 4x4), timed and checked against the library's.

    python -m benchmarks.mnist_extraction [--images 2000] [--threads N] [--chunks 64,256] [--repeats 3]
                                          [--input-norm standardize] [--data DIR]

- ``library``: ``training.extract_features``;
- ``unfold_matmul``: the conv as unfold + matmul into a channels-last map (the library's formulation before);
- ``conv2d``: oneDNN's ``F.conv2d`` in place of the unfold + matmul, on the images as they come;
- ``conv2d_channels_last``: the same on the images given channels-last strides (a free view for one channel);
- ``pooled_phases``: the four positions of each 2x2 pooling window as four stride-2 unfolds, each one
  matmul, reduced by a running maximum, so the full-resolution map is never materialised.

Each prints seconds, GFLOP/s of the conv's multiply-adds (2 x 25 x 64 per output pixel) and the largest
difference from ``unfold_matmul`` (MNIST features are of order 1 to 10). Inputs are MNIST test images when
``--data`` holds mnist.npz, else random ones.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from synthlib.features import extract_features
from synthlib.models import ArchitectureConfig
from synthlib.preprocess import normalise, to_unit_tensor

REPO_ROOT = Path(__file__).resolve().parent.parent

ARCH = ArchitectureConfig()
N_KERNELS, KERNEL_SIZE, SIDE = 64, 5, 28


def load_images(count: int, data_dir: Path) -> torch.Tensor:
    """The first ``count`` MNIST test images in [0, 1] from ``data_dir/mnist.npz``, else random ones."""
    path = data_dir / "mnist.npz"
    if not path.exists():
        return torch.rand((count, 1, SIDE, SIDE), generator=torch.Generator().manual_seed(0))
    with np.load(path) as data:
        return to_unit_tensor(data["x_test"][:count])


def unfold_matmul_features(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """The library's formulation before the channels-last ``conv2d``: unfold + matmul into a channels-last map."""
    n, _, height, width = images.shape
    patches = F.unfold(images, KERNEL_SIZE, padding=KERNEL_SIZE // 2)  # (N, 25, H*W)
    maps = (patches.transpose(1, 2) @ kernels.reshape(len(kernels), -1).t()).view(n, height, width, -1)
    return F.adaptive_max_pool2d(F.relu(F.max_pool2d(maps.permute(0, 3, 1, 2), 2, 2)), ARCH.feature_grid)


def conv2d_features(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    maps = F.conv2d(images, kernels, padding=KERNEL_SIZE // 2)
    return F.adaptive_max_pool2d(F.relu(F.max_pool2d(maps, 2, 2)), ARCH.feature_grid)


def channels_last_conv2d_features(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """``conv2d`` on one-channel images given channels-last strides (a free view: same bytes), so that
    oneDNN takes its channels-last path; PyTorch counts a one-channel tensor as contiguous in both layouts."""
    n, _, height, width = images.shape
    images = images.contiguous().as_strided(images.shape, (height * width, 1, width, 1))
    return conv2d_features(images, kernels)


def pooled_phases_features(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """max over the 2x2 window of the conv = max over four stride-2 convs of shifted images."""
    n, _, height, width = images.shape
    padded = F.pad(images, (KERNEL_SIZE // 2,) * 4)
    weights = kernels.reshape(len(kernels), -1).t()  # (25, 64)
    pooled = None
    for dy in (0, 1):
        for dx in (0, 1):
            shifted = padded[:, :, dy : dy + height + KERNEL_SIZE - 2, dx : dx + width + KERNEL_SIZE - 2]
            patches = F.unfold(shifted, KERNEL_SIZE, stride=2)  # (N, 25, (H/2)*(W/2))
            maps = patches.transpose(1, 2) @ weights  # (N, H/2 * W/2, 64)
            pooled = maps if pooled is None else torch.maximum(pooled, maps)
    assert pooled is not None
    maps = F.relu(pooled).view(n, height // 2, width // 2, -1).permute(0, 3, 1, 2)
    return F.adaptive_max_pool2d(maps, ARCH.feature_grid)


def chunked(method: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], chunk: int):
    def run(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        return torch.cat([method(images[i : i + chunk], kernels) for i in range(0, len(images), chunk)]).contiguous()

    return run


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--chunks", default="64,256")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--input-norm", default="standardize", choices=("unit", "standardize"))
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data", help="folder of mnist.npz")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    unit_images = load_images(args.images, args.data)
    images = normalise(unit_images, unit_images, args.input_norm).contiguous(memory_format=torch.channels_last)
    kernels = torch.randn((N_KERNELS, 1, KERNEL_SIZE, KERNEL_SIZE), generator=torch.Generator().manual_seed(1))
    gflop = 2 * KERNEL_SIZE**2 * N_KERNELS * SIDE * SIDE * len(images) / 1e9
    with torch.inference_mode():
        reference = chunked(unfold_matmul_features, 64)(images, kernels)
        print(f"threads: {torch.get_num_threads()}, images: {len(images)} ({args.input_norm}), conv GFLOP: {gflop:.2f}")
        for chunk in map(int, args.chunks.split(",")):
            methods = {
                "library": lambda x, k, c=chunk: extract_features(x, k, ARCH, batch_size=c),
                "unfold_matmul": chunked(unfold_matmul_features, chunk),
                "conv2d": chunked(conv2d_features, chunk),
                "conv2d_channels_last": chunked(channels_last_conv2d_features, chunk),
                "pooled_phases": chunked(pooled_phases_features, chunk),
            }
            for name, method in methods.items():
                seconds = best_seconds(lambda m=method: m(images, kernels), args.repeats)
                difference = float((method(images, kernels) - reference).abs().max())
                print(
                    f"chunk {chunk:5d} {name:22s} {seconds:7.3f} s {gflop / seconds:7.1f} GFLOP/s "
                    f"max |difference| {difference:.1e}"
                )


if __name__ == "__main__":
    main()
