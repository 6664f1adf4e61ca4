"""Tests of synthlib.data: the dataset store, the torchvision path (offline), synthetic data, subsets,
and of the seeding and device helpers."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import scipy.io
import torch
import torchvision.datasets as tvd

from synthlib.data import store
from synthlib.data.store import (
    ARRAY_KEYS,
    DATA_ENV_VAR,
    KNOWN_SHA256,
    TORCHVISION_FETCHERS,
    DatasetError,
    data_root,
    dataset_path,
    known_dataset_names,
    load_dataset,
    sha256_of,
    write_dataset_npz,
)
from synthlib.data.subsets import few_shot_split
from synthlib.data.synthetic import N_CLASSES, SYNTHETIC_DATASETS, TEST_PER_CLASS, TRAIN_PER_CLASS
from synthlib.device import resolve_device
from synthlib.seeding import derive_seed, make_generator
from tests.conftest import REPO_ROOT

# --- helpers -----------------------------------------------------------------------------------------


def make_arrays(n_train: int = 20, n_test: int = 10, shape=(4, 4, 1), seed: int = 0) -> dict[str, np.ndarray]:
    """A tiny dataset in the store's layout."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.int64),
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.int64),
    }


def assert_arrays_equal(ds: store.ImageDataset, arrays: dict[str, np.ndarray]) -> None:
    for key in ARRAY_KEYS:
        got = getattr(ds, key)
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == (np.uint8 if key.startswith("x_") else np.int64), key


def tmp_leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def saved_npz(tmp_path: Path, name: str = "toy", **kwargs) -> tuple[Path, dict[str, np.ndarray]]:
    arrays = make_arrays(**kwargs)
    path = tmp_path / f"{name}.npz"
    write_dataset_npz(path, arrays)
    return path, arrays


def fail_fetch(download_root: Path):
    raise URLError("offline (test)")


# --- root resolution ------------------------------------------------------------------------------------


def test_root_argument_wins_over_env(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert dataset_path("mnist", tmp_path / "arg") == tmp_path / "arg" / "mnist.npz"


def test_root_env_var_when_no_argument(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert dataset_path("cifar10") == tmp_path / "env" / "cifar10.npz"


@pytest.mark.parametrize("env_value", [None, ""])
def test_root_defaults_to_the_repository_data_folder(tmp_path, monkeypatch, env_value):
    if env_value is None:
        monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(DATA_ENV_VAR, env_value)
    monkeypatch.chdir(tmp_path)  # wherever the caller runs: a notebook in notebooks/, a script at the top
    assert data_root() == REPO_ROOT / "data"


def test_root_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_ENV_VAR, "relative/data")
    assert data_root() == tmp_path / "relative" / "data"


def test_load_uses_the_env_root(tmp_path, monkeypatch):
    arrays = make_arrays(seed=1)
    write_dataset_npz(tmp_path / "env" / "toy.npz", arrays)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    assert_arrays_equal(load_dataset("toy"), arrays)


# --- npz files: any name ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["toy", "mnist", "synthetic_gray"])
def test_npz_round_trip_any_name(tmp_path, name):
    path, arrays = saved_npz(tmp_path, name, shape=(5, 6, 3))
    sidecar = tmp_path / f"{name}.npz.sha256"
    assert sidecar.exists()
    assert sidecar.read_text().split()[0] == sha256_of(path)
    assert tmp_leftovers(tmp_path) == []
    ds = load_dataset(name, tmp_path)  # the file wins over synthetic/torchvision/KNOWN_SHA256
    assert ds.name == name
    assert ds.image_shape == (5, 6, 3)
    assert ds.n_classes == 10
    assert_arrays_equal(ds, arrays)


def test_npz_labels_of_other_integer_dtype_become_int64(tmp_path):
    arrays = make_arrays()
    arrays["y_train"] = arrays["y_train"].astype(np.uint8)
    np.savez(tmp_path / "toy.npz", **arrays)
    ds = load_dataset("toy", tmp_path)
    assert ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.y_train, arrays["y_train"])


