"""Replay successive halving on the committed tunings: would it choose the same settings, and how many
training epochs would it save?

    python scripts/replay_halving.py [--eta 2 3]

For each committed tuning (``paper`` and ``sound``, MNIST and CIFAR-10) and each searched regime, the search
(``tuning.search_regime``) runs again on the committed score table (``tuning.replay_halving``): once as it
ran (it must make the committed choice) and once with successive halving at each eta; and halving on the
starting grid alone (``tuning.replay_grid_halving``), always answerable from the table. Prints the choices,
the change of mean validation accuracy (over tuning seeds and samplers) when the choice changes, and the
fraction of training epochs halving saves.
"""

from __future__ import annotations

import argparse

from synthlib.protocols import get_protocol
from synthlib.provenance import REPO_ROOT
from synthlib.tuning import HalvingReplay, load_tuning, replay_grid_halving, replay_halving, setting_values

PROTOCOLS = ("paper", "sound")
DATASETS = ("mnist", "cifar10")


def short(config) -> str:
    values = setting_values(config)
    return f"{values['input_norm']} lr {values['learning_rate']:g} wd {values['weight_decay']:g} {values['epochs']} ep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eta", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args()
    for name in PROTOCOLS:
        protocol = get_protocol(name)
        for dataset in DATASETS:
            committed = load_tuning(protocol.tuning_path(REPO_ROOT / "results", dataset))
            for eta in args.eta:
                for replay in replay_halving(committed.scores, protocol.tuning_grid, eta, dataset):
                    assert replay.chosen == committed.selected[replay.regime], (name, dataset, replay.regime)
                    print(line(f"{name} {dataset} {replay.regime} eta={eta}, whole search", replay))
                for replay in replay_grid_halving(committed.scores, protocol.tuning_grid, eta):
                    print(line(f"{name} {dataset} {replay.regime} eta={eta}, starting grid", replay))


def line(head: str, replay: HalvingReplay) -> str:
    head = f"{head}: without halving {short(replay.chosen)}"
    if replay.chosen_with_halving is None:
        return f"{head}; halving walks elsewhere and needs a score the table lacks ({replay.missing})"
    if replay.same_choice:
        verdict = "halving picks the same"
    else:
        change = (replay.val_accuracy_with_halving - replay.val_accuracy) * 100
        verdict = f"halving picks {short(replay.chosen_with_halving)} ({change:+.2f} points on validation)"
    return (
        f"{head}; {verdict}; epochs {replay.epochs} -> {replay.epochs_with_halving} ({replay.epochs_saved:.0%} saved)"
    )


if __name__ == "__main__":
    main()
