"""Sample efficiency: simple regret at the budget, this sweeper against the anchors, same run.

    .venv/bin/python bench/sample_efficiency.py --suite held-out [--seeds 10] [--first-seed 100]
        [--batches 1,4] [--methods skopt_gp,optuna_gp,random] [--jobs 2]
    .venv/bin/python bench/sample_efficiency.py --suite tuning [--problems branin,hartmann6,mixed]
        [--methods skopt_gp,skopt_gp_hedge,optuna_tpe,random,gp_minimize]

This module owns running every method on a problem (bench/problems.py), caching the runs,
scoring them and the report. Two suites: ``tuning`` (Branin, Hartmann6, the mixed space: the
proposer's constants were tuned on them, in-process, seeds 0-59 with bench/quick.py) and
``held-out`` (problems of other families, never tuned on). The seeds default to 100 and up, so
neither suite reuses a tuning seed; every report says which seeds and problems it covers.

Every Hydra method runs the same app (bench/app/objective.py) as a multirun on the basic
launcher (trials in the sweeper's process):

- skopt_gp: this sweeper with its defaults (``hydra.sweeper.batch_size`` = the batch size);
- skopt_gp_batch: the same with ``hydra.sweeper.scheduling=batch`` (a batch's later points on
  fantasies; the default async scheduling asks one point per free slot);
- skopt_gp_hedge: the same with ``hydra.sweeper.acq_func=gp_hedge`` (skopt's default);
- optuna_tpe: hydra-optuna-sweeper (TPE, its defaults; ``hydra.sweeper.n_jobs`` = the batch
  size), from its own venv bench/.venv-optuna, created on first use (it pins optuna<3);
- random_hydra: Hydra-driven random search, this sweeper with ``n_initial_points=n_calls`` and
  ``initial_point_generator=random`` (batch size does not matter for it: shown once).

And three without Hydra:

- random: the same random search in-process: the sweeper's proposer with the same settings
  and seed proposes the same points (identical values on six problems, seed 100), without
  Hydra's ~0.4 s a trial;

- optuna_gp: raw Optuna 5 ``GPSampler(seed=seed)`` with its defaults (bench/optuna_gp.py, in
  bench/.venv-optuna5, created on first use); batch b = b trials asked before any is told;
- gp_minimize: plain ``skopt.gp_minimize`` with its defaults (sequential);
- gp_minimize_door: the same call with one import changed, ``from hydra_skopt_sweeper import
  gp_minimize`` (this project's proposer behind scikit-optimize's API; issue 41's door).

Scoring: simple regret = value of the chosen configuration - known optimum. Noise-free
problems: the best value found. Noisy problems: the TRUE (noise-free) value of the
configuration the user is handed: skopt_gp's ``recommended_params`` from the sweep's
optimization_results.yaml (``best_params`` where that key is missing), every other method's
observed-best trial. Each run is cached in results/runs/<problem>-<method>-b<batch>-s<seed>.json
(delete it, or pass --fresh, to rerun). Writes results/<report>.md and results/<report>.png.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH, PROJECT_PYTHON, RESULTS, sweeper_commit, table, write_report  # noqa: E402
from problems import HELD_OUT, PROBLEMS, REAL, TUNING, Problem  # noqa: E402

APP = BENCH / "app" / "objective.py"
OPTUNA_VENV = BENCH / ".venv-optuna"
OPTUNA5_VENV = BENCH / ".venv-optuna5"
OPTUNA_GP = BENCH / "optuna_gp.py"
RUNS = RESULTS / "runs"
METHODS = ["skopt_gp", "skopt_gp_batch", "skopt_gp_hedge", "optuna_gp", "optuna_tpe", "random", "random_hydra",
           "gp_minimize", "gp_minimize_door"]
BATCHLESS = {"random", "random_hydra", "gp_minimize", "gp_minimize_door"}
# this sweeper's own methods (never anchors), and what each adds to its defaults
SWEEPER_VARIANTS = {
    "skopt_gp": [],
    "skopt_gp_batch": ["hydra.sweeper.scheduling=batch"],
    "skopt_gp_hedge": ["hydra.sweeper.acq_func=gp_hedge"],
}
# the variants whose noisy runs are scored at their recommended configuration
RECOMMENDING = ("skopt_gp", "skopt_gp_batch")
# regrets below this count as equal in the floored ratios and the targets
RATIO_FLOOR = 1e-4
# the proposer's constants were tuned on these seeds (bench/quick.py)
TUNING_SEEDS = range(0, 60)
# (problems, default methods, report name) per suite
SUITES: Dict[str, Tuple[List[str], List[str], str]] = {
    "tuning": (TUNING, ["skopt_gp", "skopt_gp_hedge", "optuna_tpe", "random", "gp_minimize"], "sample_efficiency"),
    "held-out": (HELD_OUT, ["skopt_gp", "optuna_gp", "random"], "held_out"),
}
Key = Tuple[str, str, int]  # (problem, method, batch)


def ensure_venv(venv: Path, installs: Sequence[Sequence[str]]) -> str:
    """A python3.11 venv at ``venv``, created on first use with one ``pip install`` per entry;
    one whose installs did not all finish (no ``.installed`` stamp) is completed."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if not stamp.exists():
        print(f"setting up {venv} ({'; '.join(' '.join(i) for i in installs)}) ...", flush=True)
        if not python.exists():
            subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
        for packages in installs:
            subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
        stamp.write_text("\n".join(" ".join(packages) for packages in installs) + "\n")
    return str(python)


