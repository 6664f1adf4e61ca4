"""Batched head training (``heads.fit_heads``) against one-by-one ``training.fit`` on the study's real
shapes: 380 training images, 10 classes, paper features (64 x 4 x 4 = 1024 wide) and the authors' code's
features (64 x 16 x 16 = 16,384 wide). A few epochs keep the tests fast."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from synthlib.heads import fit_heads, fit_heads_until_plateau, train_heads
from synthlib.models import ClassifierHead, init_
from synthlib.training import TrainConfig, accuracy, fit, fit_until_plateau

N_IMAGES, N_CLASSES, HIDDEN = 380, 10, 64
PAPER_MAPS = (64, 4, 4)
AUTHORS_MAPS = (64, 16, 16)
AUTHORS_SCHEDULE = ((1, 1.0), (2, 0.3), (3, 0.1))  # the authors' step schedule, compressed to 3 epochs
MEASURED_AMPLIFICATION = 514
"""The largest distance, in float32 eps, from float32 training to the same training in float64 (exact at
this scale) over these tests' heads, measured by ``python -m benchmarks.heads_rounding``: 312 eps (3.7e-5)
on an AMD EPYC's AVX2 paths at 2 threads or 1, 514 eps (6.1e-5) with every path forced down
(ATEN_CPU_CAPABILITY=default, ONEDNN_MAX_CPU_ISA=SSE41, MKL_ENABLE_INSTRUCTIONS=SSE4_2). Training
amplifies rounding: Adam divides by sqrt(v) + eps, so a weight whose gradient is itself at rounding level
moves by a rounding-sized fraction of the learning rate, step after step."""
ROUNDING_AMPLIFICATION = 2 * MEASURED_AMPLIFICATION
"""How many units of the dtype's machine epsilon batched and one-by-one training may end apart: the
batched path sums in another order than ``fit`` (a batched matmul; on another CPU, other kernels), and
two paths that each end within ``MEASURED_AMPLIFICATION`` of the exact result are at most twice that
apart (1028 eps: 1.2e-4 in float32; on AVX-512 the two paths were seen 90 eps, 1.07e-5, apart). A real
difference (another minibatch, learning rate or flip) moves weights by the learning rate times a
gradient, 1e-4 and more; so every comparison also runs in float64, where the same bound is 2.3e-13 and
such a difference stands out by nine orders of magnitude."""
DTYPES = (torch.float32, torch.float64)  # the study's dtype, and float64 where rounding all but vanishes


def tolerance(dtype: torch.dtype) -> dict[str, float]:
    """``assert_close``'s tolerance for trained parameters of ``dtype``: ``ROUNDING_AMPLIFICATION`` units
    of its machine epsilon, relative to the parameter and absolute (parameters here are below 1)."""
    bound = ROUNDING_AMPLIFICATION * torch.finfo(dtype).eps
    return {"rtol": bound, "atol": bound}


def random_features(shape: tuple[int, int, int], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((N_IMAGES, *shape), generator=generator).relu()


def random_labels(seed: int = 99) -> torch.Tensor:
    return torch.randint(N_CLASSES, (N_IMAGES,), generator=torch.Generator().manual_seed(seed))


def make_head(shape: tuple[int, int, int], seed: int, train_biases: bool = True) -> ClassifierHead:
    head = init_(ClassifierHead(shape[0] * shape[1] * shape[2], HIDDEN, N_CLASSES), torch.Generator().manual_seed(seed))
    if not train_biases:
        with torch.no_grad():
            for name, param in head.named_parameters():
                if name.endswith("bias"):
                    param.zero_()
                    param.requires_grad_(False)
    return head


def order_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(1000 + seed)


def compare_with_fit(
    heads: list[ClassifierHead],
    features: list[torch.Tensor],
    configs: list[TrainConfig],
    generator_seeds: list[int],
    labels: torch.Tensor,
    flipped: list[torch.Tensor | None] | None = None,
) -> tuple[list[ClassifierHead], list[ClassifierHead]]:
    """Train copies of ``heads`` one by one with ``fit`` and all together with ``fit_heads``, in float32 and
    in float64; assert parameters equal within ``tolerance`` of the dtype, equal accuracies and generator
    states afterwards; return the float32 heads (one by one, batched)."""
    trained = {}
    for dtype in DTYPES:
        trained[dtype] = compare_in(dtype, heads, features, configs, generator_seeds, labels, flipped)
    return trained[torch.float32]


def compare_in(
    dtype: torch.dtype,
    heads: list[ClassifierHead],
    features: list[torch.Tensor],
    configs: list[TrainConfig],
    generator_seeds: list[int],
    labels: torch.Tensor,
    flipped: list[torch.Tensor | None] | None = None,
) -> tuple[list[ClassifierHead], list[ClassifierHead]]:
    """``compare_with_fit`` in one dtype."""
    converted = {id(f): f.to(dtype) for f in [*features, *(flipped or [])] if f is not None}  # shared stay shared
    features = [converted[id(f)] for f in features]
    flipped = [converted[id(f)] if f is not None else None for f in (flipped or [None] * len(heads))]
    alone = [copy.deepcopy(h).to(dtype) for h in heads]
    batched = [copy.deepcopy(h).to(dtype) for h in heads]
    alone_generators = [order_generator(s) for s in generator_seeds]
    batched_generators = [order_generator(s) for s in generator_seeds]
    for head, maps, config, generator, flipped_maps in zip(alone, features, configs, alone_generators, flipped):
        fit(head, maps, labels, config, generator, flipped_inputs=flipped_maps)
    fit_heads(batched, features, labels, configs, batched_generators, flipped_features=flipped)
    for k, (one, many) in enumerate(zip(alone, batched)):
        for (name, expected), actual in zip(one.named_parameters(), many.parameters()):
            label = f"{dtype} head {k} {name}"
            assert actual.dtype == dtype
            torch.testing.assert_close(actual, expected, **tolerance(dtype), msg=lambda m, label=label: f"{label}: {m}")
            assert actual.requires_grad == expected.requires_grad
        # equal predictions, but for at most one image whose two best logits tie within rounding
        assert abs(accuracy(many, features[k], labels) - accuracy(one, features[k], labels)) <= 1 / len(labels)
        assert torch.equal(batched_generators[k].get_state(), alone_generators[k].get_state())
    return alone, batched


def test_adam_heads_with_shared_features_match_fit():
    """(a) Adam, three settings of one run (same features, same generator state), paper shapes."""
    features = random_features(PAPER_MAPS, 0)
    base = TrainConfig(optimizer="adam", epochs=3, batch_size=64)
    configs = [
        replace(base, learning_rate=1e-3),
        replace(base, learning_rate=3e-3, weight_decay=1e-3),
        replace(base, learning_rate=1e-4, weight_decay=1e-2),
    ]
    heads = [make_head(PAPER_MAPS, 0)] * 3
    alone, batched = compare_with_fit(heads, [features] * 3, configs, [0, 0, 0], random_labels())
    assert not torch.equal(alone[0][1].weight, alone[1][1].weight)  # the settings do train differently


def test_sgd_schedule_flips_and_frozen_biases_match_fit():
    """(b) The authors' recipe: SGD with momentum, step schedule, per-minibatch flips, frozen zero
    biases; four heads with batch sizes 50 and 100, 16,384-wide features."""
    features = random_features(AUTHORS_MAPS, 1)
    base = TrainConfig(
        optimizer="sgd", epochs=3, momentum=0.9, lr_schedule=AUTHORS_SCHEDULE, train_biases=False, hflip=True
    )
    configs = [
        replace(base, learning_rate=0.1, batch_size=50, weight_decay=1e-3),
        replace(base, learning_rate=0.01, batch_size=50, weight_decay=1e-4),
        replace(base, learning_rate=0.1, batch_size=100, weight_decay=1e-2),
        replace(base, learning_rate=0.03, batch_size=100, weight_decay=1e-3),
    ]
    heads = [make_head(AUTHORS_MAPS, 1, train_biases=False)] * 4
    alone, batched = compare_with_fit(heads, [features] * 4, configs, [1] * 4, random_labels())
    for head in batched:
        assert not head[1].bias.any() and not head[3].bias.any()
        assert not head[1].bias.requires_grad


def test_heads_with_different_features_and_generators_match_fit():
    """(c) Heads with their own features, initial weights and generators (bmm path), mixed with a
    pair that shares them (matmul path), and a mix of optimisers, flips, epochs and frozen biases."""
    maps = [random_features(PAPER_MAPS, seed) for seed in (2, 3, 4)]
    adam = TrainConfig(optimizer="adam", epochs=2, batch_size=64, learning_rate=3e-3)
    sgd = TrainConfig(optimizer="sgd", epochs=3, batch_size=50, learning_rate=0.05, hflip=True)
    features = [maps[0], maps[1], maps[2], maps[0], maps[0], maps[1]]
    configs = [adam, adam, adam, replace(adam, weight_decay=1e-2), sgd, sgd]
    seeds = [2, 3, 4, 2, 5, 6]
    heads = [make_head(PAPER_MAPS, s, train_biases=s != 6) for s in seeds]  # the last one's biases are frozen
    _, batched = compare_with_fit(heads, features, configs, seeds, random_labels())
    assert not batched[-1][1].bias.any() and batched[-2][1].bias.any()


def test_features_of_flipped_images_match_fit_and_differ_from_flipped_maps():
    """(d) Flips as the authors' code made them: a flipped minibatch takes the features of the flipped
    images (here a tensor of its own), not the feature maps flipped; batched equals one by one."""
    features = random_features(AUTHORS_MAPS, 7)
    of_flipped_images = random_features(AUTHORS_MAPS, 8)
    config = TrainConfig(optimizer="sgd", epochs=3, batch_size=50, learning_rate=0.05, hflip=True)
    heads = [make_head(AUTHORS_MAPS, 7)] * 2
    configs = [config, replace(config, learning_rate=0.01)]
    alone, _ = compare_with_fit(heads, [features] * 2, configs, [7, 7], random_labels(), [of_flipped_images] * 2)
    mirrored = copy.deepcopy(heads[0])
    fit(mirrored, features, random_labels(), config, order_generator(7))  # flips the maps instead
    assert not torch.allclose(mirrored[1].weight, alone[0][1].weight)


def test_fit_heads_is_deterministic_and_reports_checkpoints():
    features = random_features(PAPER_MAPS, 7)
    labels = random_labels()
    configs = [TrainConfig(epochs=3, hflip=True, learning_rate=lr) for lr in (1e-3, 3e-3)]
    results, scores = [], []
    for _ in range(2):
        heads = [make_head(PAPER_MAPS, 7) for _ in configs]
        seen: dict[tuple[int, int], float] = {}

        def score(epoch: int, k: int, head: ClassifierHead, seen: dict = seen) -> None:
            seen[(epoch, k)] = accuracy(head, features, labels)

        fit_heads(
            heads,
            [features, features],
            labels,
            configs,
            [order_generator(7), order_generator(7)],
            checkpoint_epochs=(1, 3),
            on_checkpoint=score,
        )
        results.append([torch.cat([p.flatten() for p in h.parameters()]) for h in heads])
        scores.append(seen)
    for first, second in zip(*results):
        assert torch.equal(first, second)
    assert scores[0] == scores[1]
    assert sorted(scores[0]) == [(1, 0), (1, 1), (3, 0), (3, 1)]


def test_fit_heads_rejects_a_shared_generator():
    features = random_features(PAPER_MAPS, 8)
    generator = order_generator(8)
    heads = [make_head(PAPER_MAPS, 8) for _ in range(2)]
    with pytest.raises(ValueError, match="generator of its own"):
        fit_heads(heads, [features] * 2, random_labels(), [TrainConfig(epochs=1)] * 2, [generator, generator])


def test_heads_stopped_early_in_a_group_equal_heads_stopped_alone():
    """(e) Early stopping: heads with their own patience (one without) stop at different epochs; a stopped
    head leaves the group while the others go on, and each ends as ``fit_until_plateau`` (or ``fit``) ends it
    alone: the same epochs run and kept, parameters equal to rounding, generators in the same state."""
    maps = [random_features(PAPER_MAPS, seed) for seed in (20, 21)]
    validation = (random_features(PAPER_MAPS, 22), random_labels(23))
    base = TrainConfig(optimizer="adam", epochs=8, batch_size=64, learning_rate=3e-3, patience=2)
    configs = [
        base,
        replace(base, learning_rate=1e-2),
        replace(base, patience=1, weight_decay=1e-2),
        replace(base, patience=None),
        replace(base, patience=3, learning_rate=1e-3),
        replace(base, patience=2, validation_every=3, learning_rate=1e-2),  # scored at epochs 3, 6 and 8
    ]
    features = [maps[0], maps[0], maps[0], maps[1], maps[1], maps[1]]
    seeds = [20, 20, 20, 21, 22, 22]  # three heads share minibatches (one matmul), two go through bmm
    heads = [make_head(PAPER_MAPS, s) for s in seeds]
    for dtype in DTYPES:
        convert = {id(f): f.to(dtype) for f in maps}
        typed = [convert[id(f)] for f in features]
        typed_validation = (validation[0].to(dtype), validation[1])
        alone = [copy.deepcopy(h).to(dtype) for h in heads]
        alone_generators = [order_generator(s) for s in seeds]
        expected = []
        for head, maps_k, config, generator in zip(alone, typed, configs, alone_generators):
            if config.patience is None:
                fit(head, maps_k, random_labels(), config, generator)
                expected.append(None)
            else:
                expected.append(fit_until_plateau(head, maps_k, random_labels(), config, generator, typed_validation))
        batched = [copy.deepcopy(h).to(dtype) for h in heads]
        batched_generators = [order_generator(s) for s in seeds]
        stoppings = train_heads(
            batched, typed, random_labels(), configs, batched_generators, validation=typed_validation
        )
        assert stoppings == expected, dtype
        assert len({s.epochs_run for s in expected if s is not None}) > 1  # heads did stop at different epochs
        for k, (one, many) in enumerate(zip(alone, batched)):
            for (name, want), got in zip(one.named_parameters(), many.parameters()):
                label = f"{dtype} head {k} {name}"
                torch.testing.assert_close(got, want, **tolerance(dtype), msg=lambda m, label=label: f"{label}: {m}")
            assert torch.equal(batched_generators[k].get_state(), alone_generators[k].get_state())


def test_fit_heads_until_plateau_needs_patience_and_validation():
    features = random_features(PAPER_MAPS, 9)
    heads = [make_head(PAPER_MAPS, 9) for _ in range(2)]
    generators = [order_generator(9), order_generator(10)]
    validation = (features, random_labels())
    with pytest.raises(ValueError, match="patience"):
        fit_heads_until_plateau(
            heads, [features] * 2, random_labels(), [TrainConfig(epochs=1)] * 2, generators, validation
        )
    with pytest.raises(ValueError, match="validation"):
        fit_heads(heads, [features] * 2, random_labels(), [TrainConfig(epochs=1, patience=1)] * 2, generators)
    stoppings = fit_heads_until_plateau(
        heads, [features] * 2, random_labels(), [TrainConfig(epochs=2, patience=5)] * 2, generators, validation
    )
    assert [s.epochs_run for s in stoppings] == [2, 2] and all(s.stopped_at_max for s in stoppings)
