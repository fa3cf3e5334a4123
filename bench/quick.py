"""Quick in-process check of the proposer (no Hydra, no subprocess), FOR TUNING IT.

    .venv/bin/python bench/quick.py --problems hartmann6 --seeds 10 --acq EI [--batch 4 | --async 4] [--gpmin]
        [--first-seed 30] [--policy local_radius=0.5 ...]

This module owns the tuning loop: regret at the budget and seconds per run on the tuning
problems (Branin, Hartmann6, the mixed space) and the tuning seeds 0-59 (``--first-seed``
defaults to 0). Figures for a report come from sample_efficiency.py, on seeds 100 and up and on
the held-out problems (bench/problems.py's ``held_out``), which must not be tuned on: naming
one here prints a warning.

Noisy problems are scored by the true value of the proposer's recommended point (the
recommendation the sweeper writes), as sample_efficiency.py scores them.

Also prints how many runs ended at a regret of 0.1 or more: on Hartmann6 those ended in a local
basin (the nearest local minimum is 0.12 above the global one), which is what moves its median;
and how many under 0.01: on the categorical problems, the runs that found the best combination.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from problems import PROBLEMS, TUNING, Problem  # noqa: E402


def best_value(problem: Problem, seed: int, args: argparse.Namespace) -> float:
    """The best value one run finds within the problem's budget."""
    if problem.noise_sd > 0 and (args.gpmin or args.async_q):
        raise SystemExit(f"{problem.name} is noisy: scored by the recommended point, which only the batch loop has")
    if args.gpmin:
        from skopt import gp_minimize

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = gp_minimize(lambda x: problem.observe(problem.point_params(x), seed), problem.dimensions(),
                                 n_calls=problem.budget, n_initial_points=10, initial_point_generator="sobol",
                                 random_state=seed)
        return float(result.fun)
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    proposer = BatchProposer(problem.dimensions(), n_initial_points=10, acq_func=args.acq,
                             batch_strategy=args.strategy, random_state=seed, n_calls=problem.budget,
                             policy=policy(args.policy))
    if args.async_q:  # async_efficiency.py's simulated pool of q workers, this proposer
        from async_efficiency import run_async

        return float(min(run_async(problem, args.async_q, seed, proposer=proposer)[0]))
    told: List[list] = []
    values: List[float] = []
    while len(told) < problem.budget:
        points = proposer.ask(min(args.batch, problem.budget - len(told)))
        batch = [problem.observe(problem.point_params(x), seed) for x in points]
        proposer.tell(points, batch)
        told += points
        values += batch
    if problem.noise_sd > 0:  # the true value of what the user is handed: the recommendation
        return problem.evaluate(problem.point_params(told[proposer.recommend(told)[0]]))
    return float(min(values))


def policy(settings: List[str]) -> "Policy":
    """The default Policy with ``name=value`` overrides (values as Python literals)."""
    import ast
    import dataclasses

    from hydra_skopt_sweeper.search.policy import Policy

    changes = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        changes[name] = ast.literal_eval(value)
    return dataclasses.replace(Policy(), **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(TUNING))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="tuning seeds are 0-59; reports use 100 and up")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--acq", default="EI")
    parser.add_argument("--gpmin", action="store_true")
    parser.add_argument("--strategy", default="fantasies")
    parser.add_argument("--policy", nargs="*", default=[], metavar="NAME=VALUE",
                        help="Policy fields to change, e.g. local_radius=0.5 log_scale_ratio=1e300 (no log-scale warp)")
    parser.add_argument("--async", dest="async_q", type=int, default=0, metavar="Q",
                        help="async scheduling of Q simulated workers (bench/async_efficiency.py's loop) instead of batches")
    args = parser.parse_args()
    for name in args.problems.split(","):
        problem = PROBLEMS[name]
        if problem.held_out:
            print(f"warning: {name} is a held-out problem; tuning on it spoils the held-out report", flush=True)
        regrets: List[float] = []
        seconds: List[float] = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            started = time.perf_counter()
            regrets.append(best_value(problem, seed, args) - problem.optimum)
            seconds.append(time.perf_counter() - started)
        at_budget = np.array(regrets)
        q25, q50, q75 = np.percentile(at_budget, [25, 50, 75])
        print(f"{name:10s} acq={args.acq} {f'async q={args.async_q}' if args.async_q else f'b={args.batch}'} {' '.join(args.policy)} median={q50:.4g} q25={q25:.4g} q75={q75:.4g} "
              f"s/run={np.mean(seconds):.1f} regret>=0.1: {int(np.sum(at_budget >= 0.1))}/{len(regrets)} "
              f"regret<0.01: {int(np.sum(at_budget < 0.01))}/{len(regrets)}",
              flush=True)


if __name__ == "__main__":
    main()