def ensure_optuna_venv() -> str:
    """bench/.venv-optuna with hydra-optuna-sweeper (optuna<3 cannot share the project venv)."""
    return ensure_venv(OPTUNA_VENV, [["hydra-core", "hydra-optuna-sweeper", "numpy"]])


def ensure_optuna5_venv() -> str:
    """bench/.venv-optuna5 with Optuna 5 (GPSampler); torch first, as the local CPU wheel.

    greenlet lets GPSampler run its L-BFGS-B restarts batched, as it does where it is installed.
    """
    return ensure_venv(OPTUNA5_VENV, [["torch==2.13.0"], ["optuna>=5", "scipy", "numpy", "greenlet"]])


def hydra_command(method: str, problem: str, batch: int, seed: int, sweep_dir: str) -> List[str]:
    spec = PROBLEMS[problem]
    budget = spec.budget
    common = [f"problem={problem}", f"noise_seed={seed}", f"hydra.sweep.dir={sweep_dir}"]
    if method == "optuna_tpe":
        return [ensure_optuna_venv(), str(APP), "-m", "hydra/sweeper=optuna", *common,
                *[f"{k}={v}" for k, v in spec.optuna_sweep.items()], f"hydra.sweeper.n_trials={budget}",
                f"hydra.sweeper.n_jobs={batch}", f"hydra.sweeper.sampler.seed={seed}"]
    command = [PROJECT_PYTHON, str(APP), "-m", "hydra/sweeper=skopt_gp", *common,
               *[f"{k}={v}" for k, v in spec.sweep.items()], f"hydra.sweeper.n_calls={budget}",
               f"hydra.sweeper.random_state={seed}"]
    if method in SWEEPER_VARIANTS:
        command += [f"hydra.sweeper.batch_size={batch}", *SWEEPER_VARIANTS[method]]
    elif method == "random_hydra":
        command += [f"hydra.sweeper.n_initial_points={budget}", "hydra.sweeper.initial_point_generator=random",
                    f"hydra.sweeper.batch_size={budget}"]
    return command


