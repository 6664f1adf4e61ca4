"""Seconds, CPU time in the kernel and page faults of the study's inner loop with glibc's default malloc
against malloc told to keep freed memory (``scripts/bootstrap.sh``'s ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_``).

A training step allocates the same few tensors of several MiB every time (a CIFAR-10 minibatch's 64 conv maps
of 32 x 32 are 16 MiB, and so is their gradient). By default glibc gives such blocks back to the kernel when
they are freed (``mmap`` above a threshold that adapts, and trimming the heap's top), so the next step's
tensors fault their pages in again and the kernel zeroes them: the study's first tuning ran with 13-28% of
its CPU time in the kernel and up to 170,000 page faults a second. Keeping freed blocks in the heap turns
that into reuse. The arithmetic is the same, so every number is the same bit for bit.

    python -m benchmarks.allocator [--steps 150] [--repeats 3] [--threads N]

Each measurement is a fresh subprocess (the allocator is set when a process starts): ``training.fit`` of
the paper's CNN (Adam, minibatches of 64) on random images of MNIST's and CIFAR-10's shapes, then one
prediction pass. Prints, per shape, the best of ``--repeats`` alternating runs of each allocator: wall
seconds, user and system CPU seconds and minor page faults, and the ratio default / kept (above 1: keeping
freed memory is faster), and checks that both trained the same weights.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

KEEP_FREED = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296"}
"""glibc's largest mmap threshold (32 MiB: smaller blocks come from the heap and are reused) and a trim
threshold of 4 GiB (the heap's free top is kept): ``scripts/bootstrap.sh`` exports the same."""
SHAPES = {"mnist": (1, 28), "cifar10": (3, 32)}
ROOT = Path(__file__).resolve().parent.parent


def child(shape: str, steps: int, threads: int) -> dict:
    """One measurement, in this process: train, predict, report times, faults and a checksum."""
    import torch

    from synthlib.models import PaperCNN, init_
    from synthlib.training import TrainConfig, fit, predict

    torch.set_num_threads(threads)
    channels, side = SHAPES[shape]
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(64 * steps // 10, channels, side, side, generator=generator)
    images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (len(images),), generator=generator)
    model = init_(PaperCNN(channels, side), generator).to(memory_format=torch.channels_last)
    config = TrainConfig(learning_rate=1e-3, epochs=10, batch_size=64)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    fit(model, images, labels, config, torch.Generator().manual_seed(1))
    predicted = predict(model, images)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    checksum = float(sum(p.double().sum() for p in model.parameters())) + float(predicted.sum())
    return {
        "wall_s": wall,
        "user_s": after.ru_utime - before.ru_utime,
        "sys_s": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
        "checksum": checksum,
    }


def measure(shape: str, steps: int, threads: int, keep_freed: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in KEEP_FREED}
    if keep_freed:
        env.update(KEEP_FREED)
    command = [sys.executable, "-m", "benchmarks.allocator", "--child", shape, "--steps", str(steps)]
    command += ["--threads", str(threads)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="optimiser steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: PyTorch's (one per core)")
    parser.add_argument("--child", choices=sorted(SHAPES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import torch

    threads = args.threads or torch.get_num_threads()
    if args.child:
        print(json.dumps(child(args.child, args.steps, threads)))
        return 0
    print(f"{args.steps} steps of training + one prediction pass, {threads} thread(s), best of {args.repeats}")
    print("| shape | malloc | wall s | user s | sys s | minor faults | default / kept (wall) |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for shape in SHAPES:
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(args.repeats):
            for keep in (False, True):
                runs[keep].append(measure(shape, args.steps, threads, keep))
        best = {keep: min(found, key=lambda r: r["wall_s"]) for keep, found in runs.items()}
        if best[False]["checksum"] != best[True]["checksum"]:
            raise SystemExit(f"{shape}: the two allocators trained different weights: {best}")
        for keep in (False, True):
            r = best[keep]
            ratio = f"{best[False]['wall_s'] / r['wall_s']:.2f}" if keep else ""
            print(
                f"| {shape} | {'kept' if keep else 'default'} | {r['wall_s']:.2f} | {r['user_s']:.2f} | "
                f"{r['sys_s']:.2f} | {r['minor_faults']} | {ratio} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
