"""Where in a Hartmann6 run async loses to batch: the trial at which each run enters the global basin.

    .venv/bin/python bench/basin_entry.py [--first-seed 0] [--seeds 30] [--jobs 2] [--policy NAME=VALUE ...]

A diagnosis, not a report: it runs ``async_efficiency.py``'s simulated async pool (q=4) and its
batch 4 and batch 1 loops in-process, on any seeds (tuning seeds 0-59 included: nothing is
tuned here), and prints, per method, how many runs are in the global basin (best regret under
0.1; the nearest local minimum is 0.12 above the global one) after 30-60 trials, the median
trial of entry, the median number of trials from entry to a regret under 1e-3, and the final
regret. ``--policy`` changes the async proposer only (bench/quick.py's syntax).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from multiprocessing import Pool
from pathlib import Path
from typing import List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from async_efficiency import proposer_for, run_async, run_batch  # noqa: E402
from problems import PROBLEMS  # noqa: E402
from quick import policy  # noqa: E402

IN_BASIN, REFINED = 0.1, 1e-3
AFTER = (30, 35, 40, 45, 50, 60)
METHODS = (("async q=4", "async", 4), ("batch 4", "batch", 4), ("batch 1", "batch", 1))


def regrets(task: Tuple[str, int, int, List[str]]) -> np.ndarray:
    """Best regret after each trial of one run."""
    mode, q, seed, settings = task
    spec = PROBLEMS["hartmann6"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "async":
            values = run_async(spec, q, seed, proposer=proposer_for(spec, seed, policy(settings)))[0]
        else:
            values = run_batch(spec, q, seed)[0]
    return np.minimum.accumulate(np.array(values) - spec.optimum)


def row(label: str, runs: np.ndarray) -> str:
    inside = runs[:, -1] < IN_BASIN
    entry = np.array([int(np.argmax(run < IN_BASIN)) + 1 for run in runs[inside]])
    refined = [int(np.argmax(run < REFINED)) + 1 - first for run, first in zip(runs[inside], entry)
               if (run < REFINED).any()]
    counts = " / ".join(str(int((runs[:, t - 1] < IN_BASIN).sum())) for t in AFTER)
    gmean = np.exp(np.mean(np.log(np.maximum(runs[inside, -1], 1e-12)))) if inside.any() else float("nan")
    return (f"| {label} | {counts} | {np.median(entry) if len(entry) else '-'} | "
            f"{np.median(refined) if refined else '-'} | {np.median(runs[:, -1]):.2g} | {gmean:.2g} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--policy", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    tasks = [(mode, q, seed, args.policy) for _, mode, q in METHODS for seed in seeds]
    with Pool(args.jobs) as pool:
        results = pool.map(regrets, tasks)
    print(f"Hartmann6, seeds {seeds.start}-{seeds.stop - 1}, async policy {args.policy or 'default'}\n")
    print(f"| method | runs in the basin after {' / '.join(map(str, AFTER))} trials | median entry trial "
          "| median trials from entry to 1e-3 | median final regret | geometric mean, runs in the basin |")
    print("| --- | --- | --- | --- | --- | --- |")
    for index, (label, _, _) in enumerate(METHODS):
        print(row(label, np.array(results[index * len(seeds):(index + 1) * len(seeds)])))


if __name__ == "__main__":
    main()
