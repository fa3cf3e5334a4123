"""Metric constraints: best feasible regret at the budget, this sweeper against the anchors, same run.

    .venv/bin/python bench/constrained.py [--suite held-out] [--seeds 5] [--first-seed 100]
        [--batches 1,4] [--methods skopt_gp,optuna_gp,optuna_tpe,random] [--jobs 2]
    .venv/bin/python bench/constrained.py --suite tuning [--policy feasibility_power=2]   (trying a proposer change)

This module owns running every method on a constrained problem (bench/constrained_problems.py),
caching the runs, scoring them and the report (results/constrained[_tuning]_<first>-<last
seed>.md). All in-process or raw, no Hydra:

- skopt_gp: this sweeper's proposer with its defaults, told each trial's slacks
  (``BatchProposer(dimensions, n_constraints=k, n_initial_points=10, n_calls=budget)``);
  batch b = b points asked, then the b told;
- optuna_gp: raw Optuna 5 ``GPSampler`` with ``constraints_func`` (bench/optuna_constrained.py,
  in bench/.venv-optuna5, created on first use); batch b = b trials asked before any is told;
- optuna_tpe: the same with ``TPESampler``, at batch 1 only (shown once: the batch-4 rows
  compare against its sequential runs);
- random: the sweeper's random search (``n_initial_points=n_calls``, ``random``), shown once.

Scoring: regret = best FEASIBLE value found - the known feasible optimum; ``inf`` when a run
found nothing feasible (those runs are counted). The infeasible share: of the trials after the
initial design (trial 11 on), those with a positive slack, pooled over seeds. The seeds
default to 100 and up for the held-out problems; the tuning problems take seeds 0-59; every
report names its problems and seeds. Each run is cached in
results/constrained_runs/<problem>-<method>-b<batch>-s<seed>.json (``--fresh`` reruns).
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core per run: --jobs runs share the machine

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH, RESULTS, sweeper_commit, table, write_report  # noqa: E402
from constrained_problems import HELD_OUT, PROBLEMS, TUNING, ConstrainedProblem  # noqa: E402
from sample_efficiency import ensure_optuna5_venv  # noqa: E402

RUNS = RESULTS / "constrained_runs"
OPTUNA_RUNNER = BENCH / "optuna_constrained.py"
METHODS = ["skopt_gp", "optuna_gp", "optuna_tpe", "random"]
ANCHORS = ["optuna_gp", "optuna_tpe", "random"]
BATCHLESS = {"random", "optuna_tpe"}  # run at batch 1 only, shown once
N_INITIAL = 10
# regrets below this count as equal in the ratios and the targets
RATIO_FLOOR = 1e-4
TUNING_SEEDS = range(0, 60)
SUITES = {"held-out": (HELD_OUT, 100, "constrained"), "tuning": (TUNING, 0, "constrained_tuning")}
Key = Tuple[str, str, int]  # (problem, method, batch)


def run_skopt(problem: ConstrainedProblem, batch: int, seed: int, settings: Sequence[str] = ()) -> Dict[str, Any]:
    """This sweeper's proposer, told values and slacks, ``batch`` asked then told; ``settings``
    (``name=value``) change its policy."""
    from quick import policy

    from hydra_skopt_sweeper.search.proposer import BatchProposer

    proposer = BatchProposer(problem.dimensions(), n_constraints=problem.n_constraints, random_state=seed,
                             n_calls=problem.budget, n_initial_points=N_INITIAL, policy=policy(list(settings)))
    record: Dict[str, List[Any]] = {"values": [], "slacks": [], "params": []}
    while len(record["values"]) < problem.budget:
        points = proposer.ask(min(batch, problem.budget - len(record["values"])))
        measured = [problem.measure(problem.point_params(x)) for x in points]
        proposer.tell(points, [m[0] for m in measured], [m[1] for m in measured])
        record["values"] += [m[0] for m in measured]
        record["slacks"] += [m[1] for m in measured]
        record["params"] += [problem.point_params(x) for x in points]
    return record


def run_random(problem: ConstrainedProblem, seed: int) -> Dict[str, Any]:
    """Random search as the sweeper does it (``n_initial_points=n_calls``, random)."""
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    proposer = BatchProposer(problem.dimensions(), n_initial_points=problem.budget,
                             initial_point_generator="random", random_state=seed, n_calls=problem.budget)
    params = [problem.point_params(x) for x in proposer.ask(problem.budget)]
    measured = [problem.measure(p) for p in params]
    return {"values": [m[0] for m in measured], "slacks": [m[1] for m in measured], "params": params}


def run_optuna(problem: ConstrainedProblem, sampler: str, batch: int, seeds: Sequence[int]) -> Iterator[Dict[str, Any]]:
    """Each seed's run, as it ends; all of them in one process (torch and Optuna imported once)."""
    command = [ensure_optuna5_venv(), str(OPTUNA_RUNNER), "--problem", problem.name,
               "--seeds", ",".join(map(str, seeds)), "--batch", str(batch), "--sampler", sampler]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}) as process:
        for line in process.stdout:
            yield json.loads(line)
        error = process.stderr.read()
    if process.returncode != 0:
        raise RuntimeError(f"optuna_{sampler} {problem.name} b{batch} s{seeds} failed:\n{error[-3000:]}")


