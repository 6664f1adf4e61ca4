"""Dataset files: ``<root>/<name>.npz`` in one layout, verified, and fetched through torchvision.

Layout (that of ``../shared/data``): ``x_train``, ``x_test`` uint8 ``(N, H, W, C)``; ``y_train``,
``y_test`` int64 class indices. The root is the ``root`` argument, else the environment variable
``SYNTHLIB_DATA``, else the repository's ``data/`` folder (``data_root``).

If ``<root>/<name>.npz`` exists it is used, whatever the name. Otherwise MNIST, Fashion-MNIST,
CIFAR-10 and SVHN are downloaded with torchvision into ``<root>/torchvision`` and converted to the
layout above, written atomically with a ``.sha256`` file beside it.

Every load checks the file's SHA-256 against the ``.sha256`` beside it or, for the files of
``../shared/data``, against the published checksums, so a truncated or altered file is named as
such instead of failing somewhere deep inside numpy.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthlib.atomic import write_atomic, write_text_atomic
from synthlib.data.synthetic import SYNTHETIC_DATASETS, make_synthetic_dataset
from synthlib.provenance import REPO_ROOT

DATA_ENV_VAR = "SYNTHLIB_DATA"
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
DATASET_NAME_PATTERN = re.compile(r"[A-Za-z0-9_]+")  # a plain identifier: never a path, never a suffix

KNOWN_SHA256 = {
    # ../shared/data/PROVENANCE.md: bit-exact rebuilds of the official releases.
    "mnist": "290bf974740ecfe91d1a02b98c88b22d78409fa36bd249be9ac57511faabd73b",
    "cifar10": "8683afb7f9f44b57934bfaa6d00b27bedd9711b49b686bb037107d5091a13529",
}


class DatasetError(RuntimeError):
    """A dataset that cannot be used: missing, unavailable, corrupt or malformed."""


@dataclass(frozen=True)
class ImageDataset:
    """An image classification dataset as uint8 ``(N, H, W, C)`` images and int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Where datasets live, resolved in one place for notebooks, scripts and tests: the argument, else
    ``$SYNTHLIB_DATA``, else the repository's ``data/`` folder; always absolute, so a notebook running
    in ``notebooks/`` and a script running at the top find the same files."""
    chosen = root if root is not None else os.environ.get(DATA_ENV_VAR) or REPO_ROOT / "data"
    return Path(chosen).expanduser().resolve()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def expected_sha256(name: str, path: Path) -> str | None:
    """The checksum a file must have: from its ``.sha256`` sidecar, else the published one."""
    sidecar = _checksum_sidecar(path)
    if sidecar.exists():
        words = sidecar.read_text().split()
        if not words:
            raise DatasetError(f"{sidecar} is empty; delete it and {path} so that the dataset is fetched again")
        return words[0].lower()
    return KNOWN_SHA256.get(name)


def verify_checksum(name: str, path: Path) -> None:
    """Raise ``DatasetError`` naming the file and both checksums when they differ."""
    expected = expected_sha256(name, path)
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise DatasetError(
            f"checksum mismatch for {path}: sha256 is {actual}, expected {expected}. The file is "
            f"truncated or altered; replace it with a genuine copy (or delete it so that it is downloaded again)."
        )


def validate_dataset_name(name: str) -> None:
    """Raise ``DatasetError`` unless ``name`` is a plain identifier (letters, digits, underscores).

    A name selects ``<root>/<name>.npz``; a separator, ``..`` or a suffix would make it a path that
    can point outside the data root, so such names are refused instead of looked up.
    """
    if not isinstance(name, str) or DATASET_NAME_PATTERN.fullmatch(name) is None:
        raise DatasetError(
            f"invalid dataset name {name!r}: a dataset name is a plain identifier (letters, digits, underscores; "
            f"no path separators, dots or '.npz'), e.g. 'mnist'. To use a file elsewhere, pass the folder "
            f"that holds <name>.npz as the root argument or set {DATA_ENV_VAR} to it."
        )


def validate_labels(y_train: np.ndarray, y_test: np.ndarray, source: Path | str) -> None:
    """Labels are exactly the class indices 0..K-1: every class in ``y_train``, ``y_test`` within them.

    K is the number of distinct training labels; a gap (e.g. one index far above the rest) would
    otherwise widen the classifier head or fail later, far from the file that caused it.
    """
    classes = np.unique(y_train)
    if not np.array_equal(classes, np.arange(len(classes))):
        missing = np.setdiff1d(np.arange(int(classes.max()) + 1 if len(classes) else 0), classes)
        raise DatasetError(
            f"{source}: y_train must hold exactly the class indices 0..K-1 with every class present; it holds "
            f"{len(classes)} distinct labels from {classes.min() if len(classes) else None} to "
            f"{classes.max() if len(classes) else None} (absent: {missing[:10].tolist()}"
            f"{' ...' if len(missing) > 10 else ''}). Renumber the labels to 0..K-1, "
            f"e.g. np.unique(y, return_inverse=True)[1] over train and test together."
        )
    outside = np.setdiff1d(np.unique(y_test), classes)
    if len(outside):
        raise DatasetError(
            f"{source}: y_test holds labels {outside[:10].tolist()} that are not among the {len(classes)} "
            f"training classes 0..{len(classes) - 1}; every test label must be a class present in training."
        )


def validate_arrays(name: str, arrays: dict[str, np.ndarray], source: Path | str) -> None:
    """Check keys, dtypes, ranks and labels (exactly 0..K-1); errors name the file and the offending array."""
    missing = [key for key in ARRAY_KEYS if key not in arrays]
    if missing:
        raise DatasetError(f"{source} lacks arrays {missing}; a dataset file holds {list(ARRAY_KEYS)}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 4:
            raise DatasetError(f"{source}: x_{split} must be uint8 (N, H, W, C), got {x.dtype} {x.shape}")
        if y.ndim != 1 or len(y) != len(x):
            raise DatasetError(f"{source}: y_{split} must be 1-D with {len(x)} labels, got shape {y.shape}")
        if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
            raise DatasetError(f"{source}: y_{split} must hold non-negative integer class indices")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DatasetError(f"{source}: train and test images differ in shape")
    validate_labels(arrays["y_train"], arrays["y_test"], source)


def write_dataset_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` atomically, with its ``.sha256`` sidecar written first: a crash
    between the two writes leaves a sidecar that no file on disk matches, which the next load names."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{key: arrays[key] for key in ARRAY_KEYS})  # type: ignore[arg-type]
    payload = buffer.getvalue()
    write_text_atomic(_checksum_sidecar(path), f"{hashlib.sha256(payload).hexdigest()}  {path.name}\n")
    write_atomic(path, lambda handle: handle.write(payload))


def read_dataset_npz(name: str, path: Path) -> ImageDataset:
    """Load and verify ``path``; corrupt or malformed files raise ``DatasetError`` naming the file."""
    verify_checksum(name, path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as error:
        raise DatasetError(f"cannot read {path}: {error}. Replace it with a genuine copy.") from error
    validate_arrays(name, arrays, path)
    return ImageDataset(
        name=name,
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int64),
    )


# --- torchvision ----------------------------------------------------------------------------------


def _torchvision_mnist_like(class_name: str) -> Callable[[Path], dict[str, np.ndarray]]:
    def fetch(download_root: Path) -> dict[str, np.ndarray]:
        import torchvision.datasets as tvd

        cls = getattr(tvd, class_name)
        arrays = {}
        for split, train in (("train", True), ("test", False)):
            ds = cls(root=str(download_root), train=train, download=True)
            arrays[f"x_{split}"] = ds.data.numpy().astype(np.uint8)[..., None]
            arrays[f"y_{split}"] = ds.targets.numpy().astype(np.int64)
        return arrays

    return fetch


def _torchvision_cifar10(download_root: Path) -> dict[str, np.ndarray]:
    import torchvision.datasets as tvd

    arrays = {}
    for split, train in (("train", True), ("test", False)):
        ds = tvd.CIFAR10(root=str(download_root), train=train, download=True)
        arrays[f"x_{split}"] = np.asarray(ds.data, dtype=np.uint8)
        arrays[f"y_{split}"] = np.asarray(ds.targets, dtype=np.int64)
    return arrays


def _torchvision_svhn(download_root: Path) -> dict[str, np.ndarray]:
    import torchvision.datasets as tvd

    arrays = {}
    for split in ("train", "test"):
        ds = tvd.SVHN(root=str(download_root), split=split, download=True)  # labels: digit 0 is class 0
        arrays[f"x_{split}"] = np.ascontiguousarray(np.transpose(ds.data, (0, 2, 3, 1)), dtype=np.uint8)
        arrays[f"y_{split}"] = np.asarray(ds.labels, dtype=np.int64)
    return arrays


TORCHVISION_FETCHERS: dict[str, Callable[[Path], dict[str, np.ndarray]]] = {
    "mnist": _torchvision_mnist_like("MNIST"),
    "fashion_mnist": _torchvision_mnist_like("FashionMNIST"),
    "cifar10": _torchvision_cifar10,
    "svhn": _torchvision_svhn,
}


def known_dataset_names() -> list[str]:
    """Names that load without a file of their own: downloadable ones and the built-in synthetic ones."""
    return sorted(set(TORCHVISION_FETCHERS) | set(SYNTHETIC_DATASETS))


def dataset_path(name: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/<name>.npz``; ``name`` must be a plain identifier (``validate_dataset_name``)."""
    validate_dataset_name(name)
    return data_root(root) / f"{name}.npz"


