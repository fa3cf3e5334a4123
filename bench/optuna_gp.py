"""The Optuna 5 GPSampler anchor: one run of raw Optuna (no Hydra) on one benchmark problem.

This module owns the mapping of a problem's space (bench/problems.py) to Optuna distributions
and the ask/tell loop. It runs in bench/.venv-optuna5 (sample_efficiency.py creates it), where
the sweeper's packages are not installed:

    bench/.venv-optuna5/bin/python bench/optuna_gp.py --problem hartmann6 --seed 100 --batch 4

``GPSampler(seed=seed)`` with its defaults and ``n_trials = budget``. Batch b: b trials are
asked before any is told (the earlier ones stay RUNNING, which is what a user running b
trials in parallel gets). Prints one JSON line: every trial's observed value and params, in
ask order, and ``best_params`` (``study.best_trial``'s: what this tool's user gets).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import CATEGORICAL, GRID, INT, PROBLEMS, Param, Problem  # noqa: E402


def distribution(param: Param) -> Any:
    """The Optuna distribution the sweeper's view of ``param`` corresponds to."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if param.kind == CATEGORICAL:
        return CategoricalDistribution(list(param.choices))
    if param.kind == INT:
        return IntDistribution(int(param.low), int(param.high))
    if param.kind == GRID:  # Hydra's end-exclusive range: the same grid, end = its last value
        values = param.grid()
        return IntDistribution(values[0], values[-1], step=param.step)
    return FloatDistribution(param.low, param.high, log=param.log)


def run(problem: Problem, seed: int, batch: int) -> Dict[str, Any]:
    """One GPSampler run of ``problem.budget`` trials, ``batch`` asked before telling."""
    import optuna
    import torch

    torch.set_num_threads(1)  # one core per run: the benchmark runs --jobs of these at once
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    space = {p.name: distribution(p) for p in problem.params}
    values: List[float] = []
    params: List[Dict[str, Any]] = []
    while len(values) < problem.budget:
        trials = [study.ask(space) for _ in range(min(batch, problem.budget - len(values)))]
        for trial in trials:
            point = problem.canonical(trial.params)
            value = problem.observe(point, seed)
            values.append(value)
            params.append(point)
            study.tell(trial, value)
    return {"values": values, "params": params, "best_params": problem.canonical(study.best_trial.params),
            "optuna": optuna.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", required=True, choices=sorted(PROBLEMS))
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(PROBLEMS[args.problem], args.seed, args.batch)))


if __name__ == "__main__":
    main()