def cache_path(method: str, name: str, batch: int, seed: int, settings: Sequence[str] = ()) -> Path:
    tag = "".join(f"-{s}" for s in settings) if method == "skopt_gp" else ""
    return RUNS / f"{name}-{method}{tag}-b{batch}-s{seed}.json"


def run_task(method: str, name: str, batch: int, seeds: Sequence[int], fresh: bool,
             settings: Sequence[str] = ()) -> List[Dict[str, Any]]:
    """The runs of ``seeds``, from the cache where it has them; each new one cached as it ends."""
    import warnings

    warnings.simplefilter("ignore")
    problem = PROBLEMS[name]
    done = {s: json.loads(cache_path(method, name, batch, s, settings).read_text()) for s in seeds
            if cache_path(method, name, batch, s, settings).exists() and not fresh}
    todo = [s for s in seeds if s not in done]
    commit = sweeper_commit()  # the sweeper may change under a long run: each run says what it measured

    def timed(run: Callable[[int], Dict[str, Any]]) -> Iterator[Dict[str, Any]]:
        for seed in todo:
            started = time.perf_counter()
            yield {"seed": seed, **run(seed), "seconds": time.perf_counter() - started}

    if method.startswith("optuna"):
        new = run_optuna(problem, method.split("_")[1], batch, todo) if todo else iter(())
    elif method == "random":
        new = timed(lambda seed: run_random(problem, seed))
    else:
        new = timed(lambda seed: run_skopt(problem, batch, seed, settings))
    for record in new:
        record.update(method=method, problem=name, batch=batch, commit=commit)
        RUNS.mkdir(parents=True, exist_ok=True)
        cache_path(method, name, batch, record["seed"], settings).write_text(json.dumps(record))
        print(f"  {name} {method} b{batch} s{record['seed']}: {record['seconds']:.1f} s", flush=True)
        done[record["seed"]] = record
    return [done[s] for s in seeds]


def feasible(record: Dict[str, Any]) -> np.ndarray:
    return np.array([max(s) <= 0 for s in record["slacks"]], dtype=bool)


def final_regret(record: Dict[str, Any], problem: ConstrainedProblem) -> float:
    """Best feasible value - the feasible optimum; inf when nothing was feasible."""
    values = np.array(record["values"][:problem.budget], dtype=float)
    ok = feasible(record)[:problem.budget]
    return max(float(values[ok].min()) - problem.optimum, 0.0) if ok.any() else float("inf")


class Results:
    """The scored runs per (problem, method, batch)."""

    def __init__(self, records: List[Dict[str, Any]], batches: List[int]):
        self.batches = batches
        self.regrets: Dict[Key, List[float]] = {}
        self.infeasible: Dict[Key, Tuple[int, int]] = {}
        self.first_feasible: Dict[Key, List[float]] = {}
        self.seconds: Dict[Key, List[float]] = {}
        self.commits: Dict[str, List[str]] = {}
        for record in records:
            problem = PROBLEMS[record["problem"]]
            key = (record["problem"], record["method"], record["batch"])
            ok = feasible(record)[:problem.budget]
            self.regrets.setdefault(key, []).append(final_regret(record, problem))
            bad, total = self.infeasible.get(key, (0, 0))
            self.infeasible[key] = (bad + int((~ok[N_INITIAL:]).sum()), total + len(ok[N_INITIAL:]))
            self.first_feasible.setdefault(key, []).append(float(np.argmax(ok) + 1) if ok.any() else float("inf"))
            self.seconds.setdefault(key, []).append(record["seconds"])
            self.commits.setdefault(record["method"], []).append(record.get("commit", "not recorded"))

    def key(self, problem: str, method: str, batch: int) -> Key:
        return (problem, method, self.batches[0] if method in BATCHLESS else batch)

    def has(self, problem: str, method: str, batch: int) -> bool:
        return self.key(problem, method, batch) in self.regrets

    def median(self, problem: str, method: str, batch: int, floor: float = 0.0) -> float:
        return max(float(np.median(self.regrets[self.key(problem, method, batch)])), floor)

    def quartiles(self, problem: str, method: str, batch: int) -> Tuple[float, float]:
        big = np.minimum(self.regrets[self.key(problem, method, batch)], 1e300)  # inf-safe percentiles
        q25, q75 = np.percentile(big, [25, 75])
        return (float("inf") if q25 >= 1e299 else q25), (float("inf") if q75 >= 1e299 else q75)

    def nothing_feasible(self, problem: str, method: str, batch: int) -> int:
        return int(np.isinf(self.regrets[self.key(problem, method, batch)]).sum())

    def infeasible_share(self, problem: str, method: str, batch: int) -> float:
        bad, total = self.infeasible[self.key(problem, method, batch)]
        return bad / total if total else float("nan")