def load_dataset(name: str, root: str | os.PathLike | None = None) -> ImageDataset:
    """Load ``name`` as uint8 ``(N, H, W, C)`` arrays.

    Order: ``<root>/<name>.npz`` if it exists (any name); else one of the built-in synthetic
    datasets (``synthetic_gray``, ``synthetic_rgb``; generated, never written); else a torchvision
    download, cached as ``<root>/<name>.npz``. Errors name the file looked for and how to provide it.
    ``name`` is a plain identifier and labels are exactly 0..K-1 (``validate_dataset_name``,
    ``validate_labels``); anything else raises ``DatasetError`` saying how to fix it.
    """
    path = dataset_path(name, root)
    if path.exists():
        return read_dataset_npz(name, path)
    if name in SYNTHETIC_DATASETS:
        return ImageDataset(name=name, **make_synthetic_dataset(name))
    if name not in TORCHVISION_FETCHERS:
        raise DatasetError(
            f"unknown dataset {name!r}: no file {path} and no download for it. Valid dataset names are: "
            f"{', '.join(known_dataset_names())}; any other name needs {path} in the layout x_train, "
            f"y_train, x_test, y_test (uint8 images N,H,W,C)."
        )
    download_root = path.parent / "torchvision"
    created_download_root = not download_root.exists()
    try:
        arrays = TORCHVISION_FETCHERS[name](download_root)
    except Exception as error:  # torchvision raises RuntimeError, URLError, OSError... when offline
        reason = (str(error).strip().splitlines() or [""])[0]
        if created_download_root:  # leave no empty or partial download folders behind
            shutil.rmtree(download_root, ignore_errors=True)
        raise DatasetError(
            f"dataset {name!r} is not available: {path} does not exist and the torchvision download into "
            f"{download_root} failed ({type(error).__name__}: {reason}). "
            f"Either connect to the internet and retry, or place the dataset at {path} "
            f"(arrays x_train, y_train, x_test, y_test; uint8 images N,H,W,C), or set {DATA_ENV_VAR} "
            f"to a folder that holds {name}.npz."
        ) from error
    validate_arrays(name, arrays, f"torchvision {name}")
    write_dataset_npz(path, arrays)
    return read_dataset_npz(name, path)
