"""Turning uint8 ``(N, H, W, C)`` images into float ``(N, C, H, W)`` network inputs.

The paper states no input normalisation, so it is a hyperparameter chosen on the validation split:

- ``"unit"``: pixels divided by 255, into [0, 1];
- ``"standardize"``: then per channel, minus the mean and divided by the std of the *training
  subset* (the few-shot images only, never validation or test images).

The ``authors_code`` protocol instead repeats the per-dataset preprocessing of the authors'
MatConvNet code (``AuthorsCodePreprocessing``): statistics from the whole unlabelled training set
(and, for contrast normalisation's global scale, the test images too), pixels on the 0-255 scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

INPUT_NORMS = ("unit", "standardize", "authors_code")

AUTHORS_CODE_STEPS: dict[str, tuple[str, ...]] = {
    # constructMnistImdb.m: zero-pad 28 -> 32, replicate to 3 channels, subtract the mean image
    "mnist": ("pad_to_32", "gray_to_rgb", "mean"),
    "fashion_mnist": ("pad_to_32", "gray_to_rgb", "mean"),
    # constructCifarImdb.m: mean image, contrast normalisation, ZCA-style whitening
    "cifar10": ("mean", "contrast", "whiten"),
    # constructMultiClassImdbs.m: SVHN gets contrast normalisation but no whitening
    "svhn": ("mean", "contrast"),
}
AUTHORS_CODE_DEFAULT_STEPS = ("mean",)


def preprocessing_description(dataset: str, input_norm: str) -> dict[str, object]:
    """What ``input_norm`` does to ``dataset``'s images, as recorded in each run's configuration."""
    if input_norm not in INPUT_NORMS:
        raise ValueError(f"unknown input_norm {input_norm!r}; valid values are: {', '.join(INPUT_NORMS)}")
    if input_norm == "authors_code":
        steps = AUTHORS_CODE_STEPS.get(dataset, AUTHORS_CODE_DEFAULT_STEPS)
        return {"input_norm": input_norm, "steps": list(steps), "statistics": "whole training set, 0-255 scale"}
    statistics = "training subset, per channel" if input_norm == "standardize" else "none"
    return {"input_norm": input_norm, "steps": ["divide_by_255"], "statistics": statistics}


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
    if input_norm == "authors_code":
        raise ValueError("input_norm 'authors_code' uses dataset-wide statistics: build AuthorsCodePreprocessing")
    raise ValueError(f"unknown input_norm {input_norm!r}; valid values are: {', '.join(INPUT_NORMS)}")


def _flat_float(images: np.ndarray, steps: tuple[str, ...]) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` -> float32 on the 0-255 scale, padded / replicated as ``steps`` say.

    Written straight into one array of the final shape (zeros where ``pad_to_32`` pads, the one channel
    copied into three for ``gray_to_rgb``): no intermediate float copy of the images."""
    n, height, width, channels = images.shape
    side_h, side_w = height, width
    top = left = 0
    if "pad_to_32" in steps:
        if height > 32 or width > 32:
            raise ValueError(f"pad_to_32 needs images of at most 32x32, got {height}x{width}")
        side_h = side_w = 32
        top, left = (32 - height) // 2, (32 - width) // 2
    out_channels = 3 if "gray_to_rgb" in steps and channels == 1 else channels
    x = np.zeros((n, side_h, side_w, out_channels), dtype=np.float32)
    x[:, top : top + height, left : left + width, :] = images  # uint8 -> float32 is exact; broadcasts 1 -> 3
    return x.reshape(n, -1)


FIT_ROWS = 4096
"""Images per block when ``AuthorsCodePreprocessing.fit`` computes per-image statistics: each image's mean and
std are reductions over its own row, so blocks give the same bits as the whole array at once, and only one
block's temporaries (4,096 x 3,072 floats, 48 MiB) exist beside the training set, not several copies of it."""


def _row_blocks(n: int, rows: int = FIT_ROWS) -> list[slice]:
    return [slice(start, min(start + rows, n)) for start in range(0, n, rows)]


def _image_stds(x: np.ndarray, mean_image: np.ndarray) -> np.ndarray:
    """Per image of ``x - mean_image``: its std (ddof 1) about its own mean, block by block."""
    stds = np.empty(len(x), dtype=x.dtype)
    for rows in _row_blocks(len(x)):
        z = x[rows] - mean_image
        stds[rows] = (z - z.mean(axis=1, keepdims=True)).std(axis=1, ddof=1)
    return stds


def _contrast_normalise(z: np.ndarray, mean_std: float) -> np.ndarray:
    """Per image: minus its mean, times ``mean_std / max(std, 40)`` (Coates, Lee & Ng 2011, as coded)."""
    z = z - z.mean(axis=1, keepdims=True)
    return z * (mean_std / np.maximum(z.std(axis=1, ddof=1, keepdims=True), 40.0))


@dataclass(frozen=True)
class AuthorsCodePreprocessing:
    """The authors' MatConvNet preprocessing, fitted once per dataset (``fit``), applied to any images.

    ``steps`` from ``AUTHORS_CODE_STEPS``; statistics as in ``constructCifarImdb.m``: the mean image
    over the training set; contrast normalisation's scale ``mean(n)`` over all training and test
    images; the whitening covariance over the training images, divided by the number of training and
    test images (60,000 for CIFAR-10, as coded), eigenvalues floored at 10 and rescaled to
    ``sqrt(mean(eigenvalue))``.
    """

    steps: tuple[str, ...]
    image_shape: tuple[int, int, int]
    mean_image: np.ndarray
    mean_std: float
    whitening: np.ndarray | None

    @classmethod
    def fit(
        cls, train_images: np.ndarray, test_images: np.ndarray, steps: tuple[str, ...] = AUTHORS_CODE_DEFAULT_STEPS
    ) -> AuthorsCodePreprocessing:
        train = _flat_float(train_images, steps)
        mean_image = train.mean(axis=0)
        mean_std, whitening = 1.0, None
        if "contrast" in steps:
            stds = [_image_stds(train, mean_image), _image_stds(_flat_float(test_images, steps), mean_image)]
            mean_std = float(np.concatenate(stds).mean())
            for rows in _row_blocks(len(train)):  # in place: the same values, one copy of the training set
                train[rows] = _contrast_normalise(train[rows] - mean_image, mean_std)
        elif "whiten" in steps:
            np.subtract(train, mean_image, out=train)
        if "whiten" in steps:
            z = torch.from_numpy(np.ascontiguousarray(train))
            covariance = (z.T @ z).double() / (len(train_images) + len(test_images))
            eigenvalues, vectors = torch.linalg.eigh(covariance)
            eigenvalues = eigenvalues.clamp_min(0)
            scale = eigenvalues.mean().sqrt() / eigenvalues.sqrt().clamp_min(10.0)
            whitening = ((vectors * scale) @ vectors.T).float().numpy()
        side = 32 if "pad_to_32" in steps else train_images.shape[1]
        channels = 3 if "gray_to_rgb" in steps else train_images.shape[3]
        return cls(steps, (side, side, channels), mean_image.astype(np.float32), mean_std, whitening)

    def __call__(self, images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """uint8 ``(N, H, W, C)`` -> float32 ``(N, C, H, W)`` on ``device``."""
        z = _flat_float(images, self.steps) - self.mean_image
        if "contrast" in self.steps:
            z = _contrast_normalise(z, self.mean_std)
        if self.whitening is not None:
            z = z @ self.whitening  # symmetric
        height, width, channels = self.image_shape
        tensor = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)).view(len(z), height, width, channels)
        return tensor.permute(0, 3, 1, 2).contiguous().to(device)
