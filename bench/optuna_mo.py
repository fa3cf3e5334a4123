"""The Optuna 5 anchors of the multi-objective benchmark: one raw Optuna study (no Hydra) driven
over stdin/stdout, so every method's trials are evaluated by the same code in the project venv.

This module owns the samplers' settings and the ask/tell loop. It runs in bench/.venv-optuna5
(bench/multi_objective.py creates it and starts this process):

    bench/.venv-optuna5/bin/python bench/optuna_mo.py --problem zdt2 --sampler gp --seed 100 --batch 4

Protocol, one JSON object a line: this process writes ``{"params": [...]}`` (a batch of
``batch`` trials asked before any is told; the earlier ones stay RUNNING, as with b trials in
parallel) and reads ``{"values": [[...], ...]}`` (each trial's loss vector, in order), until the
budget is spent; then writes ``{"done": true, "optuna": version, "ask_seconds": [...]}``.

Samplers, each with ``seed=seed`` and its defaults, all directions ``minimize``: ``gp``
(GPSampler: log expected hypervolume improvement), ``tpe``, ``random``, and ``nsga2`` with
``population_size=10`` (its default of 50 would be random search for a whole 50-trial budget).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mo_problems import MO_PROBLEMS  # noqa: E402
from optuna_gp import distribution  # noqa: E402

NSGA2_POPULATION = 10
SAMPLERS = ("gp", "tpe", "nsga2", "random")


def sampler(name: str, seed: int) -> Any:
    import optuna

    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=NSGA2_POPULATION)
    return optuna.samplers.RandomSampler(seed=seed)


def send(message: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", required=True, choices=sorted(MO_PROBLEMS))
    parser.add_argument("--sampler", required=True, choices=SAMPLERS)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    import optuna
    import torch

    torch.set_num_threads(1)  # one core per run: the benchmark runs two at once
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = MO_PROBLEMS[args.problem]
    study = optuna.create_study(directions=["minimize"] * problem.n_objectives,
                                sampler=sampler(args.sampler, args.seed))
    space = {p.name: distribution(p) for p in problem.params}
    told, ask_seconds = 0, []
    while told < problem.budget:
        started = time.perf_counter()
        trials = [study.ask(space) for _ in range(min(args.batch, problem.budget - told))]
        ask_seconds.append((time.perf_counter() - started) / len(trials))
        send({"params": [problem.canonical(t.params) for t in trials]})
        values: List[List[float]] = json.loads(sys.stdin.readline())["values"]
        for trial, value in zip(trials, values):
            study.tell(trial, value)
        told += len(trials)
    send({"done": True, "optuna": optuna.__version__, "ask_seconds": ask_seconds})


if __name__ == "__main__":
    main()
