"""Regret of an async sweep of a few hundred trials, in-process, for one checkout of the package.

    .venv/bin/python bench/async_regret.py PROBLEM SEED [--budget 200] [--slots 4] [--checkout PATH]

Runs the proposer as the async loop does (``slots`` trials running; each result told, one
point asked with the others pending) for ``budget`` trials of a problem of problems.py, and
prints one JSON line: the checkout, the problem, the seed and the regret of the best value.
``--checkout`` imports the package from another clone (``git worktree add /tmp/old COMMIT``),
so that two commits are compared on the same problems and seeds, as issue 46's "the same
regret as today at 200 observations" asks.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem")
    parser.add_argument("seed", type=int)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--checkout", default=str(BENCH.parent))
    args = parser.parse_args()
    sys.path.insert(0, args.checkout)
    sys.path.insert(0, str(BENCH))
    from problems import PROBLEMS

    import hydra_skopt_sweeper
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    if not hydra_skopt_sweeper.__file__.startswith(str(Path(args.checkout).resolve())):
        raise SystemExit(f"--checkout={args.checkout}: the package came from {hydra_skopt_sweeper.__file__}")
    warnings.simplefilter("ignore")
    problem = PROBLEMS[args.problem]
    proposer = BatchProposer(problem.dimensions(), n_initial_points=10, random_state=args.seed,
                             n_calls=args.budget)
    running, told, best = proposer.ask(args.slots), 0, float("inf")
    while told < args.budget:
        done = running.pop(0)
        value = problem.evaluate(problem.point_params(done))
        proposer.tell([done], [value])
        told, best = told + 1, min(best, value)
        if told + len(running) < args.budget:
            running.extend(proposer.ask(1))
    print(json.dumps({"checkout": args.checkout, "problem": args.problem, "seed": args.seed,
                      "regret": best - problem.optimum}))


if __name__ == "__main__":
    main()