def run_hydra(method: str, spec: Problem, batch: int, seed: int) -> Dict[str, Any]:
    """A multirun of the app; the trace gives values and params, the sweep dir the recommendation."""
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        trace, sweep_dir = Path(tmp) / "trace.jsonl", Path(tmp) / "sweep"
        env = {**os.environ, "BENCH_TRACE": str(trace), "PYTHONWARNINGS": "ignore"}
        out = subprocess.run(hydra_command(method, spec.name, batch, seed, str(sweep_dir)),
                             cwd=tmp, env=env, capture_output=True, text=True)
        if out.returncode != 0 or not trace.exists():
            raise RuntimeError(f"{method} {spec.name} b{batch} s{seed} failed:\n{out.stderr[-3000:]}")
        lines = [json.loads(line) for line in trace.read_text().splitlines()]
        record: Dict[str, Any] = {"values": [t["value"] for t in lines], "params": [t["params"] for t in lines]}
        results = sweep_dir / "optimization_results.yaml"
        if method.startswith("skopt") and results.exists():
            summary = yaml.safe_load(results.read_text()) or {}
            key = "recommended_params" if summary.get("recommended_params") else "best_params"
            if summary.get(key):
                record.update(recommended=spec.canonical(summary[key]), recommended_from=key)
    return record


def run_optuna_gp(spec: Problem, batch: int, seed: int) -> Dict[str, Any]:
    command = [ensure_optuna5_venv(), str(OPTUNA_GP), "--problem", spec.name, "--seed", str(seed),
               "--batch", str(batch)]
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode != 0:
        raise RuntimeError(f"optuna_gp {spec.name} b{batch} s{seed} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_random(spec: Problem, seed: int) -> Dict[str, Any]:
    """Random search as the sweeper does it (``n_initial_points=n_calls``, random), in-process."""
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    proposer = BatchProposer(spec.dimensions(), n_initial_points=spec.budget, initial_point_generator="random",
                             random_state=seed, n_calls=spec.budget)
    params = [spec.point_params(x) for x in proposer.ask(spec.budget)]
    return {"values": [spec.observe(p, seed) for p in params], "params": params}


def run_gp_minimize(spec: Problem, seed: int, door: bool = False) -> Dict[str, Any]:
    """``gp_minimize(objective, dimensions, n_calls, random_state)``, every other argument at its
    default: scikit-optimize's own, or with ``door`` this project's (one import changed)."""
    import warnings

    if door:
        from hydra_skopt_sweeper import gp_minimize
    else:
        from skopt import gp_minimize

    params: List[Dict[str, Any]] = []

    def objective(point: List[Any]) -> float:
        params.append(spec.point_params(point))
        return spec.observe(params[-1], seed)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = gp_minimize(objective, spec.dimensions(), n_calls=spec.budget, random_state=seed)
    return {"values": [float(v) for v in result.func_vals], "params": params}


def run_one(method: str, problem: str, batch: int, seed: int, fresh: bool) -> Dict[str, Any]:
    cache = RUNS / f"{problem}-{method}-b{batch}-s{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    spec = PROBLEMS[problem]
    commit = sweeper_commit()  # the sweeper changes under long runs: each run says what it measured
    started = time.perf_counter()
    if method in ("gp_minimize", "gp_minimize_door"):
        record = run_gp_minimize(spec, seed, door=method == "gp_minimize_door")
    elif method == "optuna_gp":
        record = run_optuna_gp(spec, batch, seed)
    elif method == "random":
        record = run_random(spec, seed)
    else:
        record = run_hydra(method, spec, batch, seed)
    record.update(method=method, problem=problem, batch=batch, seed=seed, seconds=time.perf_counter() - started,
                  commit=commit)
    RUNS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record))
    return record


def regret_curve(record: Dict[str, Any], spec: Problem) -> np.ndarray:
    """Regret after each trial: of the best value so far, or (noisy) the true value of the observed best."""
    values = np.array(record["values"][:spec.budget], dtype=float)
    if spec.noise_sd <= 0:
        return np.maximum(np.minimum.accumulate(values) - spec.optimum, 0.0)
    incumbents = [int(np.argmin(values[:i + 1])) for i in range(len(values))]
    true = np.array([spec.evaluate(record["params"][i]) for i in incumbents])
    return np.maximum(true - spec.optimum, 0.0)