# --- torchvision, offline, in each dataset's own format -------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """An uncompressed IDX file: magic 0x0000 08 <ndim> (uint8), big-endian dims, then the data."""
    magic = {3: 2051, 1: 2049}[array.ndim]
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">i", magic) + struct.pack(f">{array.ndim}i", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def mnist_like_raw(root: Path, class_name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    arrays = {
        "x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "y_train": rng.permutation(np.arange(12) % 10).astype(np.uint8),  # every class present
        "x_test": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 7).astype(np.uint8),
    }
    raw = root / "torchvision" / class_name / "raw"
    for split, prefix in (("train", "train"), ("test", "t10k")):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", arrays[f"x_{split}"])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", arrays[f"y_{split}"])
    return arrays


@pytest.mark.parametrize("name, class_name", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_torchvision_mnist_like_from_idx_files(tmp_path, monkeypatch, name, class_name):
    raw = mnist_like_raw(tmp_path, class_name)
    ds = load_dataset(name, tmp_path)
    assert ds.x_train.shape == (12, 28, 28, 1) and ds.x_test.shape == (7, 28, 28, 1)
    expected = {k: (v[..., None] if k.startswith("x_") else v.astype(np.int64)) for k, v in raw.items()}
    assert_arrays_equal(ds, expected)

    # Cached atomically in the store layout, with a matching sidecar.
    cached = tmp_path / f"{name}.npz"
    assert cached.exists()
    assert (tmp_path / f"{name}.npz.sha256").read_text().split()[0] == sha256_of(cached)
    assert tmp_leftovers(tmp_path) == []

    # The second load reads the cache: no raw files and no fetcher needed.
    shutil.rmtree(tmp_path / "torchvision")
    monkeypatch.setitem(TORCHVISION_FETCHERS, name, fail_fetch)
    assert_arrays_equal(load_dataset(name, tmp_path), expected)


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_torchvision_svhn_from_mat_files(tmp_path, monkeypatch):
    folder = tmp_path / "torchvision"
    folder.mkdir()
    split_list = {key: list(value) for key, value in tvd.SVHN.split_list.items()}
    originals = {}
    for split, n in (("train", 5), ("test", 3)):
        # Distinct values per (h, w, c, n) so that any wrong transposition shows.
        X = (np.arange(32 * 32 * 3 * n).reshape(32, 32, 3, n) % 251).astype(np.uint8)
        X = np.ascontiguousarray(np.roll(X, split == "test", axis=3))
        y = (np.arange(n) % 10 + 1).reshape(n, 1).astype(np.uint8)  # 1..10; 10 is the digit 0
        y[-1, 0] = 10
        scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": X, "y": y})
        split_list[split][2] = md5_of(folder / f"{split}_32x32.mat")
        originals[split] = (X, y)
    monkeypatch.setattr(tvd.SVHN, "split_list", split_list)

    ds = load_dataset("svhn", tmp_path)
    for split, (X, y) in originals.items():
        x = getattr(ds, f"x_{split}")
        n = X.shape[3]
        assert x.shape == (n, 32, 32, 3) and x.dtype == np.uint8
        np.testing.assert_array_equal(x, np.transpose(X, (3, 0, 1, 2)))
        assert x[n - 1, 3, 17, 2] == X[3, 17, 2, n - 1]
        labels = getattr(ds, f"y_{split}")
        np.testing.assert_array_equal(labels, np.where(y[:, 0] == 10, 0, y[:, 0]))
        assert labels[-1] == 0 and labels.min() >= 0 and labels.max() <= 9
    assert (tmp_path / "svhn.npz").exists() and (tmp_path / "svhn.npz.sha256").exists()
    assert tmp_leftovers(tmp_path) == []


def test_torchvision_cifar10_from_pickled_batches(tmp_path, monkeypatch):
    folder = tmp_path / "torchvision" / tvd.CIFAR10.base_folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(4)
    rows = {}
    label_stream = iter(np.concatenate([rng.permutation(10), rng.integers(0, 10, 3)]))  # every class in train

    def batch(file_name: str, n: int) -> list[str]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)  # R plane, G plane, B plane; row-major
        labels = [int(next(label_stream)) for _ in range(n)]
        with open(folder / file_name, "wb") as handle:
            pickle.dump({"data": data, "labels": labels}, handle)
        rows[file_name] = (data, labels)
        return [file_name, md5_of(folder / file_name)]

    train_list = [batch(f"data_batch_{i}", 2) for i in range(1, 6)]
    test_list = [batch("test_batch", 3)]
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, handle)
    meta = dict(tvd.CIFAR10.meta, md5=md5_of(folder / "batches.meta"))
    monkeypatch.setattr(tvd.CIFAR10, "train_list", train_list)
    monkeypatch.setattr(tvd.CIFAR10, "test_list", test_list)
    monkeypatch.setattr(tvd.CIFAR10, "meta", meta)

    ds = load_dataset("cifar10", tmp_path)
    for split, names in (("train", [f"data_batch_{i}" for i in range(1, 6)]), ("test", ["test_batch"])):
        data = np.concatenate([rows[n][0] for n in names])
        labels = sum((rows[n][1] for n in names), [])
        x = getattr(ds, f"x_{split}")
        assert x.shape == (len(data), 32, 32, 3)
        np.testing.assert_array_equal(x, data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        assert x[1, 5, 9, 2] == data[1, 2 * 1024 + 5 * 32 + 9]
        np.testing.assert_array_equal(getattr(ds, f"y_{split}"), labels)
    assert (tmp_path / "cifar10.npz.sha256").exists()
    assert tmp_leftovers(tmp_path) == []


def assert_unavailable_message(error: DatasetError, name: str, root: Path) -> None:
    message = str(error)
    assert str(root / f"{name}.npz") in message
    assert DATA_ENV_VAR in message
    assert f"{name}.npz" in message and "x_train" in message


@pytest.mark.parametrize("name", ["svhn", "cifar10", "mnist", "fashion_mnist"])
def test_offline_and_absent_raises_dataset_error(tmp_path, monkeypatch, name):
    monkeypatch.setitem(TORCHVISION_FETCHERS, name, fail_fetch)
    with pytest.raises(DatasetError, match="not available") as info:
        load_dataset(name, tmp_path)
    assert_unavailable_message(info.value, name, tmp_path)
    assert "URLError" in str(info.value)
    assert not (tmp_path / f"{name}.npz").exists()


def test_offline_real_torchvision_svhn_fetch_fails_cleanly(tmp_path):
    """The genuine torchvision code path, with no network: a DatasetError, not a hang or a traceback."""
    with pytest.raises(DatasetError) as info:
        load_dataset("svhn", tmp_path)
    assert_unavailable_message(info.value, "svhn", tmp_path)
    assert not (tmp_path / "svhn.npz").exists()


def test_unknown_dataset_lists_valid_names(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet_tiny'") as info:
        load_dataset("imagenet_tiny", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "imagenet_tiny.npz") in message
    for valid in ["cifar10", "fashion_mnist", "mnist", "svhn", "synthetic_gray", "synthetic_rgb"]:
        assert valid in message
    assert known_dataset_names() == sorted(set(TORCHVISION_FETCHERS) | set(SYNTHETIC_DATASETS))


# --- corrupt and malformed files -----------------------------------------------------------------------


def truncate(path, keep: int | float) -> None:
    """Keep the first ``keep`` bytes (an int), a fraction of them (a float), or all but the last (-1)."""
    raw = path.read_bytes()
    n = keep if isinstance(keep, int) and keep >= 0 else (len(raw) - 1 if keep == -1 else int(len(raw) * keep))
    path.write_bytes(raw[:n])


@pytest.mark.parametrize("keep", [0, 10, 0.5, -1])
def test_truncated_npz_with_sidecar_is_checksum_mismatch(tmp_path, keep):
    path, _ = saved_npz(tmp_path)
    truncate(path, keep)
    with pytest.raises(DatasetError, match="checksum mismatch") as info:
        load_dataset("toy", tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_altered_byte_with_sidecar_is_checksum_mismatch(tmp_path, where):
    path, _ = saved_npz(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[int(len(raw) * where)] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="checksum mismatch") as info:
        load_dataset("toy", tmp_path)
    assert str(path) in str(info.value)
    assert sha256_of(path) in str(info.value)


@pytest.mark.parametrize("keep", [0, 3, 10, 0.5, -1])
def test_truncated_npz_without_sidecar_cannot_be_read(tmp_path, keep):
    path, _ = saved_npz(tmp_path)
    (tmp_path / "toy.npz.sha256").unlink()
    assert "toy" not in KNOWN_SHA256
    truncate(path, keep)
    with pytest.raises(DatasetError, match="cannot read") as info:
        load_dataset("toy", tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", sorted(KNOWN_SHA256))
def test_known_name_without_sidecar_checked_against_published_sha256(tmp_path, name):
    path = tmp_path / f"{name}.npz"
    path.write_bytes(b"not the published file")
    with pytest.raises(DatasetError, match="checksum mismatch") as info:
        load_dataset(name, tmp_path)
    assert KNOWN_SHA256[name] in str(info.value)
    assert str(path) in str(info.value)


def test_sidecar_takes_precedence_over_published_sha256(tmp_path):
    """A self-made mnist.npz with its own sidecar is accepted (the sidecar, not KNOWN_SHA256, applies)."""
    path, arrays = saved_npz(tmp_path, "mnist")
    assert sha256_of(path) != KNOWN_SHA256["mnist"]
    assert_arrays_equal(load_dataset("mnist", tmp_path), arrays)


@pytest.mark.parametrize("missing", ARRAY_KEYS)
def test_npz_missing_array_named(tmp_path, missing):
    arrays = make_arrays()
    del arrays[missing]
    np.savez(tmp_path / "toy.npz", **arrays)
    with pytest.raises(DatasetError, match="lacks arrays") as info:
        load_dataset("toy", tmp_path)
    assert repr([missing]) in str(info.value)
    assert str(tmp_path / "toy.npz") in str(info.value)


@pytest.mark.parametrize(
    "key, value",
    [
        ("x_train", lambda a: a["x_train"].astype(np.float32)),
        ("x_test", lambda a: a["x_test"].astype(np.int64)),
        ("x_train", lambda a: a["x_train"][..., 0]),  # rank 3
        ("y_train", lambda a: a["y_train"].astype(np.float64)),
        ("y_test", lambda a: a["y_test"][:-1]),  # one label short
        ("y_test", lambda a: -a["y_test"] - 1),  # negative labels
    ],
)
def test_npz_bad_array_named(tmp_path, key, value):
    arrays = make_arrays()
    arrays[key] = value(arrays)
    np.savez(tmp_path / "toy.npz", **arrays)
    with pytest.raises(DatasetError) as info:
        load_dataset("toy", tmp_path)
    assert key in str(info.value)
    assert str(tmp_path / "toy.npz") in str(info.value)


def test_npz_train_test_shape_mismatch(tmp_path):
    arrays = make_arrays()
    arrays["x_test"] = np.zeros((10, 5, 4, 1), np.uint8)
    np.savez(tmp_path / "toy.npz", **arrays)
    with pytest.raises(DatasetError, match="differ in shape"):
        load_dataset("toy", tmp_path)


# --- labels are exactly 0..K-1; names are plain identifiers ---------------------------------------------


@pytest.mark.parametrize(
    "relabel, problem",
    [
        (lambda a: {**a, "y_train": np.where(a["y_train"] == 9, 1000, a["y_train"])}, "y_train"),  # one far above
        (lambda a: {**a, "y_train": a["y_train"] + 1, "y_test": a["y_test"] + 1}, "y_train"),  # 1..K, no class 0
        (lambda a: {**a, "y_train": np.where(a["y_train"] == 4, 5, a["y_train"])}, "y_train"),  # a gap at 4
        (lambda a: {**a, "y_test": np.where(a["y_test"] == 3, 10, a["y_test"])}, "y_test"),  # test-only class
    ],
)
def test_npz_labels_not_contiguous_rejected_with_the_fix(tmp_path, relabel, problem):
    np.savez(tmp_path / "toy.npz", **relabel(make_arrays()))
    with pytest.raises(DatasetError) as info:
        load_dataset("toy", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "toy.npz") in message
    assert f"{problem} " in message
    assert "0..K-1" in message if problem == "y_train" else "present in training" in message


def test_npz_label_far_above_names_the_absent_classes(tmp_path):
    arrays = make_arrays()
    arrays["y_train"] = np.where(arrays["y_train"] == 9, 1000, arrays["y_train"])
    np.savez(tmp_path / "toy.npz", **arrays)
    with pytest.raises(DatasetError, match=r"from 0 to 1000 \(absent: \[9, 10, 11,.*\.\.\.\)\. Renumber"):
        load_dataset("toy", tmp_path)


def test_torchvision_arrays_with_label_gap_rejected_and_not_written(tmp_path, monkeypatch):
    arrays = make_arrays()
    arrays["y_train"] = np.where(arrays["y_train"] == 0, 10, arrays["y_train"])
    monkeypatch.setitem(TORCHVISION_FETCHERS, "mnist", lambda root: arrays)
    with pytest.raises(DatasetError, match="torchvision mnist: y_train must hold exactly the class indices 0..K-1"):
        load_dataset("mnist", tmp_path)
    assert not (tmp_path / "mnist.npz").exists()


@pytest.mark.parametrize("name", ["../toy", "sub/toy", "/tmp/toy", "..", "toy.npz", "sub\\toy", "", "to y", "toy\x00"])
def test_dataset_name_must_be_plain_identifier(tmp_path, name):
    inside = tmp_path / "root"
    inside.mkdir()
    write_dataset_npz(tmp_path / "toy.npz", make_arrays())  # reachable as ../toy from the root
    (inside / "sub").mkdir()
    write_dataset_npz(inside / "sub" / "toy.npz", make_arrays())
    with pytest.raises(DatasetError, match="a dataset name is a plain identifier") as info:
        load_dataset(name, inside)
    assert repr(name) in str(info.value)
    assert DATA_ENV_VAR in str(info.value)  # says how to point at a file elsewhere
    with pytest.raises(DatasetError, match="plain identifier"):
        dataset_path(name, inside)


def test_command_line_check_rejects_path_as_name(tmp_path):
    import subprocess
    import sys

    write_dataset_npz(tmp_path / "toy.npz", make_arrays())
    (tmp_path / "root").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "synthlib.data", "../toy", str(tmp_path / "root")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3
    assert "invalid dataset name '../toy'" in result.stderr


def _first_deflate_byte_offset(path: Path, member: str) -> int:
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = path.read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 : info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len


def test_corrupt_deflate_stream_without_sidecar_raises_dataset_error(tmp_path):
    """A file without a checksum whose compressed data is altered gives DatasetError("cannot read ..."),
    not a bare ``zlib.error``."""
    path, _ = saved_npz(tmp_path)
    (tmp_path / "toy.npz.sha256").unlink()
    offset = _first_deflate_byte_offset(path, "x_train.npy")
    raw = bytearray(path.read_bytes())
    raw[offset] |= 0x06  # deflate block type 11: reserved, always invalid
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset("toy", tmp_path)


@pytest.mark.parametrize("content", ["", "\n"])
def test_empty_sidecar_raises_dataset_error(tmp_path, content):
    """An empty .sha256 sidecar gives a DatasetError naming the file, not an IndexError."""
    path, _ = saved_npz(tmp_path)
    (tmp_path / "toy.npz.sha256").write_text(content)
    with pytest.raises(DatasetError):
        load_dataset("toy", tmp_path)


# --- the genuine files ----------------------------------------------------------------------------------


@pytest.mark.real_data
@pytest.mark.parametrize(
    "name, train_shape, test_shape",
    [("mnist", (60000, 28, 28, 1), (10000, 28, 28, 1)), ("cifar10", (50000, 32, 32, 3), (10000, 32, 32, 3))],
)
def test_real_datasets_verified_and_shaped(real_data_root, name, train_shape, test_shape):
    path = real_data_root / f"{name}.npz"
    assert store.expected_sha256(name, path) == KNOWN_SHA256[name]  # so loading below verifies it
    ds = load_dataset(name, real_data_root)
    assert ds.x_train.shape == train_shape and ds.x_test.shape == test_shape
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.n_classes == 10
    assert set(np.unique(ds.y_train)) == set(range(10)) == set(np.unique(ds.y_test))


# --- synthetic datasets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SYNTHETIC_DATASETS))
def test_synthetic_deterministic_shaped_balanced(tmp_path, name):
    a, b = load_dataset(name, tmp_path), load_dataset(name, tmp_path)
    for key in ARRAY_KEYS:
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    spec = SYNTHETIC_DATASETS[name]
    shape = (spec["height"], spec["width"], spec["channels"])
    assert a.x_train.shape == (N_CLASSES * TRAIN_PER_CLASS, *shape) and a.x_train.dtype == np.uint8
    assert a.x_test.shape == (N_CLASSES * TEST_PER_CLASS, *shape)
    assert a.n_classes == 10
    np.testing.assert_array_equal(np.bincount(a.y_train), [TRAIN_PER_CLASS] * 10)
    np.testing.assert_array_equal(np.bincount(a.y_test), [TEST_PER_CLASS] * 10)
    assert a.x_train.std() > 10  # not blank
    assert list(tmp_path.iterdir()) == []  # never written


def test_synthetic_datasets_differ():
    gray, rgb = load_dataset("synthetic_gray", "/nonexistent"), load_dataset("synthetic_rgb", "/nonexistent")
    assert gray.image_shape == (28, 28, 1) and rgb.image_shape == (32, 32, 3)
    assert not np.array_equal(gray.y_train, rgb.y_train)


# --- few-shot subsets -----------------------------------------------------------------------------------


def pool_labels(per_class: int = 20, classes=range(10), seed: int = 0) -> np.ndarray:
    labels = np.repeat(np.asarray(list(classes)), per_class)
    return np.random.default_rng(seed).permutation(labels)


@pytest.mark.parametrize("per_class, val_per_class", [(1, 0), (5, 3), (38, 2), (20, 20)])
@pytest.mark.parametrize("classes", [range(10), [2, 5, 9]])
def test_few_shot_split_balanced_disjoint_sorted(per_class, val_per_class, classes):
    labels = pool_labels(per_class=40, classes=classes)
    split = few_shot_split(labels, per_class, val_per_class, seed=7)
    for indices, count in ((split.train, per_class), (split.val, val_per_class)):
        assert indices.ndim == 1 and np.issubdtype(indices.dtype, np.integer)
        assert len(indices) == count * len(list(classes))
        assert np.all(np.diff(indices) > 0)  # sorted, no duplicates
        assert indices.min(initial=0) >= 0 and indices.max(initial=0) < len(labels)
        values, counts = np.unique(labels[indices], return_counts=True)
        if count:
            assert list(values) == list(classes) and set(counts) == {count}
    assert np.intersect1d(split.train, split.val).size == 0


def test_few_shot_split_deterministic_per_seed():
    labels = pool_labels()
    a, b = few_shot_split(labels, 5, 3, seed=11), few_shot_split(labels, 5, 3, seed=11)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.val, b.val)
    c = few_shot_split(labels, 5, 3, seed=12)
    assert not np.array_equal(a.train, c.train)
    assert not np.array_equal(a.val, c.val)


def test_few_shot_split_accepts_numpy_integers():
    split = few_shot_split(pool_labels(), np.int64(4), np.int32(2), seed=0)
    assert len(split.train) == 40 and len(split.val) == 20


@pytest.mark.parametrize("per_class", [0, -3, 2.0, 2.5, "5", None])
def test_few_shot_split_rejects_bad_per_class(per_class):
    with pytest.raises(ValueError, match="per_class") as info:
        few_shot_split(pool_labels(), per_class, 1, seed=0)
    assert repr(per_class) in str(info.value)


@pytest.mark.parametrize("val_per_class", [-1, 1.0, None])
def test_few_shot_split_rejects_bad_val_per_class(val_per_class):
    with pytest.raises(ValueError, match="val_per_class") as info:
        few_shot_split(pool_labels(), 2, val_per_class, seed=0)
    assert repr(val_per_class) in str(info.value)


def test_few_shot_split_class_too_small_named():
    labels = np.concatenate([np.repeat(np.arange(10), 20), np.full(3, 10)])  # class 10 has 3 images
    with pytest.raises(ValueError) as info:
        few_shot_split(labels, 2, 2, seed=0)
    message = str(info.value)
    assert "class 10 has only 3" in message
    assert "per_class=2" in message and "val_per_class=2" in message and "4" in message


def test_few_shot_split_exactly_enough():
    labels = pool_labels(per_class=6)
    split = few_shot_split(labels, 4, 2, seed=3)
    np.testing.assert_array_equal(np.sort(np.concatenate([split.train, split.val])), np.arange(60))
    with pytest.raises(ValueError, match="has only 6"):
        few_shot_split(labels, 4, 3, seed=3)


# --- seeding and device ---------------------------------------------------------------------------------


def test_derive_seed_regression_value():
    # Computed once (sha256 of "0/mnist/subset", first 8 bytes little-endian, 63 bits); must never change.
    assert derive_seed(0, "mnist", "subset") == 9134186028158600330
    assert derive_seed(0, "mnist", "subset") == derive_seed(0, "mnist", "subset")


def test_derive_seed_range_and_distinct_labels():
    labels = [
        (),
        ("mnist",),
        ("mnist", "subset"),
        ("mnist", "kernels", "normal"),
        ("cifar10", "subset"),
        ("mnist", "init", "normal"),
        ("mnist", "init", "gamma"),
    ]
    seeds = [derive_seed(base, *label) for base in (0, 1, 2) for label in labels]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**63 for s in seeds)


def test_make_generator_is_seeded_cpu_generator():
    gen = make_generator(0, "mnist", "init")
    assert isinstance(gen, torch.Generator) and gen.device.type == "cpu"
    assert gen.initial_seed() == derive_seed(0, "mnist", "init")
    a = torch.rand(5, generator=gen)
    b = torch.rand(5, generator=make_generator(0, "mnist", "init"))
    c = torch.rand(5, generator=make_generator(0, "mnist", "order"))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device().type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_resolve_device_cuda_unavailable_raises():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="'cuda:0'"):
        resolve_device("cuda:0")


# --- the command line ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "text"),
    [
        ("synthetic_rgb", 0, "synthetic_rgb: train (1000, 32, 32, 3)"),
        ("no_such_set", 3, "unknown dataset 'no_such_set'"),
    ],
)
def test_command_line_check_reports_usability_by_exit_status(tmp_path, name, status, text):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "synthlib.data", name, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == status
    assert text in result.stdout + result.stderr
