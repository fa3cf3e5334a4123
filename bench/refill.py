"""The sweeper's own seconds per refill in async scheduling, beside the per-batch figure.

    .venv/bin/python bench/refill.py [--sizes 50,200,400] [--slots 4] [--refills 12]

On Hartmann6 (6-d), for each size n: tell n observations (random points), ask ``slots``
points (the running trials), then time ``refills`` refills, each the async loop's work when a
trial returns: tell the oldest running point its value, ask one point with the other
``slots - 1`` still pending. Beside it, in the same run and on the same observations, the batch
scheduling's work per batch: ``ask(slots)`` + ``tell`` of those points. Prints the median and
the largest refill, the median batch, and the refill's median per trial against the batch's
per trial. Writes results/refill.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, table, write_report  # noqa: E402
from problems import PROBLEMS  # noqa: E402

sys.path.insert(0, str(ROOT))
PROBLEM = PROBLEMS["hartmann6"]


def loss(point) -> float:
    return PROBLEM.evaluate(PROBLEM.point_params(point))


def proposer_with(n: int, seed: int):
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    # n_calls far away: the late phase (local search) would only apply to batches, not refills
    proposer = BatchProposer(PROBLEM.dimensions(), n_initial_points=10, random_state=seed,
                             n_calls=10 * n)
    points = np.random.RandomState(seed).rand(n, 6).tolist()
    proposer.tell(points, [loss(p) for p in points])
    return proposer


def time_refills(n: int, slots: int, refills: int, seed: int = 0) -> list:
    proposer = proposer_with(n, seed)
    running = proposer.ask(slots)
    times = []
    for _ in range(refills):
        started = time.perf_counter()
        done = running.pop(0)
        proposer.tell([done], [loss(done)])
        running.extend(proposer.ask(1))
        times.append(time.perf_counter() - started)
    return times


def time_batches(n: int, slots: int, batches: int, seed: int = 0) -> list:
    return batch_times(proposer_with(n, seed), slots, batches)


def batch_times(proposer, slots: int, batches: int) -> list:
    """Seconds of each of ``batches`` rounds of ``ask(slots)`` and ``tell`` of those points."""
    times = []
    for _ in range(batches):
        started = time.perf_counter()
        asked = proposer.ask(slots)
        proposer.tell(asked, [loss(p) for p in asked])
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,400")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--refills", type=int, default=12)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        refill = time_refills(n, args.slots, args.refills)
        batch = time_batches(n, args.slots, args.batches)
        per_refill, per_batch = statistics.median(refill), statistics.median(batch)
        rows.append([n, f"{per_refill:.3f}", f"{max(refill):.3f}", f"{per_batch:.3f}",
                     f"{per_refill / (per_batch / args.slots):.2f}"])
        print(f"n={n}: refill median {per_refill:.3f} s (max {max(refill):.3f}), "
              f"batch of {args.slots} median {per_batch:.3f} s", flush=True)
    text = table(["observations", "refill median (s)", "refill max (s)",
                  f"batch of {args.slots} median (s)", "refill / (batch per trial)"], rows)
    print(text)
    write_report("refill", "Seconds per refill (async) and per batch of the same size, Hartmann6",
                 "python bench/refill.py " + " ".join(sys.argv[1:]),
                 [f"{args.slots} running trials; {args.refills} refills, {args.batches} batches per size.", text])


if __name__ == "__main__":
    main()