def final_regret(record: Dict[str, Any], spec: Problem) -> float:
    """The score: regret of what the user is handed (noisy: skopt_gp's recommendation, else the observed best)."""
    curve = regret_curve(record, spec)
    if spec.noise_sd > 0 and record["method"] in RECOMMENDING and record.get("recommended"):
        return max(spec.evaluate(record["recommended"]) - spec.optimum, 0.0)
    return float(curve[-1])


def lr_bound_counts(record: Dict[str, Any], spec: Problem) -> Optional[Tuple[int, int]]:
    """Trials proposed exactly at the lower and the upper bound of a LINEAR ``lr``; None without one."""
    lr = next((p for p in spec.params if p.name == "lr" and p.kind == REAL and not p.log), None)
    if lr is None:
        return None
    values = [t["lr"] for t in record["params"][:spec.budget]]
    return (sum(math.isclose(v, lr.low, rel_tol=1e-12) for v in values),
            sum(math.isclose(v, lr.high, rel_tol=1e-12) for v in values))


def ratio_text(ours: float, theirs: float) -> str:
    if theirs > 0:
        return f"{ours / theirs:.3g}"
    return "1 (both 0)" if ours == 0 else "inf"


class Results:
    """The scored runs: regrets per (problem, method, batch), medians, floored medians."""

    def __init__(self, tasks: List[Tuple[str, str, int, int]], records: List[Dict[str, Any]], batches: List[int]):
        self.batches = batches
        self.curves: Dict[Key, np.ndarray] = {}
        self.finals: Dict[Key, List[float]] = {}
        self.seconds: Dict[Key, List[float]] = {}
        self.records: Dict[Key, List[Dict[str, Any]]] = {}
        grouped: Dict[Key, List[np.ndarray]] = {}
        for (method, problem, batch, _), record in zip(tasks, records):
            spec, key = PROBLEMS[problem], (problem, method, batch)
            grouped.setdefault(key, []).append(regret_curve(record, spec))
            self.finals.setdefault(key, []).append(final_regret(record, spec))
            self.seconds.setdefault(key, []).append(record["seconds"])
            self.records.setdefault(key, []).append(record)
        self.curves = {k: np.array(v) for k, v in grouped.items()}

    def key(self, problem: str, method: str, batch: int) -> Key:
        return (problem, method, self.batches[0] if method in BATCHLESS else batch)

    def final(self, problem: str, method: str, batch: int) -> Optional[np.ndarray]:
        key = self.key(problem, method, batch)
        return None if key not in self.finals else np.array(self.finals[key])

    def median(self, problem: str, method: str, batch: int, floor: float = 0.0) -> Optional[float]:
        """Median regret; with ``floor``: 1e-6 against 3e-6 is a tie."""
        regrets = self.final(problem, method, batch)
        return None if regrets is None else max(float(np.median(regrets)), floor)


def seeds_text(first: int, count: int) -> str:
    seeds = range(first, first + count)
    tuned = set(seeds) & set(TUNING_SEEDS)
    label = "held-out seeds" if not tuned else f"seeds overlapping the tuning seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1}"
    return f"{label} {seeds.start}-{seeds.stop - 1}"


def problems_section(problems: List[str]) -> str:
    rows = [[name, PROBLEMS[name].budget, "held-out (never tuned on)" if PROBLEMS[name].held_out else "tuning",
             PROBLEMS[name].about] for name in problems]
    return table(["problem", "budget", "set", "what"], rows)


def main_table(results: Results, problems: List[str], batches: List[int], methods: List[str]) -> str:
    rows = []
    for problem in problems:
        for batch in batches:
            for method in methods:
                regrets = results.final(problem, method, batch)
                if regrets is None or (method in BATCHLESS and batch != batches[0]):
                    continue
                q25, q50, q75 = np.percentile(regrets, [25, 50, 75])
                seconds = np.mean(results.seconds[results.key(problem, method, batch)])
                rows.append([f"{problem} ({PROBLEMS[problem].budget})", "-" if method in BATCHLESS else batch,
                             method, q50, q25, q75, seconds])
    return table(["problem (budget)", "batch", "method", "median regret", "q25", "q75", "mean s/run"], rows)


