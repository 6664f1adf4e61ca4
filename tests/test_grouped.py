"""Fully trained CNNs trained as one (``grouped.fit_models``) against one-by-one ``training.fit``, for every
regime that is grouped: the settings of one seed (one input, one generator state: the tuning's learning
rates and weight decays, the authors' grid), the seeds of one column (inputs and generators of their own),
and both at once; Adam and SGD, with and without flips, different learning rates and epochs per model, and
early stopping. Tiny images and few epochs keep the tests to seconds."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from synthlib.grouped import fit_models, grouped_logits, vmap_logits
from synthlib.models import ArchitectureConfig, PaperCNN, init_
from synthlib.training import TrainConfig, accuracy, fit

N_IMAGES, N_CLASSES = 40, 10
PAPER = ArchitectureConfig(n_kernels=8, hidden_units=16)
AUTHORS = ArchitectureConfig(
    n_kernels=8, hidden_units=16, pool_kernel=3, pool_stride=2, pool_pad_after=1, feature_grid=None
)
DEEPER = ArchitectureConfig(n_kernels=8, hidden_units=16, deeper_layers=((6, 3),), feature_grid=2)
AUTHORS_SCHEDULE = ((1, 1.0), (2, 0.3), (3, 0.1))  # the authors' step schedule, compressed to 3 epochs
ROUNDING_EPS = 1028
"""How many units of the dtype's machine epsilon the grouped and one-by-one paths may end apart (the bound
``tests/test_heads.py`` derives for batched heads: twice the largest amplification of rounding by training
measured there). Every comparison also runs in float64, where the bound is 2.3e-13 and a real difference
(another minibatch, learning rate or flip: 1e-4 and more) stands out by nine orders of magnitude."""
DTYPES = (torch.float32, torch.float64)


def tolerance(dtype: torch.dtype) -> dict[str, float]:
    bound = ROUNDING_EPS * torch.finfo(dtype).eps
    return {"rtol": bound, "atol": bound}


def images(seed: int, channels: int = 1, side: int = 12) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((N_IMAGES, channels, side, side), generator=generator).contiguous(
        memory_format=torch.channels_last
    )


def labels(seed: int) -> torch.Tensor:
    return torch.randint(N_CLASSES, (N_IMAGES,), generator=torch.Generator().manual_seed(seed))


def model(
    seed: int, arch: ArchitectureConfig = PAPER, channels: int = 1, side: int = 12, biases: bool = True
) -> PaperCNN:
    built = init_(PaperCNN(channels, side, arch), torch.Generator().manual_seed(seed))
    if not biases:
        with torch.no_grad():
            for name, param in built.named_parameters():
                if name.endswith("bias"):
                    param.zero_()
                    param.requires_grad_(False)
    return built.to(memory_format=torch.channels_last)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(1000 + seed)


def compare_with_fit(
    models: list[PaperCNN],
    inputs: list[torch.Tensor],
    targets: list[torch.Tensor],
    configs: list[TrainConfig],
    generator_seeds: list[int],
    stop_after: dict[int, int] | None = None,
) -> None:
    """Train copies of ``models`` one by one with ``fit`` (for ``stop_after[k]`` epochs where given) and all
    together with ``fit_models`` (stopped by its callback), in float32 and float64; assert equal parameters
    within ``tolerance``, equal generator states, and the same checkpoints seen."""
    stop_after = stop_after or {}
    for dtype in DTYPES:
        alone = [copy.deepcopy(m).to(dtype) for m in models]
        together = [copy.deepcopy(m).to(dtype) for m in models]
        typed = {id(x): x.to(dtype) for x in inputs}
        alone_generators = [generator(s) for s in generator_seeds]
        seen_alone: list[list[int]] = [[] for _ in models]
        for k, m in enumerate(alone):
            config = replace(configs[k], epochs=stop_after.get(k, configs[k].epochs))
            fit(
                m,
                typed[id(inputs[k])],
                targets[k],
                config,
                alone_generators[k],
                range(1, config.epochs + 1),
                lambda epoch, _, seen=seen_alone[k]: seen.append(epoch),
            )
        together_generators = [generator(s) for s in generator_seeds]
        seen_together: list[list[int]] = [[] for _ in models]

        def on_checkpoint(epoch: int, k: int, trained: PaperCNN, seen: list[list[int]] = seen_together) -> bool:
            seen[k].append(epoch)
            return stop_after.get(k) == epoch

        fit_models(
            together,
            [typed[id(x)] for x in inputs],
            targets,
            configs,
            together_generators,
            range(1, max(c.epochs for c in configs) + 1),
            on_checkpoint,
        )
        assert seen_together == seen_alone
        for k, (a, b) in enumerate(zip(alone, together)):
            for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
                torch.testing.assert_close(pb, pa, **tolerance(dtype), msg=lambda m, k=k, n=name: f"model {k} {n}: {m}")
        for k, (ga, gb) in enumerate(zip(alone_generators, together_generators)):
            assert torch.equal(ga.get_state(), gb.get_state()), f"generator {k} ends in another state"


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("hflip", [False, True])
def test_settings_of_one_seed_equal_fit(optimizer: str, hflip: bool) -> None:
    """The tuning's regime: one input, one order generator seed, learning rates and weight decays of their
    own, different epochs (the tuning's rungs), every model its own initial weights."""
    x, y = images(1), labels(1)
    lrs, wds, epochs = (1e-3, 3e-3, 1e-2), (0.0, 1e-3, 0.0), (3, 2, 3)
    configs = [
        TrainConfig(optimizer, lr, wd, e, batch_size=16, hflip=hflip, input_norm="unit")
        for lr, wd, e in zip(lrs, wds, epochs)
    ]
    compare_with_fit([model(k) for k in range(3)], [x] * 3, [y] * 3, configs, [0, 0, 0])


@pytest.mark.parametrize("hflip", [False, True])
def test_authors_grid_equals_fit(hflip: bool) -> None:
    """The authors' fully trained column: SGD with momentum, the step schedule, frozen zero biases, the
    16x16 map without a grid pool, colour images, one initial network shared by the learning rates."""
    x, y = images(2, channels=3, side=16), labels(2)
    first = model(7, AUTHORS, channels=3, side=16, biases=False)
    configs = [
        TrainConfig("sgd", lr, 1e-3, 3, 10, 0.9, "authors_code", AUTHORS_SCHEDULE, train_biases=False, hflip=hflip)
        for lr in (0.1, 0.01, 0.001)
    ]
    compare_with_fit([copy.deepcopy(first) for _ in configs], [x] * 3, [y] * 3, configs, [5, 5, 5])


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_seeds_of_one_column_equal_fit(optimizer: str) -> None:
    """The seeds of one column: each its own images, labels, order generator and initial weights; a
    further conv layer (grouped by model); the last minibatch shorter than the others."""
    configs = [TrainConfig(optimizer, 3e-3, 1e-3, 2, batch_size=12, hflip=True) for _ in range(3)]
    inputs = [images(10 + k, side=12) for k in range(3)]
    compare_with_fit(
        [model(20 + k, DEEPER) for k in range(3)], inputs, [labels(10 + k) for k in range(3)], configs, [1, 2, 3]
    )


def test_mixed_groups_and_early_stopping_equal_fit() -> None:
    """Settings of two seeds at once (two draw classes), a batch size of its own (a step group of its own),
    and models stopped early by the callback: each ends where ``fit`` for that many epochs ends."""
    x0, x1, y0, y1 = images(30), images(31), labels(30), labels(31)
    configs = [
        TrainConfig("adam", 1e-3, 0.0, 4, 16),
        TrainConfig("adam", 1e-2, 0.0, 4, 16),
        TrainConfig("adam", 1e-3, 0.0, 4, 16),
        TrainConfig("adam", 1e-3, 0.0, 3, 8),
    ]
    compare_with_fit(
        [model(40 + k) for k in range(4)],
        [x0, x0, x1, x1],
        [y0, y0, y1, y1],
        configs,
        [0, 0, 1, 1],
        stop_after={1: 2, 3: 1},
    )


def test_grouped_and_vmap_logits_equal_each_model() -> None:
    """The grouped forward pass and PyTorch's ensembling path (``vmap`` over ``functional_call``) give each
    model's own logits, for a shared batch and for batches of their own."""
    models = [model(50 + k, DEEPER) for k in range(3)]
    x = images(3)[:8]
    separate = [images(60 + k)[:8] for k in range(3)]
    alone = torch.stack([m(x) for m in models])
    torch.testing.assert_close(grouped_logits([x], [models]), alone)
    torch.testing.assert_close(vmap_logits(x, models), alone)
    own = torch.stack([m(b) for m, b in zip(models, separate)])
    torch.testing.assert_close(grouped_logits(separate, [[m] for m in models]), own)
    torch.testing.assert_close(vmap_logits(torch.stack(separate), models), own)


def test_trained_models_classify_as_fit_trained() -> None:
    """Accuracy (an exact count) of grouped and one-by-one models agrees after training."""
    x, y = images(4), labels(4)
    configs = [TrainConfig("adam", lr, 0.0, 2, 16) for lr in (1e-3, 3e-3)]
    alone = [fit(model(k), x, y, c, generator(0)) for k, c in enumerate(configs)]
    together = fit_models([model(k) for k in range(2)], [x, x], [y, y], configs, [generator(0), generator(0)])
    assert [accuracy(m, x, y) for m in alone] == [accuracy(m, x, y) for m in together]


def test_bad_groups_are_refused_with_the_fix() -> None:
    x, y = images(5), labels(5)
    config = TrainConfig("adam", 1e-3, 0.0, 1, 16)
    shared = generator(0)
    with pytest.raises(ValueError, match="generator of its own"):
        fit_models([model(0), model(1)], [x, x], [y, y], [config, config], [shared, shared])
    with pytest.raises(ValueError, match="one architecture"):
        fit_models([model(0), model(1, DEEPER)], [x, x], [y, y], [config, config], [generator(0), generator(1)])
    with pytest.raises(ValueError, match="one input tensor"):
        fit_models([model(0)], [x, x], [y], [config], [generator(0)])


def test_train_trained_together_equals_train_and_score() -> None:
    """The job-level entry point: the fully trained settings of one seed (the tuning's learning rates and
    weight decays, with checkpoints) score as ``train_and_score`` scores them one by one."""
    from synthlib.columns import Method
    from synthlib.experiment import RunConfig, SplitTensors, train_and_score, train_trained_together, trains_together

    x, y = images(6), labels(6)
    split = SplitTensors(x, y, images(7)[:20], labels(7)[:20], x[:0], y[:0])
    method = Method("fully_trained", "Fully Trained")
    configs = [
        RunConfig("mnist", method, 3, TrainConfig("adam", lr, wd, 3, 16, input_norm="unit"), arch=PAPER)
        for lr, wd in ((1e-3, 0.0), (3e-3, 1e-3), (1e-2, 0.0))
    ]
    together = train_trained_together(configs, split, torch.device("cpu"), (1, 2))
    for config, run in zip(configs, together):
        alone = train_and_score(config, split, torch.device("cpu"), (1, 2))
        assert run.val_scores == alone.val_scores
        for pa, pb in zip(alone.model.parameters(), run.model.parameters()):
            torch.testing.assert_close(pb, pa, **tolerance(torch.float32))
    assert not trains_together(configs, torch.device("cpu"))  # one by one is faster on the CPU (benchmarks/grouped.py)
    assert not trains_together(configs[:1], torch.device("cuda"))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_early_stopping_on_validation_equals_fit_until_plateau(optimizer: str) -> None:
    """Models with ``patience`` stop on their validation split as ``fit_until_plateau`` stops them alone: the
    same Stopping, their best epoch's parameters restored, generators left where the last epoch left them;
    a model without patience beside them trains its fixed epochs."""
    from synthlib.grouped import train_models
    from synthlib.training import fit_until_plateau

    x, y = images(8), labels(8)
    validation = (images(9)[:20], labels(9)[:20])
    configs = [
        TrainConfig(optimizer, lr, 0.0, 8, 16, patience=patience, validation_every=every)
        for lr, patience, every in ((3e-2, 1, None), (1e-3, 2, None), (1e-2, None, None), (3e-2, 2, 3))
    ]
    alone = [model(70 + k) for k in range(len(configs))]
    together = [copy.deepcopy(m) for m in alone]
    alone_generators = [generator(0) for _ in configs]
    expected = []
    for m, config, g in zip(alone, configs, alone_generators):
        if config.patience is None:
            fit(m, x, y, config, g)
            expected.append(None)
        else:
            expected.append(fit_until_plateau(m, x, y, config, g, validation))
    together_generators = [generator(0) for _ in configs]
    stoppings = train_models(
        together, [x] * len(configs), [y] * len(configs), configs, together_generators, validation=validation
    )
    assert stoppings == expected
    for a, b in zip(alone, together):
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pb, pa, **tolerance(torch.float32))
    for ga, gb in zip(alone_generators, together_generators):
        assert torch.equal(ga.get_state(), gb.get_state())
