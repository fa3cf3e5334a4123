"""Seconds per call of scikit-optimize's ``Optimizer`` and of this project's door to it, at a
given number of observations, in the same run.

    .venv/bin/python bench/door_call_cost.py [--observations 100] [--calls 5] [--seed 0]

Each optimiser is told the same ``--observations`` random points of a mixed 5-d space
(two reals, one log-real, an integer, a categorical) with Branin-like values, then makes
``--calls`` rounds of ``ask()`` and ``tell()`` (one new point each); the median seconds of one
round is printed, for scikit-optimize's own ``Optimizer`` (its defaults) and the door's.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any, Callable, List

import numpy as np
from skopt import Optimizer as SkoptOptimizer
from skopt.space import Categorical, Integer, Real

from hydra_skopt_sweeper import Optimizer as DoorOptimizer

DIMENSIONS = [Real(-5.0, 10.0, name="x"), Real(0.0, 15.0, name="y"), Real(1e-4, 1e-1, "log-uniform", name="lr"),
              Integer(1, 64, name="width"), Categorical(["relu", "tanh", "gelu"], name="act")]


def objective(point: List[Any]) -> float:
    x, y, lr, width, act = point
    branin = (y - 5.1 / (4 * math.pi ** 2) * x ** 2 + 5 / math.pi * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10
    return branin + (math.log10(lr) + 2.5) ** 2 + abs(width - 24) / 16 + {"relu": 0.0, "tanh": 0.3, "gelu": 0.1}[act]


def seconds_per_round(make: Callable[[], Any], observations: int, calls: int, seed: int) -> float:
    optimizer = make()
    rng = np.random.RandomState(seed)
    from skopt.space import Space

    points = Space(DIMENSIONS).rvs(observations, random_state=rng)
    optimizer.tell(points, [objective(p) for p in points])
    rounds = []
    for _ in range(calls):
        started = time.perf_counter()
        point = optimizer.ask()
        optimizer.tell(point, objective(point))
        rounds.append(time.perf_counter() - started)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=100)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    makers = {"scikit-optimize Optimizer": lambda: SkoptOptimizer(DIMENSIONS, random_state=args.seed),
              "door Optimizer": lambda: DoorOptimizer(DIMENSIONS, random_state=args.seed)}
    print(f"{args.observations} observations, median of {args.calls} ask+tell rounds")
    results = {name: seconds_per_round(make, args.observations, args.calls, args.seed) for name, make in makers.items()}
    for name, seconds in results.items():
        print(f"  {name}: {seconds:.2f} s a round")
    door, skopt = results["door Optimizer"], results["scikit-optimize Optimizer"]
    print(f"  door / scikit-optimize: {door / skopt:.2f}")


if __name__ == "__main__":
    main()
