"""Seconds of full training and of prediction through the CNN as the study ran them before
``models.conv2d_same`` put every convolution on channels-last images and ``training.predict`` went in chunks
of ``training.PREDICT_CHUNK`` images, against now, for the one-conv network and the learning curves' deeper
ones, on random images of MNIST's and CIFAR-10's shapes.

Before: the images and the model channels-last (``experiment.run_split``, ``experiment.build_model``), which
a one-channel image cannot express (PyTorch counts it contiguous in both layouts), so a *trained*
one-channel convolution took oneDNN's plain-layout path (only frozen ones were given channels-last strides);
predictions in chunks of 1000.

    python -m benchmarks.conv_layout [--images 1024] [--repeats 3] [--threads N]

Prints, per (dataset shape, architecture), the best of ``--repeats`` alternating runs of one epoch of
training (Adam, minibatches of 64) and one prediction pass over the same images, before and now, and their
ratio (before / now: above 1 means now is faster).
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
BEFORE_CHUNK = 1000


def before_conv2d_same(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """The convolution as it was: channels-last strides for one-channel images only when the kernels are
    frozen; other images as given (channels-last from ``run_split``)."""
    if images.shape[1] == 1 and not (kernels.requires_grad and torch.is_grad_enabled()):
        height, width = images.shape[-2:]
        images = images.contiguous().as_strided(images.shape, (height * width, 1, width, 1))
    return F.conv2d(images, kernels, padding=kernels.shape[-1] // 2)


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
        model = init_(PaperCNN(channels, side, arch), generator).to(memory_format=torch.channels_last)
        images = torch.randn(n_images, channels, side, side, generator=generator)
        images = images.contiguous(memory_format=torch.channels_last)  # as run_split lays them out
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
    print("| shape | network | train before s | train now s | ratio | predict before s | predict now s | ratio |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for shape, (channels, side) in SHAPES.items():
        for name, arch in ARCHITECTURES.items():
            before, now = [], []
            for _ in range(args.repeats):
                before.append(measure(before_conv2d_same, BEFORE_CHUNK, channels, side, arch, args.images))
                now.append(measure(models.conv2d_same, PREDICT_CHUNK, channels, side, arch, args.images))
            train_before, train_now = min(b[0] for b in before), min(n[0] for n in now)
            pred_before, pred_now = min(b[1] for b in before), min(n[1] for n in now)
            print(
                f"| {shape} | {name} | {train_before:.3f} | {train_now:.3f} | {train_before / train_now:.2f} | "
                f"{pred_before:.3f} | {pred_now:.3f} | {pred_before / pred_now:.2f} |"
            )


if __name__ == "__main__":
    main()
