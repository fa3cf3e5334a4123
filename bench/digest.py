"""A fingerprint of the proposer's choices: every proposal and recommendation, hashed.

    .venv/bin/python bench/digest.py [--budget 24] [--verbose]

A refactoring that must not change behaviour prints the same digests before and after; a
change that means to alter proposals says which cases moved. Each case runs the proposer
in-process (no Hydra) on a tuning problem with a fixed seed, in batch mode (batch 1 and 4,
several batch strategies and acquisition functions, the forests, a constraint) and in the
async mode of async_efficiency.py; the budget is cut short to keep the run to a minute or two.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from problems import PROBLEMS  # noqa: E402

# (problem, mode, batch or workers, extra proposer keywords)
CASES: List[Tuple[str, str, int, Dict[str, Any]]] = [
    ("branin", "batch", 1, {}),
    ("branin", "batch", 4, {}),
    ("branin", "batch", 4, {"batch_strategy": "kb_ucb"}),
    ("branin", "batch", 3, {"batch_strategy": "cl_min"}),
    ("branin", "batch", 1, {"acq_func": "PI"}),
    ("branin", "batch", 1, {"acq_func": "LCB"}),
    ("branin", "batch", 2, {"acq_func": "gp_hedge"}),
    ("branin", "batch", 2, {"base_estimator": "RF"}),
    ("branin", "batch", 2, {"base_estimator": "ET", "acq_optimizer": "sampling"}),
    ("branin", "batch", 2, {"initial_point_generator": "lhs"}),
    ("branin", "batch", 2, {"is_allowed": "x0 + x1 < 10"}),
    ("hartmann6", "batch", 4, {}),
    ("hartmann6", "async", 4, {}),
    ("mixed", "batch", 4, {}),
    ("mixed", "async", 3, {}),
    ("scale_lr", "batch", 1, {}),
    ("cat_tuning", "batch", 4, {}),
    ("cat_tuning", "async", 4, {}),
    ("int_tuning", "batch", 4, {"initial_point_generator": "grid"}),
    ("camel_noisy", "batch", 2, {}),
]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def run_case(problem_name: str, mode: str, q: int, extra: Dict[str, Any], seed: int, budget: int) -> str:
    """Every point asked, in order, and the recommendation at the end, as text."""
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    problem = PROBLEMS[problem_name]
    budget = min(budget, problem.budget)
    settings: Dict[str, Any] = dict(n_initial_points=8, random_state=seed, n_calls=budget)
    settings.update(extra)
    if "is_allowed" in extra:  # a constraint over the first two coordinates, named by its text
        settings["is_allowed"] = lambda point: float(point[0]) + float(point[1]) < 10
    proposer = BatchProposer(problem.dimensions(), **settings)
    lines: List[str] = []
    told: List[list] = []
    if mode == "batch":
        while len(told) < budget:
            points = proposer.ask(min(q, budget - len(told)))
            lines.append(repr([[_plain(v) for v in p] for p in points]))
            proposer.tell(points, [problem.observe(problem.point_params(p), seed) for p in points])
            told += points
    else:  # async: q running, the one that finishes first (by a fixed duration) is told
        durations = np.random.default_rng(seed).uniform(1.0, 3.0, size=budget)
        running: List[Tuple[float, int, list]] = []
        now, launched = 0.0, 0
        while len(told) < budget:
            while len(running) < q and len(told) + len(running) < budget:
                point = proposer.ask(1)[0]
                lines.append(repr([_plain(v) for v in point]))
                running.append((now + durations[launched], launched, point))
                launched += 1
            running.sort()
            now, _, point = running.pop(0)
            proposer.tell([point], [problem.observe(problem.point_params(point), seed)])
            told.append(point)
    index, predicted = proposer.recommend(told)
    lines.append(f"recommend {index} {predicted!r}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=24)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--verbose", action="store_true", help="print every proposal, not only the digests")
    args = parser.parse_args()
    everything = hashlib.sha256()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for problem_name, mode, q, extra in CASES:
            text = run_case(problem_name, mode, q, extra, args.seed, args.budget)
            everything.update(text.encode())
            name = f"{problem_name} {mode} {q} {' '.join(f'{k}={v}' for k, v in extra.items())}".strip()
            print(f"{hashlib.sha256(text.encode()).hexdigest()[:16]}  {name}", flush=True)
            if args.verbose:
                print(text)
    print(f"{everything.hexdigest()[:16]}  all")


if __name__ == "__main__":
    main()