def fmt(value: float) -> str:
    return "inf" if np.isinf(value) else f"{value:.3g}"


def ratio(ours: float, theirs: float) -> str:
    """ours / theirs on floored medians; inf on either side is spelled out."""
    if np.isinf(theirs):
        return "1 (both inf)" if np.isinf(ours) else "0 (theirs inf)"
    if np.isinf(ours):
        return "inf"
    return f"{max(ours, RATIO_FLOOR) / max(theirs, RATIO_FLOOR):.3g}"


def rows_of(results: Results, problems: Sequence[str], batches: Sequence[int], methods: Sequence[str],
            n_seeds: int) -> List[List[object]]:
    rows: List[List[object]] = []
    for name in problems:
        for batch in batches:
            for method in methods:
                if not results.has(name, method, batch) or (method in BATCHLESS and batch != batches[0]):
                    continue
                q25, q75 = results.quartiles(name, method, batch)
                first = np.median(results.first_feasible[results.key(name, method, batch)])
                rows.append([f"{name} ({PROBLEMS[name].budget})", "-" if method in BATCHLESS else batch, method,
                             fmt(results.median(name, method, batch)), f"[{fmt(q25)}, {fmt(q75)}]",
                             f"{results.nothing_feasible(name, method, batch)}/{n_seeds}",
                             f"{results.infeasible_share(name, method, batch):.0%}", fmt(first),
                             f"{np.mean(results.seconds[results.key(name, method, batch)]):.1f}"])
    return rows


def main_table(results: Results, problems: Sequence[str], batches: Sequence[int], methods: Sequence[str],
               n_seeds: int) -> str:
    return table(["problem (budget)", "batch", "method", "median regret", "[q25, q75]", "nothing feasible",
                  "infeasible after trial 10", "first feasible trial (median)", "mean s/run"],
                 rows_of(results, problems, batches, methods, n_seeds))


def wide_table(results: Results, problems: Sequence[str], batches: Sequence[int], methods: Sequence[str]) -> str:
    anchors = [m for m in methods if m in ANCHORS]
    rows: List[List[object]] = []
    for name in problems:
        for batch in batches:
            if not results.has(name, "skopt_gp", batch):
                continue
            ours = results.median(name, "skopt_gp", batch)
            row: List[object] = [name, batch]
            row += [fmt(results.median(name, m, batch)) if results.has(name, m, batch) else "" for m in methods]
            row += [ratio(ours, results.median(name, a, batch)) if results.has(name, a, batch) else "" for a in anchors]
            row += [f"{results.infeasible_share(name, m, batch):.0%}" if results.has(name, m, batch) else ""
                    for m in methods]
            rows.append(row)
    header = ["problem", "batch", *[f"{m} median" for m in methods], *[f"skopt_gp / {a}" for a in anchors],
              *[f"{m} infeasible" for m in methods]]
    return table(header, rows)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def target_lines(results: Results, problems: Sequence[str], batches: Sequence[int]) -> List[str]:
    """The issue's targets per batch: regret <= optuna_gp's on most problems and <= random's on all
    (floored medians), and a lower infeasible share than random's on each problem."""
    lines: List[str] = []
    for batch in batches:
        checks = []
        for anchor, rule in (("optuna_gp", "most"), ("random", "all")):
            oks = {p: results.median(p, "skopt_gp", batch, RATIO_FLOOR) <= results.median(p, anchor, batch, RATIO_FLOOR)
                   for p in problems if results.has(p, "skopt_gp", batch) and results.has(p, anchor, batch)}
            if not oks:
                continue
            met = sum(oks.values()) > len(oks) / 2 if rule == "most" else all(oks.values())
            checks.append(f"median best feasible regret <= {anchor}'s on {rule} problems: **{verdict(met)}** "
                          f"({sum(oks.values())} of {len(oks)}; not on: {', '.join(p for p, ok in oks.items() if not ok) or 'none'})")
        shares = {p: results.infeasible_share(p, "skopt_gp", batch) < results.infeasible_share(p, "random", batch)
                  for p in problems if results.has(p, "skopt_gp", batch) and results.has(p, "random", batch)}
        if shares:
            checks.append(f"infeasible share after the initial design < random's: **{verdict(all(shares.values()))}** "
                          f"({sum(shares.values())} of {len(shares)}; not on: "
                          f"{', '.join(p for p, ok in shares.items() if not ok) or 'none'})")
        lines += [f"batch {batch}: {check}" for check in checks]
    return lines