def wide_table(results: Results, problems: List[str], batches: List[int], methods: List[str]) -> str:
    """One row per problem and batch: every method's median, and skopt_gp / each anchor (raw, floored);
    the sweeper's variants (skopt_gp_batch, skopt_gp_hedge) are not anchors."""
    anchors = [m for m in methods if m not in SWEEPER_VARIANTS]
    header = ["problem", "batch", *methods]
    for anchor in anchors:
        header += [f"/ {anchor}", f"/ {anchor} (floored)"]
    rows = []
    for problem in problems:
        for batch in batches:
            ours = results.median(problem, "skopt_gp", batch)
            row: List[object] = [problem, batch]
            row += [results.median(problem, m, batch) if results.final(problem, m, batch) is not None else "" for m in methods]
            for anchor in anchors:
                theirs = results.median(problem, anchor, batch)
                if ours is None or theirs is None:
                    row += ["", ""]
                    continue
                row += [ratio_text(ours, theirs),
                        ratio_text(max(ours, RATIO_FLOOR), max(theirs, RATIO_FLOOR))]
            rows.append(row)
    return table(header, rows)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def compare_lines(results: Results, problems: List[str], batches: List[int], anchor: str,
                  what: str) -> Tuple[List[str], List[bool]]:
    """skopt_gp's median <= ``anchor``'s (floored), per problem and batch."""
    lines, oks = [], []
    for problem in problems:
        for batch in batches:
            ours = results.median(problem, "skopt_gp", batch, RATIO_FLOOR)
            theirs = results.median(problem, anchor, batch, RATIO_FLOOR)
            if ours is None or theirs is None:
                continue
            oks.append(ours <= theirs)
            lines.append(f"{problem}, batch {batch}: skopt_gp {what} {ours:.4g} vs {anchor} {theirs:.4g}: {verdict(oks[-1])}")
    return lines, oks


def batch_lines(results: Results, problems: List[str], batches: List[int]) -> Tuple[List[str], List[bool]]:
    """skopt_gp batch b / batch 1 <= 1.5 (floored medians), per problem."""
    lines, oks = [], []
    if len(batches) < 2:
        return lines, oks
    smallest, largest = min(batches), max(batches)  # --batches may list them in any order
    for problem in problems:
        one = results.median(problem, "skopt_gp", smallest, RATIO_FLOOR)
        many = results.median(problem, "skopt_gp", largest, RATIO_FLOOR)
        if one is None or many is None:
            continue
        oks.append(many <= 1.5 * one)
        lines.append(f"{problem}: skopt_gp batch {largest} / batch {smallest} median regret = "
                     f"{many / one:.3g} (target <= 1.5: {verdict(oks[-1])})")
    return lines, oks


def held_out_targets(results: Results, problems: List[str], batches: List[int]) -> List[str]:
    """The held-out suite's targets, each line with met / NOT met, and a summary per target."""
    out: List[str] = []
    noisy = [p for p in problems if PROBLEMS[p].noise_sd > 0]
    checks: List[Tuple[str, Callable[[], Tuple[List[str], List[bool]]]]] = [
        ("skopt_gp median regret <= optuna_gp's on every held-out problem",
         lambda: compare_lines(results, problems, batches, "optuna_gp", "median regret")),
        ("skopt_gp never worse than random search (median regret)",
         lambda: compare_lines(results, problems, batches, "random", "median regret")),
        ("noisy problems: true value of skopt_gp's recommended configuration <= optuna_gp's best's (median; "
         "shown as regret = true value - optimum)",
         lambda: compare_lines(results, noisy, batches, "optuna_gp", "true regret")),
        ("skopt_gp batch 4 <= 1.5x batch 1", lambda: batch_lines(results, problems, batches)),
    ]
    for title, check in checks:
        lines, oks = check()
        if not oks:
            out.append(f"{title}: not measured (a method or batch size missing)")
            continue
        out.append(f"**{title}: {verdict(all(oks))}** ({sum(oks)} of {len(oks)})")
        out += [f"  - {line}" for line in lines]
    return out


