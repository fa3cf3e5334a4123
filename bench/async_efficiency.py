"""Sample efficiency of async scheduling at the same number of trials, in-process (no Hydra).

    .venv/bin/python bench/async_efficiency.py [--problems branin,hartmann6] [--seeds 10]
        [--first-seed 100] [--q 4] [--jobs 2] [--fresh]

A pool of q workers is simulated: trial i (in launch order) takes ``durations[i]`` seconds,
drawn uniform in [1, 8] from ``numpy.random.default_rng(seed)``, independent of the params
(the same durations in every mode). Three modes, each with the proposer the sweeper builds
(``hydra_skopt_sweeper.search.proposer.BatchProposer`` with the sweeper's defaults, as in
hydra_skopt_sweeper/loop.py: n_initial_points 10, sobol, EI, fantasies (a batch; refills keep lies), GP,
``random_state=seed``, ``n_calls`` = the budget so the late phase applies as in a real sweep):

- ``async``: q points running; the one that ends first is told, then ``ask(1)`` with the others
  still pending, and launched in its slot (what loop.py's ``_run_async`` does, including the
  start: q calls of ``ask(1)``, each with the earlier ones pending; no launch past the budget);
- ``batch q``: ``ask(q)``, tell all q, repeat;
- ``batch 1``: sequential.

Budgets as bench/sample_efficiency.py uses them (bench/problems.py): Branin 40 trials,
Hartmann6 60. Held-out seeds 100-109 by default (the proposer's constants were tuned on seeds
0-59; a first seed below 60 is refused). Score: simple regret at the budget (best value -
known optimum). Prints and reports the median [q25, q75] per problem and mode, the runs that end
in a local basin (regret >= 0.1, Hartmann6's nearest local minimum is 0.12 above), the simulated
wall time (async: the makespan; batch: the sum of each batch's longest trial), and async /
batch q of the medians, each floored at 1e-4 as in sample_efficiency.py (target: <= 1.5, printed,
never asserted). Runs are cached in results/runs_async/ (``--fresh`` ignores the cache).

``--diagnose-local`` adds a fourth mode, ``async+local``, a DIAGNOSTIC and not what the sweeper
does: the same async loop with the proposer's late phase applied to ``ask(1)`` while other
points are pending (from 70% of the budget on, every refill asked with pending points is
looked for near the best point, as every point but the first of a late batch is). The sweeper's
``_n_local`` gives ``n_points - 1`` = 0 local points to an ``ask(1)``, so its async refills
never get the late phase; the patch (on the class, in this process only) shows what that costs.
Writes results/async_efficiency.md.
"""
from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, sweeper_commit, table, write_report  # noqa: E402
from problems import PROBLEMS, Problem  # noqa: E402

sys.path.insert(0, str(ROOT))
RUNS = RESULTS / "runs_async"
RATIO_FLOOR = 1e-4
TUNING_SEEDS = range(0, 60)
DURATION = (1.0, 8.0)


def proposer_for(spec: Problem, seed: int, policy: Any = None) -> Any:
    """The proposer as hydra_skopt_sweeper/loop.py builds it, with the sweeper's defaults
    (and ``policy``, a :class:`~hydra_skopt_sweeper.search.policy.Policy`, where given)."""
    from hydra_skopt_sweeper.search.policy import Policy
    from hydra_skopt_sweeper.search.proposer import BatchProposer
    from hydra_skopt_sweeper.settings import SkoptSweeperConf

    s = SkoptSweeperConf()
    return BatchProposer(spec.dimensions(), n_initial_points=s.n_initial_points,
                         initial_point_generator=s.initial_point_generator, acq_func=s.acq_func,
                         acq_optimizer=s.acq_optimizer, base_estimator=s.base_estimator,
                         batch_strategy=s.batch_strategy, random_state=seed, n_calls=spec.budget,
                         policy=Policy() if policy is None else policy)


def _local_refills(proposer: Any) -> None:
    """--diagnose-local: ``ask(1)`` with pending points gets the late phase (this process only)."""
    original = type(proposer)._n_local

    def n_local(self: Any, n_points: int) -> int:
        if n_points == 1 and self._pending and self.n_calls is not None:
            late = self.n_told + len(self._pending) + n_points > self.policy.local_from * self.n_calls
            return 1 if late else 0
        return original(self, n_points)

    proposer._n_local = n_local.__get__(proposer)


