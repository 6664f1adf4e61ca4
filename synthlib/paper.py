"""The published reference values: Table 1 of Karimi et al. (CCN 2017, arXiv 1707.00081), and the
small-data accuracies of other studies that the learning curves are set beside (``LITERATURE_ANCHORS``).

Table 1: test accuracy in percent, mean and std over 3 runs, 38 training images per class. These are the
paper's numbers, kept only to compare the study's own results against; nothing is computed from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

PAPER_TABLE1: dict[tuple[str, str], tuple[float, float]] = {
    ("cifar10", "normal"): (19.83, 0.74),
    ("cifar10", "lognormal"): (25.67, 0.17),
    ("cifar10", "center_surround"): (26.40, 0.74),
    ("cifar10", "fully_trained"): (20.37, 0.62),
    ("mnist", "normal"): (72.52, 0.21),
    ("mnist", "lognormal"): (80.89, 0.45),
    ("mnist", "center_surround"): (78.08, 1.19),
    ("mnist", "fully_trained"): (79.01, 1.39),
    ("svhn", "normal"): (26.40, 0.22),
    ("svhn", "lognormal"): (30.32, 0.17),
    ("svhn", "center_surround"): (30.86, 0.57),
    ("svhn", "fully_trained"): (27.70, 1.79),
}


def paper_table1() -> pd.DataFrame:
    """The paper's Table 1 as rows (dataset, method, paper_mean, paper_std), in percent."""
    return pd.DataFrame(
        [(d, m, mean, std) for (d, m), (mean, std) in PAPER_TABLE1.items()],
        columns=["dataset", "method", "paper_mean", "paper_std"],
    )


@dataclass(frozen=True)
class LiteratureAnchor:
    """One published small-data accuracy to set beside the curves (``accuracy`` in percent, on the
    full official test set; ``per_class`` training images per class); ``difference`` says how its
    protocol differs from this study's."""

    method: str
    dataset: str
    per_class: int
    accuracy: float
    source: str
    difference: str


def _anchors(
    method: str, dataset: str, sizes: Sequence[int], accuracies: Sequence[float], source: str, difference: str
) -> tuple[LiteratureAnchor, ...]:
    return tuple(LiteratureAnchor(method, dataset, n, a, source, difference) for n, a in zip(sizes, accuracies))


LITERATURE_ANCHORS: tuple[LiteratureAnchor, ...] = (
    *_anchors(
        "fixed Morlet scattering + linear",
        "cifar10",
        (10, 50, 100),
        (36.0, 48.1, 53.3),
        "Gauthier et al., CVPR 2022",
        "with augmentation",
    ),
    *_anchors(
        "CNTK",
        "cifar10",
        (16, 32, 64),
        (30.5, 36.6, 42.6),
        "Arora et al., ICLR 2020",
        "14-layer CNTK, no augmentation",
    ),
    *_anchors(
        "ResNet-34",
        "cifar10",
        (16, 32, 64),
        (28.3, 33.2, 41.7),
        "Arora et al., ICLR 2020",
        "34-layer ResNet trained end to end",
    ),
)
"""Published CIFAR-10 accuracies at small training sizes (full official test set), quoted from the
study brief (``shared/docs/STUDY_BRIEF.md``, section 5, "small-data anchors"): a fixed Morlet
scattering transform with a linear classifier (Gauthier et al., "Parametric scattering networks",
CVPR 2022, trained with augmentation) at 10 / 50 / 100 images per class, and a 14-layer
convolutional neural tangent kernel and a ResNet-34 (Arora et al., "Harnessing the power of
infinitely wide deep nets on small-data tasks", ICLR 2020) at 16 / 32 / 64 images per class. They
are anchors for the eye, not comparisons: their architectures, training and augmentation differ."""
