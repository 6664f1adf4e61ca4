"""Seconds of full training and of prediction through the CNN in plain (NCHW) layout with chunks of 1000
images, against channels-last layout with chunks of ``training.PREDICT_CHUNK`` (what ``models.conv2d_same``
and ``training.predict`` do), for the one-conv network and the learning curves' deeper ones, on random
images of MNIST's and CIFAR-10's shapes.

    python -m benchmarks.conv_layout [--images 1024] [--repeats 3] [--threads N]

Prints, per (dataset shape, architecture), the best of ``--repeats`` alternating runs of one epoch of
training (Adam, minibatches of 64) and one prediction pass over the same images, plain and channels-last,
and their ratio (plain / channels-last: above 1 means channels-last is faster).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import synthlib.models as models
from synthlib.learning_curves import DEEP2_ARCH, DEEP3_ARCH
from synthlib.models import ArchitectureConfig, PaperCNN, init_
from synthlib.training import PREDICT_CHUNK, predict

SHAPES = {"mnist": (1, 28), "cifar10": (3, 32)}
ARCHITECTURES = {"one conv": ArchitectureConfig(), "2 conv": DEEP2_ARCH, "3 conv": DEEP3_ARCH}
PLAIN_CHUNK = 1000


def plain_conv2d_same(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """The convolution on images as given (NCHW), without the channels-last layout."""
    return F.conv2d(images.contiguous(), kernels, padding=kernels.shape[-1] // 2)


def time_epoch(model: PaperCNN, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 64) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for first in range(0, len(images), batch_size):
        loss = F.cross_entropy(model(images[first : first + batch_size]), labels[first : first + batch_size])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def time_predict(model: PaperCNN, images: torch.Tensor, chunk: int) -> float:
    start = time.perf_counter()
    predict(model, images, chunk)
    return time.perf_counter() - start


def measure(
    conv: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    chunk: int,
    channels: int,
    side: int,
    arch: ArchitectureConfig,
    n_images: int,
) -> tuple[float, float]:
    """(training seconds, prediction seconds) with ``models.conv2d_same`` set to ``conv``."""
    saved = models.conv2d_same
    models.conv2d_same = conv
    try:
        generator = torch.Generator().manual_seed(0)
        model = init_(PaperCNN(channels, side, arch), generator)
        images = torch.randn(n_images, channels, side, side, generator=generator)
        labels = torch.randint(0, 10, (n_images,), generator=generator)
        time_epoch(model, images[:64], labels[:64])  # warm-up
        return time_epoch(model, images, labels), time_predict(model, images, chunk)
    finally:
        models.conv2d_same = saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{args.images} images, best of {args.repeats}, {torch.get_num_threads()} thread(s)")
    print(
        "| shape | network | train plain s | train channels-last s | ratio | predict plain s | predict new s | ratio |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for shape, (channels, side) in SHAPES.items():
        for name, arch in ARCHITECTURES.items():
            plain, new = [], []
            for _ in range(args.repeats):
                plain.append(measure(plain_conv2d_same, PLAIN_CHUNK, channels, side, arch, args.images))
                new.append(measure(models.conv2d_same, PREDICT_CHUNK, channels, side, arch, args.images))
            train_plain, train_new = min(p[0] for p in plain), min(n[0] for n in new)
            pred_plain, pred_new = min(p[1] for p in plain), min(n[1] for n in new)
            print(
                f"| {shape} | {name} | {train_plain:.3f} | {train_new:.3f} | {train_plain / train_new:.2f} | "
                f"{pred_plain:.3f} | {pred_new:.3f} | {pred_plain / pred_new:.2f} |"
            )


if __name__ == "__main__":
    main()
