"""Fixed-feature baselines: frozen features -> standardisation -> multinomial logistic regression.

They calibrate the CNN columns against the reference points of the study brief (section 4), on
exactly the same few-shot subsets (``train_idx`` / ``val_idx`` from ``few_shot_split``), with the
inverse regularisation strength C chosen on the validation split and the test set (the full
official one, ``data.x_test``) used only to report:

``logreg_pixels``
    Raw pixels, uint8 -> [0, 1], flattened.
``scattering``
    A fixed 2D scattering transform (kymatio, J=2, L=8 orientations, order 2; Bruna & Mallat 2013)
    of the [0, 1] images, each colour channel separately, flattened: 81 coefficients per channel on
    a grid subsampled by 2**J (CIFAR-10 32x32x3: 3 x 81 x 8 x 8 = 15552 features; MNIST 28x28:
    81 x 7 x 7 = 3969). J=2, L=8, order 2 is the standard setting of Oyallon & Mallat 2015 (CVPR,
    "Deep roto-translation scattering for object classification") and of the fixed-scattering
    baseline of Gauthier et al. 2022 (CVPR, "Parametric scattering networks"), whose few-shot
    CIFAR-10 numbers the brief quotes (section 4).

Both then standardise the features with the mean and variance of the *training subset only*
(``StandardScaler``) and fit scikit-learn's multinomial ``LogisticRegression`` (lbfgs, L2) once
per C; lbfgs is deterministic, so ``seed`` changes nothing today and is passed on as
``random_state``. Whether lbfgs converged within ``MAX_ITER`` iterations is reported per C. The
fit and the predictions run with single-threaded BLAS: the matrices are small, multi-threaded
OpenBLAS was 5x slower on a busy 2-core machine, and the numbers (lbfgs iteration counts, in the
last bits) otherwise depend on the machine's thread count.

Scattering is slow on a CPU (32x32 RGB images on a busy 2-core machine: ~6 s per 1000 with one
torch thread, ~26 s with two contending ones; ``torch.set_num_threads`` is left to the caller), so
its features are cached on disk under ``cache_dir`` (else ``$SYNTHLIB_CACHE``, else ``~/.cache/synthlib``), in
``scattering/<dataset name>/<H>x<W>x<C>-J<J>-L<L>-order2-kymatio<version>-<device type>/``:

- the test set as one file, ``test-<sha256 of all its pixels>.npy``, computed once per dataset;
- training-pool images one file each, ``images/<sha256 of the image's pixels>.npy``, so that
  overlapping subsets (seeds, per-class counts, train vs validation) reuse each other's work.

Files are named by the content of the images they were computed from, so another dataset, another
image or other transform parameters never reuse a stale file. They are written atomically
(temporary file, then ``os.replace``); an unreadable or malformed file is recomputed, with a
warning. The device type is part of the key because CPU and CUDA FFTs differ in the last bits.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from synthlib.atomic import write_atomic
from synthlib.columns import BASELINE_NAMES
from synthlib.data.store import ImageDataset
from synthlib.device import resolve_device

DEFAULT_CS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
"""Inverse L2 regularisation strengths searched on the validation split (ascending)."""

MAX_ITER = 10_000
"""lbfgs iteration cap; a fit that reaches it is reported with ``converged=False``."""

SCATTERING_J = 2
SCATTERING_L = 8
SCATTERING_ORDER = 2
"""Scattering parameters: Oyallon & Mallat 2015, Gauthier et al. 2022 (study brief, section 4)."""

SCATTERING_BATCH_SIZE = 128
CACHE_ENV_VAR = "SYNTHLIB_CACHE"
_PREDICT_CHUNK = 1000


# --- features ----------------------------------------------------------------------------------------


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 (N, H, W, C), got {images.dtype} {images.shape}")
    return images


def unit_images(images: np.ndarray) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` images as float32 in [0, 1], same layout."""
    return _check_images(images).astype(np.float32) / np.float32(255)


def pixel_features(images: np.ndarray) -> np.ndarray:
    """Raw pixels in [0, 1], flattened: float32 ``(N, H * W * C)``."""
    unit = unit_images(images)
    return unit.reshape(len(unit), -1)