def tuning_lines(results: Results, problems: List[str], batches: List[int]) -> List[str]:
    """The tuning suite's lines as before: vs optuna_tpe (target <= 0.25), batch ratio, vs gp_minimize."""
    lines = []
    for problem in problems:
        for batch in batches:
            ours = results.median(problem, "skopt_gp", batch, RATIO_FLOOR)
            theirs = results.median(problem, "optuna_tpe", batch, RATIO_FLOOR)
            if ours is not None and theirs:
                target = " (target <= 0.25)" if problem in ("branin", "hartmann6") else ""
                mark = "" if not target else f": {verdict(ours <= 0.25 * theirs)}"
                lines.append(f"{problem}, batch {batch}: skopt_gp / optuna_tpe median regret = {ours / theirs:.3g}{target}{mark}")
    lines += batch_lines(results, problems, batches)[0]
    for problem in problems:
        ours = results.median(problem, "skopt_gp", batches[0], RATIO_FLOOR)
        gpm = results.median(problem, "gp_minimize", batches[0], RATIO_FLOOR)
        if ours is not None and gpm:
            lines.append(f"{problem}: skopt_gp (batch {batches[0]}) / plain gp_minimize median regret = {ours / gpm:.3g}")
    return lines


def lr_bound_table(results: Results, problems: List[str], batches: List[int], methods: List[str]) -> Optional[str]:
    """Trials at lr's bounds per method, on the problems with a linear lr."""
    rows = []
    for problem in problems:
        for method in methods:
            for batch in ([batches[0]] if method in BATCHLESS else batches):
                records = results.records.get((problem, method, batch), [])
                counts = [lr_bound_counts(r, PROBLEMS[problem]) for r in records]
                if not records or counts[0] is None:
                    continue
                low, high = sum(c[0] for c in counts), sum(c[1] for c in counts)
                trials = len(records) * PROBLEMS[problem].budget
                rows.append([problem, method, "-" if method in BATCHLESS else batch, low, high, trials,
                             sum(1 for c in counts if c[0] + c[1] > 0)])
    if not rows:
        return None
    return table(["problem", "method", "batch", "trials at lr = low", "trials at lr = high", "trials", "runs with any"], rows)


