"""Tests of synthlib.baselines: pixel and scattering features, the linear probe, the C grid, the
scattering feature cache (reuse, corruption, keys, atomic writes) and input checks. Small data only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from synthlib import baselines
from synthlib.baselines import (
    CACHE_ENV_VAR,
    DEFAULT_CS,
    ScatteringCache,
    baseline_scores,
    cache_root,
    fit_linear_probes,
    pixel_features,
    scattering_feature_count,
    scattering_features,
)
from synthlib.columns import BASELINE_NAMES, BASELINES
from synthlib.data import ImageDataset, few_shot_split, load_dataset
from synthlib.selection import best_by_mean

# --- helpers -----------------------------------------------------------------------------------------


def toy_dataset(
    name: str = "toy", shape=(16, 16, 1), n_classes: int = 4, train_per_class: int = 12, test_per_class: int = 5
) -> ImageDataset:
    """Noise plus one bright square per class, at a class-specific place: linearly separable in pixels."""
    rng = np.random.default_rng(0)
    height, width, _ = shape

    def draw(per_class: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.tile(np.arange(n_classes), per_class)
        images = rng.integers(0, 100, (len(labels), *shape), dtype=np.uint8)
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 2)
            images[i, row * height // 2 : row * height // 2 + 4, col * width // 2 : col * width // 2 + 4] = 255
        return images, labels.astype(np.int64)

    x_train, y_train = draw(train_per_class)
    x_test, y_test = draw(test_per_class)
    return ImageDataset(name=name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def toy_split(data: ImageDataset, per_class: int = 6, val_per_class: int = 6, seed: int = 0):
    return few_shot_split(data.y_train, per_class=per_class, val_per_class=val_per_class, seed=seed)


class Untouchable:
    """Stands in for the test arrays: any use fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the test set was touched ({name})")

    def __len__(self):
        raise AssertionError("the test set was touched (len)")

    def __getitem__(self, key):
        raise AssertionError("the test set was touched (indexing)")

    def __array__(self, *args, **kwargs):
        raise AssertionError("the test set was touched (as an array)")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One intra-op thread: on a small shared CPU, two threads contend and run several times slower.
    The values do not depend on it (kymatio's FFTs transform each image independently)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def count_scattering(monkeypatch) -> list[int]:
    """Records how many images each call of the (real) scattering transform gets."""
    calls: list[int] = []
    real = baselines.scattering_features

    def counting(images, *args, **kwargs):
        calls.append(len(images))
        return real(images, *args, **kwargs)

    monkeypatch.setattr(baselines, "scattering_features", counting)
    return calls


def random_images(n: int, shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def assert_valid_scores(scores: list[dict], Cs, n_val: int, n_test: int | None) -> None:
    assert [s["C"] for s in scores] == [float(C) for C in Cs]
    for s in scores:
        assert set(s) == {"C", "val_accuracy", "test_accuracy", "n_iter", "converged"}
        assert 0.0 <= s["val_accuracy"] <= 1.0
        assert math.isclose(s["val_accuracy"] * n_val, round(s["val_accuracy"] * n_val))  # correct / images
        if n_test is None:
            assert s["test_accuracy"] is None
        else:
            assert 0.0 <= s["test_accuracy"] <= 1.0
            assert math.isclose(s["test_accuracy"] * n_test, round(s["test_accuracy"] * n_test))
        assert isinstance(s["n_iter"], int) and s["n_iter"] > 0
        assert s["converged"] is True


# --- constants and features ------------------------------------------------------------------------------


def test_public_names():
    assert BASELINE_NAMES == ("logreg_pixels", "scattering")
    assert [b.name for b in BASELINES] == list(BASELINE_NAMES) and all(b.label for b in BASELINES)
    assert all(C > 0 for C in DEFAULT_CS) and list(DEFAULT_CS) == sorted(DEFAULT_CS)


def test_pixel_features_are_flattened_unit_floats():
    images = np.array([[[[0], [255]], [[51], [102]]]], dtype=np.uint8)  # one 2x2 gray image
    features = pixel_features(images)
    assert features.dtype == np.float32 and features.shape == (1, 4)
    np.testing.assert_allclose(features[0], [0.0, 1.0, 0.2, 0.4], rtol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        pixel_features(images.astype(np.float32))


@pytest.mark.parametrize(("shape", "expected"), [((28, 28, 1), 81 * 7 * 7), ((32, 32, 3), 3 * 81 * 8 * 8)])
def test_scattering_feature_shapes(shape, expected):
    features = scattering_features(random_images(2, shape), device="cpu")
    assert features.shape == (2, expected) and features.dtype == np.float32
    assert scattering_feature_count(shape) == expected
    assert np.isfinite(features).all()


def test_scattering_transforms_each_colour_channel_separately():
    images = random_images(3, (16, 16, 3))
    features = scattering_features(images, device="cpu")
    per_channel = scattering_feature_count((16, 16, 1))
    for c in range(3):
        alone = scattering_features(np.ascontiguousarray(images[..., c : c + 1]), device="cpu")
        np.testing.assert_array_equal(features[:, c * per_channel : (c + 1) * per_channel], alone)


def test_scattering_batching_does_not_change_values():
    images = random_images(7, (16, 16, 3), seed=1)
    whole = scattering_features(images, batch_size=7, device="cpu")
    for batch_size in (1, 3):  # one image at a time; uneven batches
        np.testing.assert_array_equal(scattering_features(images, batch_size=batch_size, device="cpu"), whole)


def test_scattering_of_no_images_has_the_feature_width():
    assert scattering_features(np.zeros((0, 16, 16, 2), np.uint8), device="cpu").shape == (0, 2 * 81 * 4 * 4)


def best_score(scores):
    """The score of the C chosen on validation (the study's rule, ``synthlib.selection.best_by_mean``)."""
    chosen = best_by_mean(pd.DataFrame(scores), ["C"], "val_accuracy")["C"]
    return next(score for score in scores if score["C"] == chosen)


# --- scores -------------------------------------------------------------------------------------------------


def test_logreg_pixels_on_synthetic_data_is_deterministic_and_above_chance(tmp_path):
    data = load_dataset("synthetic_gray", tmp_path)
    split = few_shot_split(data.y_train, per_class=38, val_per_class=38, seed=0)
    first = baseline_scores("logreg_pixels", data, split.train, split.val, cache_dir=tmp_path)
    assert_valid_scores(first, DEFAULT_CS, len(split.val), len(data.y_test))
    assert first == baseline_scores("logreg_pixels", data, split.train, split.val, cache_dir=tmp_path)
    assert best_score(first)["test_accuracy"] > 0.3  # 10 classes: chance is 0.1


def test_logreg_pixels_on_linearly_separable_data_scores_high(tmp_path):
    data = toy_dataset()
    split = toy_split(data)
    scores = baseline_scores("logreg_pixels", data, split.train, split.val, cache_dir=tmp_path)
    assert_valid_scores(scores, DEFAULT_CS, len(split.val), len(data.y_test))
    best = best_score(scores)
    assert best["val_accuracy"] == 1.0 and best["test_accuracy"] >= 0.95


def test_scattering_scores_are_deterministic_and_high_on_separable_data(tmp_path):
    data = toy_dataset()
    split = toy_split(data)
    Cs = (0.01, 1.0)
    first = baseline_scores("scattering", data, split.train, split.val, Cs=Cs, cache_dir=tmp_path, device="cpu")
    assert_valid_scores(first, Cs, len(split.val), len(data.y_test))
    assert best_score(first)["test_accuracy"] >= 0.9
    fresh = baseline_scores("scattering", data, split.train, split.val, Cs=Cs, cache_dir=tmp_path / "b", device="cpu")
    assert fresh == first


def test_best_by_mean_prefers_the_earlier_setting_on_ties():
    scores = pd.DataFrame({"C": [0.1, 1.0, 10.0, 0.1, 1.0, 10.0], "val_accuracy": [0.5, 0.7, 0.6, 0.5, 0.7, 0.8]})
    assert best_by_mean(scores, ["C"], "val_accuracy") == {"C": 1.0}  # means 0.5, 0.7, 0.7
    with pytest.raises(ValueError, match="no scores"):
        best_by_mean(scores.iloc[:0], ["C"], "val_accuracy")


# --- scattering cache ------------------------------------------------------------------------------------------


def scattering_run(data, split, cache_dir, include_test=True):
    return baseline_scores(
        "scattering",
        data,
        split.train,
        split.val,
        Cs=(1.0,),
        include_test=include_test,
        cache_dir=cache_dir,
        device="cpu",
    )


def test_cache_is_used_on_the_second_call_and_across_overlapping_subsets(tmp_path, count_scattering):
    data = toy_dataset()
    split = toy_split(data, per_class=3, val_per_class=3)
    first = scattering_run(data, split, tmp_path)
    assert count_scattering == [len(split.train) + len(split.val), len(data.x_test)]
    count_scattering.clear()
    assert scattering_run(data, split, tmp_path) == first
    assert count_scattering == []  # nothing recomputed, test set included

    bigger = toy_split(data, per_class=6, val_per_class=6)  # same permutation: a superset of the first
    assert set(split.train) | set(split.val) <= set(bigger.train) | set(bigger.val)
    scattering_run(data, bigger, tmp_path)
    assert count_scattering == [len(bigger.train) + len(bigger.val) - len(split.train) - len(split.val)]
    assert not list(tmp_path.rglob("*.tmp"))


def test_corrupt_cache_files_are_recomputed_with_a_warning(tmp_path, count_scattering):
    data = toy_dataset()
    split = toy_split(data, per_class=3, val_per_class=3)
    first = scattering_run(data, split, tmp_path)
    [test_file] = list(tmp_path.rglob("test-*.npy"))
    image_files = sorted(tmp_path.rglob("images/*.npy"))
    test_file.write_bytes(test_file.read_bytes()[:200])  # truncated
    image_files[0].write_bytes(b"not a numpy file")
    np.save(image_files[1], np.zeros(3, np.float32))  # readable, wrong shape
    count_scattering.clear()
    with pytest.warns(RuntimeWarning, match="unreadable or malformed scattering cache file"):
        assert scattering_run(data, split, tmp_path) == first
    assert sorted(count_scattering) == [2, len(data.x_test)]
    count_scattering.clear()
    assert scattering_run(data, split, tmp_path) == first  # repaired
    assert count_scattering == []


def test_cache_made_for_other_images_or_parameters_is_not_reused(tmp_path, count_scattering):
    data = toy_dataset()
    split = toy_split(data, per_class=3, val_per_class=3)
    scattering_run(data, split, tmp_path)
    count_scattering.clear()
    flipped = ImageDataset(  # same name, shape and labels; other pixels
        name=data.name,
        x_train=np.ascontiguousarray(data.x_train[:, ::-1]),
        y_train=data.y_train,
        x_test=np.ascontiguousarray(data.x_test[:, ::-1]),
        y_test=data.y_test,
    )
    scattering_run(flipped, split, tmp_path)
    assert count_scattering == [len(split.train) + len(split.val), len(data.x_test)]

    default = ScatteringCache.for_dataset("toy", (16, 16, 1), tmp_path, "cpu")
    assert ScatteringCache.for_dataset("other", (16, 16, 1), tmp_path, "cpu").folder != default.folder
    assert ScatteringCache.for_dataset("toy", (16, 16, 3), tmp_path, "cpu").folder != default.folder
    assert ScatteringCache.for_dataset("toy", (16, 16, 1), tmp_path, "cpu", J=3).folder != default.folder
    assert ScatteringCache.for_dataset("toy", (16, 16, 1), tmp_path, "cpu", L=4).folder != default.folder
    assert ScatteringCache.for_dataset("../evil/name", (16, 16, 1), tmp_path, "cpu").folder.is_relative_to(tmp_path)


def test_failed_cache_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "features.npy"
    baselines._save_npy_atomic(path, np.ones(3, np.float32))
    with pytest.raises(ValueError):
        baselines._save_npy_atomic(path, np.array([object()], dtype=object))  # np.save refuses: no pickles
    np.testing.assert_array_equal(np.load(path), np.ones(3, np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["features.npy"]


def test_cache_root_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "env"))
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv(CACHE_ENV_VAR)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "synthlib"


# --- input checks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_include_test_false_never_touches_the_test_set(tmp_path, name, count_scattering):
    data = toy_dataset()
    split = toy_split(data, per_class=3, val_per_class=3)
    blind = ImageDataset(
        name=data.name, x_train=data.x_train, y_train=data.y_train, x_test=Untouchable(), y_test=Untouchable()
    )
    scores = baseline_scores(
        name, blind, split.train, split.val, Cs=(1.0,), include_test=False, cache_dir=tmp_path, device="cpu"
    )
    assert_valid_scores(scores, (1.0,), len(split.val), None)
    assert not list(tmp_path.rglob("test-*"))


def test_unknown_baseline_and_bad_c_are_named(tmp_path):
    data = toy_dataset()
    split = toy_split(data, per_class=3, val_per_class=3)
    with pytest.raises(ValueError, match="unknown baseline 'pca'.*logreg_pixels, scattering"):
        baseline_scores("pca", data, split.train, split.val, cache_dir=tmp_path)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=f"C={bad!r}"):
            baseline_scores("logreg_pixels", data, split.train, split.val, Cs=(1.0, bad), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="Cs is empty"):
        baseline_scores("logreg_pixels", data, split.train, split.val, Cs=(), cache_dir=tmp_path)


def test_bad_indices_are_refused(tmp_path):
    data = toy_dataset()
    split = toy_split(data, per_class=3, val_per_class=3)
    with pytest.raises(ValueError, match="overlap"):
        baseline_scores("logreg_pixels", data, split.train, split.train[:2], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="outside the training pool"):
        baseline_scores("logreg_pixels", data, split.train, np.array([len(data.x_train)]), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="val_idx must be a non-empty"):
        baseline_scores("logreg_pixels", data, split.train, np.array([], dtype=np.int64), cache_dir=tmp_path)


def test_non_convergence_is_reported():
    data = toy_dataset()
    split = toy_split(data)
    with pytest.warns(ConvergenceWarning):
        _, probes = fit_linear_probes(
            pixel_features(data.x_train[split.train]), data.y_train[split.train], Cs=(100.0,), max_iter=2
        )
    assert probes[0].converged is False and probes[0].n_iter == 2