def scattering_transform(
    image_hw: tuple[int, int], J: int = SCATTERING_J, L: int = SCATTERING_L, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """kymatio's 2D scattering (order 2) for ``image_hw`` images, on ``device``.

    Imported from the 2D torch front end directly: kymatio 0.3.0's ``kymatio.torch`` also imports
    the 3D transform, which needs ``scipy.special.sph_harm`` (removed from current scipy).
    """
    from kymatio.scattering2d.frontend.torch_frontend import (  # type: ignore[import-untyped]
        ScatteringTorch2D,
    )

    module: torch.nn.Module = ScatteringTorch2D(J=J, shape=tuple(image_hw), L=L, max_order=SCATTERING_ORDER)
    return module.to(resolve_device(device))


def scattering_feature_count(image_shape: tuple[int, int, int], J: int = SCATTERING_J, L: int = SCATTERING_L) -> int:
    """Features per ``(H, W, C)`` image: ``C * (1 + J*L + L**2 * J*(J-1)/2) * (H // 2**J) * (W // 2**J)``.

    kymatio pads to ``(H // 2**J + 2) * 2**J``, subsamples by ``2**J`` and drops one border
    coefficient on each side, leaving ``H // 2**J`` rows (32 -> 8, 28 -> 7 for J=2).
    """
    height, width, channels = image_shape
    paths = 1 + J * L + L * L * J * (J - 1) // 2
    return channels * paths * (height // 2**J) * (width // 2**J)


def scattering_features(
    images: np.ndarray,
    J: int = SCATTERING_J,
    L: int = SCATTERING_L,
    batch_size: int = SCATTERING_BATCH_SIZE,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Scattering coefficients of each colour channel of the [0, 1] images, flattened: float32 ``(N, F)``.

    ``F = scattering_feature_count((H, W, C), J, L)`` (J=2, L=8: 81 coefficients per channel and
    position; 32x32x3 -> 3 x 81 x 8 x 8 = 15552, 28x28x1 -> 81 x 7 x 7 = 3969), ordered channel,
    coefficient, row, column. Computed in batches of ``batch_size`` under ``torch.inference_mode``;
    each image is transformed independently, so the batch size does not change the values (bit for
    bit on the CPU). Each batch is written into one preallocated array (CIFAR-10's test set: 0.62 GB, held
    once rather than as batches and their concatenation). No caching here (see ``ScatteringCache``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    images = _check_images(images)
    dev = resolve_device(device)
    _, height, width, channels = images.shape
    if len(images) == 0:
        return np.zeros((0, scattering_feature_count((height, width, channels), J, L)), np.float32)
    transform = scattering_transform((height, width), J=J, L=L, device=dev)
    features = np.empty((len(images), scattering_feature_count((height, width, channels), J, L)), np.float32)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):  # each batch written into ``features``: one copy
            nchw = np.ascontiguousarray(unit_images(images[start : start + batch_size]).transpose(0, 3, 1, 2))
            coefficients = transform(torch.from_numpy(nchw).to(dev))
            features[start : start + len(nchw)] = coefficients.reshape(len(nchw), -1).cpu().numpy()
    return features


# --- scattering cache -----------------------------------------------------------------------------------


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The argument, else ``$SYNTHLIB_CACHE``, else ``~/.cache/synthlib``."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "synthlib")


def images_digest(images: np.ndarray) -> str:
    """SHA-256 of an image array's dtype, shape and pixels."""
    images = np.ascontiguousarray(images)
    digest = hashlib.sha256(f"{images.dtype.str}{images.shape}".encode())
    digest.update(images.data)
    return digest.hexdigest()


def _save_npy_atomic(path: Path, array: np.ndarray) -> None:
    write_atomic(path, lambda handle: np.save(handle, array, allow_pickle=False))


def _load_npy(path: Path, shape: tuple[int, ...] | None, problems: list[str], mmap: bool = False) -> np.ndarray | None:
    """The float32 array at ``path`` (of ``shape`` if given); None if missing or unusable (noted in ``problems``)."""
    if not path.exists():
        return None
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (OSError, ValueError, EOFError) as error:
        problems.append(f"{path} ({type(error).__name__}: {error})")
        return None
    if array.dtype != np.float32 or (shape is not None and array.shape != shape):
        problems.append(f"{path} (holds {array.dtype} {array.shape}, expected float32 {shape})")
        return None
    return array


def _warn_recomputed(problems: list[str]) -> None:
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        warnings.warn(
            f"unreadable or malformed scattering cache file {problems[0]}{more}; recomputing",
            RuntimeWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class ScatteringCache:
    """Scattering features of one dataset's images on disk, keyed by image content (see module docstring)."""

    folder: Path
    image_shape: tuple[int, int, int]
    device: torch.device
    J: int = SCATTERING_J
    L: int = SCATTERING_L
    batch_size: int = SCATTERING_BATCH_SIZE

    @classmethod
    def for_dataset(
        cls,
        dataset_name: str,
        image_shape: tuple[int, int, int],
        cache_dir: str | os.PathLike[str] | None = None,
        device: str | torch.device = "auto",
        J: int = SCATTERING_J,
        L: int = SCATTERING_L,
    ) -> ScatteringCache:
        dev = resolve_device(device)
        height, width, channels = image_shape
        safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", dataset_name) or "_"
        version = importlib.metadata.version("kymatio")
        tag = f"{height}x{width}x{channels}-J{J}-L{L}-order{SCATTERING_ORDER}-kymatio{version}-{dev.type}"
        return cls(cache_root(cache_dir) / "scattering" / safe_name / tag, (height, width, channels), dev, J, L)

    @property
    def n_features(self) -> int:
        return scattering_feature_count(self.image_shape, self.J, self.L)

    def _compute(self, images: np.ndarray) -> np.ndarray:
        return scattering_features(images, J=self.J, L=self.L, batch_size=self.batch_size, device=self.device)

    def whole_set(self, images: np.ndarray) -> np.ndarray:
        """Features of ``images`` (e.g. a test set), cached as one file (memory-mapped when read back)."""
        path = self.folder / f"test-{images_digest(_check_images(images))[:32]}.npy"
        problems: list[str] = []
        cached = _load_npy(path, (len(images), self.n_features), problems, mmap=True)
        if cached is not None:
            return cached
        _warn_recomputed(problems)
        features = self._compute(images)
        _save_npy_atomic(path, features)
        return features

    def per_image(self, images: np.ndarray) -> np.ndarray:
        """Features of ``images``, each image cached in its own file; only the missing ones are computed."""
        images = _check_images(images)
        if len(images) == 0:
            return np.zeros((0, self.n_features), np.float32)
        paths = [self.folder / "images" / f"{images_digest(image)[:32]}.npy" for image in images]
        problems: list[str] = []
        found: dict[Path, np.ndarray] = {}
        for path in dict.fromkeys(paths):
            array = _load_npy(path, (self.n_features,), problems)
            if array is not None:
                found[path] = array
        _warn_recomputed(problems)
        todo: dict[Path, int] = {}  # missing file -> first image that needs it
        for i, path in enumerate(paths):
            if path not in found:
                todo.setdefault(path, i)
        if todo:
            for path, row in zip(todo, self._compute(images[list(todo.values())])):
                _save_npy_atomic(path, row)
                found[path] = row
        return np.stack([found[path] for path in paths])


# --- linear probe ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearProbe:
    """One fitted logistic regression and how its lbfgs run ended."""

    C: float
    model: Any  # sklearn LogisticRegression
    n_iter: int
    converged: bool


def check_cs(Cs: Sequence[float]) -> tuple[float, ...]:
    """The grid as floats; ``ValueError`` naming the value if one is not a finite positive number."""
    values = tuple(Cs)
    if not values:
        raise ValueError("Cs is empty; give at least one inverse regularisation strength C > 0")
    for C in values:
        if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)):
            raise ValueError(f"C must be a positive number, got {C!r}")
        if not (math.isfinite(C) and C > 0):
            raise ValueError(f"C must be a finite positive number, got C={C!r}")
    return tuple(float(C) for C in values)


def _fit_one(z_train: np.ndarray, y_train: np.ndarray, C: float, seed: int, max_iter: int) -> LinearProbe:
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(z_train, y_train)
    not_converged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:  # pass every warning on, including lbfgs's own
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    n_iter = int(np.max(model.n_iter_))
    return LinearProbe(C=C, model=model, n_iter=n_iter, converged=not not_converged and n_iter < max_iter)


def fit_linear_probes(
    x_train: np.ndarray, y_train: np.ndarray, Cs: Sequence[float], seed: int = 0, max_iter: int = MAX_ITER
) -> tuple[StandardScaler, list[LinearProbe]]:
    """Standardise with the training features' statistics, then fit multinomial L2 logistic regression per C."""
    Cs = check_cs(Cs)
    x64 = np.asarray(x_train, dtype=np.float64)
    y_train = np.asarray(y_train)
    with threadpool_limits(limits=1, user_api="blas"):
        scaler = StandardScaler().fit(x64)
        z_train = scaler.transform(x64)
        return scaler, [_fit_one(z_train, y_train, C, seed, max_iter) for C in Cs]


def probe_accuracies(
    scaler: StandardScaler, probes: Sequence[LinearProbe], features: np.ndarray, labels: np.ndarray
) -> list[float]:
    """Accuracy (correct / images) of each probe on ``features``, standardised once in chunks."""
    labels = np.asarray(labels)
    if len(features) != len(labels) or len(labels) == 0:
        raise ValueError(f"need as many labels as feature rows (> 0), got {len(labels)} and {len(features)}")
    correct = np.zeros(len(probes), dtype=np.int64)
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, len(labels), _PREDICT_CHUNK):
            z = scaler.transform(np.asarray(features[start : start + _PREDICT_CHUNK], dtype=np.float64))
            truth = labels[start : start + _PREDICT_CHUNK]
            for k, probe in enumerate(probes):
                correct[k] += int(np.count_nonzero(probe.model.predict(z) == truth))
    return [int(c) / len(labels) for c in correct]


# --- baselines --------------------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if name not in BASELINE_NAMES:
        raise ValueError(f"unknown baseline {name!r}; valid baselines are: {', '.join(BASELINE_NAMES)}")


def _check_indices(indices: np.ndarray, pool_size: int, label: str) -> np.ndarray:
    array = np.asarray(indices)
    if array.ndim != 1 or len(array) == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{label} must be a non-empty 1-D array of integer indices, got {array.dtype} {array.shape}")
    if array.min() < 0 or array.max() >= pool_size:
        raise ValueError(f"{label} holds indices outside the training pool [0, {pool_size})")
    return array.astype(np.int64)


def baseline_scores(
    name: str,
    data: ImageDataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    Cs: Sequence[float] = DEFAULT_CS,
    seed: int = 0,
    include_test: bool = True,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "auto",
) -> list[dict[str, Any]]:
    """Validation and test accuracy of baseline ``name`` for each C, fitted on ``data.x_train[train_idx]``.

    Returns one dict per C, in grid order: ``{"C", "val_accuracy", "test_accuracy", "n_iter",
    "converged"}``; accuracies are correct / images, the test one on the full ``data.x_test``, or
    None when ``include_test`` is False (then the test set is never read). C is chosen on
    validation accuracy by ``synthlib.selection.best_by_mean``. ``cache_dir`` and ``device`` matter
    only for ``"scattering"``.
    """
    _check_name(name)
    Cs = check_cs(Cs)
    pool_size = len(data.x_train)
    train_idx = _check_indices(train_idx, pool_size, "train_idx")
    val_idx = _check_indices(val_idx, pool_size, "val_idx")
    if np.intersect1d(train_idx, val_idx).size:
        raise ValueError("train_idx and val_idx overlap; the validation split must be disjoint from training")

    both = np.concatenate([train_idx, val_idx])
    cache = None
    if name == "scattering":
        cache = ScatteringCache.for_dataset(data.name, data.image_shape, cache_dir, device)
        features = cache.per_image(data.x_train[both])
    else:
        features = pixel_features(data.x_train[both])
    x_train, x_val = features[: len(train_idx)], features[len(train_idx) :]

    scaler, probes = fit_linear_probes(x_train, data.y_train[train_idx], Cs, seed=seed)
    val_accuracy = probe_accuracies(scaler, probes, x_val, data.y_train[val_idx])
    test_accuracy: list[float | None] = [None] * len(probes)
    if include_test:
        x_test = cache.whole_set(data.x_test) if cache is not None else pixel_features(data.x_test)
        test_accuracy = list(probe_accuracies(scaler, probes, x_test, data.y_test))
    return [
        {"C": p.C, "val_accuracy": val, "test_accuracy": test, "n_iter": p.n_iter, "converged": p.converged}
        for p, val, test in zip(probes, val_accuracy, test_accuracy)
    ]


def baseline_parameters(name: str) -> dict[str, Any]:
    """Everything besides C that decides a baseline's result, as recorded in its runs' configuration."""
    _check_name(name)
    probe = {"standardize": "training subset", "classifier": "multinomial logistic regression, lbfgs, L2"}
    probe["max_iter"] = MAX_ITER  # type: ignore[assignment]
    if name == "logreg_pixels":
        return {"features": "pixels / 255", **probe}
    return {
        "features": "scattering",
        "J": SCATTERING_J,
        "L": SCATTERING_L,
        "order": SCATTERING_ORDER,
        "kymatio": importlib.metadata.version("kymatio"),
        **probe,
    }