def durations_for(budget: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(*DURATION, size=budget)


def run_async(spec: Problem, q: int, seed: int, local: bool = False, proposer: Any = None) -> Tuple[List[float], float]:
    """One simulated async run (``proposer``: the sweeper's unless given, e.g. by quick.py --async)."""
    proposer = proposer_for(spec, seed) if proposer is None else proposer
    durations = durations_for(spec.budget, seed)
    if local:
        _local_refills(proposer)
    running: List[Tuple[float, int, Any]] = []  # (end time, launch index, point)
    values: List[float] = []
    now, launched = 0.0, 0
    while len(values) < spec.budget:
        while len(running) < q and len(values) + len(running) < spec.budget:
            point = proposer.ask(1)[0]
            heapq.heappush(running, (now + durations[launched], launched, point))
            launched += 1
        now, _, point = heapq.heappop(running)
        value = spec.observe(spec.point_params(point), seed)
        proposer.tell([point], [value])
        values.append(value)
    return values, now


def run_batch(spec: Problem, q: int, seed: int) -> Tuple[List[float], float]:
    proposer, durations = proposer_for(spec, seed), durations_for(spec.budget, seed)
    values: List[float] = []
    wall = 0.0
    while len(values) < spec.budget:
        points = proposer.ask(min(q, spec.budget - len(values)))
        wall += float(max(durations[len(values):len(values) + len(points)]))
        batch = [spec.observe(spec.point_params(p), seed) for p in points]
        proposer.tell(points, batch)
        values += batch
    return values, wall


def run_one(task: Tuple[str, str, int, int, bool]) -> Dict[str, Any]:
    problem, mode, q, seed, fresh = task
    cache = RUNS / f"{problem}-{mode}-q{q}-s{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    spec = PROBLEMS[problem]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values, wall = (run_async(spec, q, seed, local=mode == "async+local") if mode.startswith("async")
                        else run_batch(spec, q, seed))
    record = {"problem": problem, "mode": mode, "q": q, "seed": seed, "values": [float(v) for v in values],
              "regret": max(min(values) - spec.optimum, 0.0), "simulated_wall": wall,
              "seconds": time.perf_counter() - started, "commit": sweeper_commit()}
    RUNS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record))
    return record


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="branin,hartmann6")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--q", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (processes)")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--diagnose-local", action="store_true",
                        help="add async+local: the late phase on async refills (a diagnostic, not the sweeper)")
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if set(seeds) & set(TUNING_SEEDS):
        raise SystemExit(f"seeds {seeds.start}-{seeds.stop - 1} overlap the tuning seeds 0-59: use --first-seed 60 or more")
    problems = args.problems.split(",")
    modes = [("async", args.q), ("batch", args.q), ("batch", 1)] + ([("async+local", args.q)] if args.diagnose_local else [])
    tasks = [(p, m, q, s, args.fresh) for p in problems for m, q in modes for s in seeds]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        records = list(pool.map(run_one, tasks))
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s", flush=True)

    def label(mode: str, q: int) -> str:
        return f"{mode} {q}" if mode == "batch" else f"{mode} (q={q})"

    grouped: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for r in records:
        grouped.setdefault((r["problem"], label(r["mode"], r["q"])), []).append(r)
    rows, lines = [], []
    medians: Dict[Tuple[str, str], float] = {}
    for problem in problems:
        for mode, q in modes:
            runs = grouped[(problem, label(mode, q))]
            regrets = np.array([r["regret"] for r in runs])
            q25, q50, q75 = np.percentile(regrets, [25, 50, 75])
            medians[(problem, label(mode, q))] = float(q50)
            rows.append([f"{problem} ({PROBLEMS[problem].budget})", label(mode, q), q50, q25, q75,
                         f"{int(np.sum(regrets >= 0.1))} of {len(runs)}",
                         float(np.median([r["simulated_wall"] for r in runs])),
                         float(np.mean([r["seconds"] for r in runs]))])
        a = max(medians[(problem, label("async", args.q))], RATIO_FLOOR)
        b = max(medians[(problem, label("batch", args.q))], RATIO_FLOOR)
        one = max(medians[(problem, label("batch", 1))], RATIO_FLOOR)
        lines.append(f"{problem}: async / batch {args.q} median regret = {a / b:.3g} (floored at {RATIO_FLOOR:g}; "
                     f"target <= 1.5: {verdict(a <= 1.5 * b)}); async / batch 1 = {a / one:.3g}")
        if args.diagnose_local:
            d = max(medians[(problem, label("async+local", args.q))], RATIO_FLOOR)
            lines.append(f"{problem} (diagnostic, not the sweeper): async+local / batch {args.q} = {d / b:.3g}")
    header = ["problem (trials)", "mode", "median regret", "q25", "q75", "runs with regret >= 0.1",
              "simulated wall, median (s)", "seconds a run (mean)"]
    text = table(header, rows)
    print(text)
    for line in lines:
        print(line)
    per_seed = table(["problem", "mode", *[str(s) for s in seeds]],
                     [[p, label(m, q), *[f"{r['regret']:.2g}" for r in sorted(grouped[(p, label(m, q))],
                                                                               key=lambda r: r["seed"])]]
                      for p in problems for m, q in modes])
    commits = sorted({r["commit"] for r in records})
    path = write_report(
        "async_efficiency", f"Sample efficiency of async scheduling (q={args.q}), in-process",
        "bench/async_efficiency.py " + " ".join(sys.argv[1:]),
        [f"Held-out seeds {seeds.start}-{seeds.stop - 1} (the proposer was tuned on seeds 0-59); problems "
         f"{', '.join(f'{p} ({PROBLEMS[p].budget} trials)' for p in problems)}; trial durations uniform "
         f"{DURATION[0]:g}-{DURATION[1]:g} s from default_rng(seed), independent of the params; sweeper commit(s) "
         f"{', '.join(commits)}. Simple regret at the budget:", text,
         "\n".join(f"- {line}" for line in lines), "Regret per seed:", per_seed])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
