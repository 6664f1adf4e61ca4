"""Small built-in synthetic datasets, so that notebooks and tests run offline in seconds.

Each of the 10 classes is a fixed random smooth template (a sum of a few oriented blobs); an image
is its class template, randomly shifted by up to 2 pixels, plus pixel noise, clipped to uint8. A
small CNN learns them well above chance but not perfectly, which is what a regression check needs.
They are generated on every load from a fixed seed, never written to disk.
"""

from __future__ import annotations

import numpy as np

SYNTHETIC_DATASETS: dict[str, dict[str, int]] = {
    "synthetic_gray": {"height": 28, "width": 28, "channels": 1},
    "synthetic_rgb": {"height": 32, "width": 32, "channels": 3},
}
N_CLASSES = 10
TRAIN_PER_CLASS = 100
TEST_PER_CLASS = 50
_SEED = 20170701


def _templates(rng: np.random.Generator, height: int, width: int, channels: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    templates = np.zeros((N_CLASSES, height, width, channels))
    for c in range(N_CLASSES):
        for _ in range(4):
            cy, cx = rng.uniform(4, height - 4), rng.uniform(4, width - 4)
            sy, sx = rng.uniform(1.5, 5.0, size=2)
            colour = rng.uniform(-1, 1, size=channels)
            blob = np.exp(-((yy - cy) ** 2) / (2 * sy**2) - ((xx - cx) ** 2) / (2 * sx**2))
            templates[c] += blob[..., None] * colour
    return templates


def _draw(rng: np.random.Generator, templates: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat(np.arange(N_CLASSES), per_class)
    rng.shuffle(labels)
    shifts = rng.integers(-2, 3, size=(len(labels), 2))
    images = np.stack([np.roll(templates[y], tuple(s), axis=(0, 1)) for y, s in zip(labels, shifts)])
    images = 128 + 80 * images + rng.normal(0, 70, size=images.shape)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels.astype(np.int64)


def make_synthetic_dataset(name: str) -> dict[str, np.ndarray]:
    """Arrays x_train, y_train, x_test, y_test of the synthetic dataset ``name`` (deterministic)."""
    shape = SYNTHETIC_DATASETS[name]
    rng = np.random.default_rng(_SEED + shape["channels"])
    templates = _templates(rng, shape["height"], shape["width"], shape["channels"])
    x_train, y_train = _draw(rng, templates, TRAIN_PER_CLASS)
    x_test, y_test = _draw(rng, templates, TEST_PER_CLASS)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