def commits_section(results: Results) -> str:
    """Which sweeper commit each method's runs measured (``+dirty``: with uncommitted sweeper changes)."""
    rows = []
    for method in sorted({k[1] for k in results.records}):
        commits = [r.get("commit", "not recorded") for k, rs in results.records.items() if k[1] == method for r in rs]
        rows.append([method, ", ".join(f"{c} ({commits.count(c)} runs)" for c in sorted(set(commits)))])
    return "Sweeper commit at each run (runs are cached, and the sweeper may have changed between them):\n\n" + \
        table(["method", "commit (runs)"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="tuning")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=100,
                        help="first seed (the proposer was tuned on 0-59: keep >= 60 for a report)")
    parser.add_argument("--problems", help="comma-separated; default: the suite's")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--methods", help="comma-separated, of " + ",".join(METHODS) + "; default: the suite's")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (each is one process)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument("--report", help="report name in results/ (default: the suite's)")
    args = parser.parse_args()
    suite_problems, suite_methods, report = SUITES[args.suite]
    report = args.report or report
    problems = args.problems.split(",") if args.problems else suite_problems
    batches = [int(b) for b in args.batches.split(",")]
    methods = args.methods.split(",") if args.methods else suite_methods
    # create the venvs before the pool, so two threads never create one at once
    if "optuna_tpe" in methods:
        ensure_optuna_venv()
    if "optuna_gp" in methods:
        ensure_optuna5_venv()
    seeds = range(args.first_seed, args.first_seed + args.seeds)

    tasks = [(method, problem, batch, seed) for problem in problems for method in methods
             for batch in ([batches[0]] if method in BATCHLESS else batches) for seed in seeds]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        records = list(pool.map(lambda t: run_one(*t, fresh=args.fresh), tasks))
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s", flush=True)
    results = Results(tasks, records, batches)

    seeds_line = seeds_text(args.first_seed, args.seeds)
    sections = [f"Seeds: {seeds_line} (the proposer's constants were tuned on seeds "
                f"{TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1}, in-process, on the tuning problems).\n\n"
                + problems_section(problems)]
    main_rows = main_table(results, problems, batches, methods)
    print(main_rows)
    sections.append(f"Simple regret (value of the chosen configuration - known optimum) at the budget, "
                    f"{seeds_line}. Noisy problems: the true (noise-free) value of skopt_gp's recommended "
                    f"configuration and of every other method's observed best.\n\n" + main_rows)
    wide = wide_table(results, problems, batches, methods)
    print(wide)
    sections.append(f"Median regrets and skopt_gp / anchor ratios, without a floor and with each median "
                    f"floored at {RATIO_FLOOR:g}, {seeds_line}:\n\n" + wide)
    lines = tuning_lines(results, problems, batches) if args.suite == "tuning" else \
        held_out_targets(results, problems, batches)
    for line in lines:
        print(line)
    title = f"Ratios of median regrets, each floored at {RATIO_FLOOR:g}" if args.suite == "tuning" else \
        f"Targets on the held-out problems, {seeds_line} (medians floored at {RATIO_FLOOR:g}: below it is a tie)"
    sections.append(f"{title}:\n\n" + "\n".join(line if line.startswith("  ") else f"- {line}" for line in lines))
    bounds = lr_bound_table(results, problems, batches, methods)
    if bounds:
        print(bounds)
        sections.append("Trials proposed exactly at a bound of the linear `interval(0.0001, 0.1)` lr "
                        f"(all runs, {seeds_line}):\n\n" + bounds)
    recommended = [r.get("recommended_from", "none") for k, rs in results.records.items()
                   if k[1] in RECOMMENDING and PROBLEMS[k[0]].noise_sd > 0 for r in rs]
    if recommended:
        sections.append("skopt_gp's noisy runs were scored at: " + ", ".join(
            f"{name} ({recommended.count(name)} runs)" for name in sorted(set(recommended))))
    sections.append(commits_section(results))
    plot(results, problems, batches, methods, RESULTS / f"{report}.png")
    sections.append(f"![regret vs trials]({report}.png)")
    path = write_report(report, f"Sample efficiency ({args.suite} problems): simple regret vs the anchors",
                        "bench/sample_efficiency.py " + " ".join(sys.argv[1:]), sections)
    print(f"report: {path}")


def plot(results: Results, problems: List[str], batches: List[int], methods: List[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(batch, problem) for batch in batches for problem in problems]
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    for ax, (batch, problem) in zip(axes.flat, panels):
        for method in methods:
            key = results.key(problem, method, batch)
            if key not in results.curves:
                continue
            c = np.maximum(results.curves[key], 1e-8)
            x = np.arange(1, c.shape[1] + 1)
            q25, q50, q75 = np.percentile(c, [25, 50, 75], axis=0)
            line, = ax.plot(x, q50, label=method)
            ax.fill_between(x, q25, q75, color=line.get_color(), alpha=0.15)
        ax.set_yscale("log")
        ax.set_title(f"{problem}, batch {batch}")
        ax.set_xlabel("trials")
        # noisy problems: the observed best's true value (the table scores skopt_gp's recommendation)
        ax.set_ylabel("true regret of observed best" if PROBLEMS[problem].noise_sd > 0 else "simple regret")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