def problems_section(problems: Sequence[str]) -> str:
    rows = [[name, PROBLEMS[name].budget, "held-out" if PROBLEMS[name].held_out else "tuning",
             "; ".join(PROBLEMS[name].constraints), f"{PROBLEMS[name].optimum:.6g}", PROBLEMS[name].about]
            for name in problems]
    return table(["problem", "budget", "set", "constraints", "feasible optimum", "what"], rows)


def seeds_text(first: int, count: int) -> str:
    seeds = range(first, first + count)
    tuned = bool(set(seeds) & set(TUNING_SEEDS))
    return f"{'tuning' if tuned else 'held-out'} seeds {seeds.start}-{seeds.stop - 1}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="held-out")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, help="default: 100 for held-out, 0 for tuning")
    parser.add_argument("--problems", help="comma-separated; default: the suite's")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (each in its own process)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument("--policy", nargs="*", default=[], metavar="NAME=VALUE",
                        help="run skopt_gp with these Policy changes (for the tuning suite)")
    args = parser.parse_args()
    suite_problems, suite_first, suite_report = SUITES[args.suite]
    first_seed = suite_first if args.first_seed is None else args.first_seed
    problems = args.problems.split(",") if args.problems else suite_problems
    batches = [int(b) for b in args.batches.split(",")]
    methods = args.methods.split(",")
    if any(m.startswith("optuna") for m in methods):
        ensure_optuna5_venv()  # before the pool, so two workers never create it at once
    seeds = range(first_seed, first_seed + args.seeds)
    # the slowest runs first, so the pool's two workers finish together
    order = {"optuna_gp": 0, "skopt_gp": 1, "optuna_tpe": 2, "random": 3}
    # an Optuna task runs every seed in one process; the others run one seed each
    tasks = sorted(((m, p, b, group) for p in problems for m in methods
                    for b in ([batches[0]] if m in BATCHLESS else batches)
                    for group in ([tuple(seeds)] if m.startswith("optuna") else [(s,) for s in seeds])),
                   key=lambda t: order.get(t[0], 9))
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        records = [r for rs in pool.map(run_task, *zip(*tasks), [args.fresh] * len(tasks),
                                        [tuple(args.policy)] * len(tasks)) for r in rs]
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s", flush=True)
    results = Results(records, batches)

    seeds_line = seeds_text(first_seed, args.seeds)
    set_line = "held-out problems (never tuned on)" if args.suite == "held-out" else "tuning problems"
    if args.policy:
        set_line += f", skopt_gp with {' '.join(args.policy)}"
    sections = [f"Problems: the {set_line}; {seeds_line}.\n\n" + problems_section(problems)]
    main_rows = main_table(results, problems, batches, methods, args.seeds)
    print(main_rows)
    sections.append(f"Best feasible regret at the budget ({set_line}, {seeds_line}): median, quartiles, runs "
                    f"that found nothing feasible (regret inf), the share of infeasible trials after the "
                    f"initial design (trials 11 on, pooled over seeds), the first feasible trial:\n\n" + main_rows)
    wide = wide_table(results, problems, batches, methods)
    print(wide)
    sections.append(f"Medians, skopt_gp / anchor (medians floored at {RATIO_FLOOR:g}) and infeasible shares, "
                    f"{set_line}, {seeds_line}:\n\n" + wide)
    lines = target_lines(results, problems, batches)
    for line in lines:
        print(line)
    sections.append(f"Targets ({set_line}, {seeds_line}):\n\n" + "\n".join(f"- {line}" for line in lines))
    sections.append("Sweeper commit at each run: " + "; ".join(
        f"{m}: " + ", ".join(f"{c} ({cs.count(c)})" for c in sorted(set(cs))) for m, cs in results.commits.items()))
    tag = "".join(f"_{setting}" for setting in args.policy)
    path = write_report(f"{suite_report}_{first_seed}-{first_seed + args.seeds - 1}{tag}", f"Metric constraints ({args.suite} problems): best feasible regret vs the anchors",
                        "bench/constrained.py " + " ".join(sys.argv[1:]), sections)
    print(f"report: {path}")


if __name__ == "__main__":
    main()
