"""The Optuna 5 anchors with constraints: one run of raw Optuna (no Hydra) on one constrained problem.

This module owns the ask/tell loop of a constrained study. It runs in bench/.venv-optuna5
(constrained.py creates it), where the sweeper's packages are not installed:

    bench/.venv-optuna5/bin/python bench/optuna_constrained.py --problem townsend --seeds 100,101 --batch 4 --sampler gp

``GPSampler(seed=seed, constraints_func=...)`` or ``TPESampler(seed=seed, constraints_func=...)``,
otherwise their defaults, and ``n_trials = budget``. Each trial's slacks are stored as its
``constraints`` user attribute before it is told, and ``constraints_func`` reads them back (the
pattern Optuna documents; Optuna 5 deprecates ``constraints_func`` for ``Trial.set_constraint``,
which stores the same values where the samplers read them). Batch b: b trials are asked before any is told. Prints one JSON line
per seed, as each run ends: the seed and every trial's value, slacks and params, in ask order
(several seeds in one process pay for importing torch and Optuna once).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from constrained_problems import PROBLEMS, ConstrainedProblem  # noqa: E402
from optuna_gp import distribution  # noqa: E402


def stored_slacks(trial: Any) -> Sequence[float]:
    return trial.user_attrs["constraints"]


def run(problem: ConstrainedProblem, seed: int, batch: int, sampler_name: str) -> Dict[str, Any]:
    """One run of ``problem.budget`` trials, ``batch`` asked before telling."""
    import optuna
    import torch

    torch.set_num_threads(1)  # one core per run: the benchmark runs --jobs of these at once
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # deprecated since 5.0 for Trial.set_constraint, which stores the same values the samplers read
    warnings.filterwarnings("ignore", message=".*constraints_func.*", category=FutureWarning)
    samplers = {"gp": optuna.samplers.GPSampler, "tpe": optuna.samplers.TPESampler}
    study = optuna.create_study(sampler=samplers[sampler_name](seed=seed, constraints_func=stored_slacks))
    space = {p.name: distribution(p) for p in problem.params}
    values: List[float] = []
    slacks: List[List[float]] = []
    params: List[Dict[str, Any]] = []
    while len(values) < problem.budget:
        trials = [study.ask(space) for _ in range(min(batch, problem.budget - len(values)))]
        for trial in trials:
            point = problem.canonical(trial.params)
            value, slack = problem.measure(point)
            values.append(value)
            slacks.append(slack)
            params.append(point)
            trial.set_user_attr("constraints", slack)
            study.tell(trial, value)
    return {"values": values, "slacks": slacks, "params": params, "optuna": optuna.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", required=True, choices=sorted(PROBLEMS))
    parser.add_argument("--seeds", required=True, help="comma-separated")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--sampler", choices=["gp", "tpe"], default="gp")
    args = parser.parse_args()
    for seed in map(int, args.seeds.split(",")):
        started = time.perf_counter()
        record = run(PROBLEMS[args.problem], seed, args.batch, args.sampler)
        print(json.dumps({"seed": seed, "seconds": time.perf_counter() - started, **record}), flush=True)


if __name__ == "__main__":
    main()
