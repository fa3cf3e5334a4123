"""Several objectives: hypervolume at the budget, this sweeper's ParetoProposer against raw
Optuna 5's samplers, every method in the same run.

    .venv/bin/python bench/multi_objective.py [--seeds 5] [--first-seed 100] [--problems zdt2,zdt3]
        [--methods pareto,optuna_gp,optuna_tpe,optuna_nsga2,optuna_random] [--batches 1,4] [--jobs 2]
        [--policy n_fantasies=8 ...] [--no-timing | --timing-only] [--fresh] [--report multi_objective]
    .venv/bin/python bench/multi_objective.py --problems zdt1,dtlz2 --first-seed 0 --report mo_tuning  # tuning

This module owns running every method on the multi-objective problems (bench/mo_problems.py),
caching the runs, scoring them, the decision-time measurement and the report. All in-process
or over a pipe, no Hydra:

- pareto: ``hydra_skopt_sweeper.search.pareto_proposer.ParetoProposer`` with its defaults (10 initial
  points); batch b = ask b points, evaluate them, tell the b loss vectors;
- optuna_gp, optuna_tpe, optuna_nsga2, optuna_random: raw Optuna 5 (GPSampler's log expected
  hypervolume improvement, TPE, NSGA-II with a population of 10, random search), run by
  bench/optuna_mo.py in bench/.venv-optuna5 (created on first use), which asks and this process
  evaluates; GPSampler at batch b asks b trials before telling any. TPE, NSGA-II and random
  search run at batch 1 only.

Scoring: the hypervolume of every trial's loss vector at the budget, against the problem's fixed
reference point, and the gap to the best front: (HV* - HV) / HV*, with HV* the true front's
hypervolume (synthetic problems) or the hypervolume of the union of every trial of every run in
the report (the real model: its best-known front). ``--policy name=value`` runs the proposer
with those Policy fields changed (cached and reported as another method, for tuning on the
tuning problems and seeds).

Problems: the held-out ones by default (bench/mo_problems.py: ZDT2, ZDT3, DTLZ7, the MLP); the
tuning ones (ZDT1, DTLZ2) by name. Seeds: the tuning seeds are 0-49 (``--first-seed 0``); reports
use 100 and up. Each run is cached
in results/mo_runs/<problem>-<method>-b<batch>-s<seed>.json (--fresh ignores the cache), so an
interrupted run resumes. Writes results/<report>.md and results/<report>.png.
"""
from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # one core per run
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import BENCH, RESULTS, sweeper_commit, table, write_report  # noqa: E402
from mo_problems import MO_HELD_OUT, MO_PROBLEMS, MO_TUNING, MOProblem  # noqa: E402

OPTUNA_MO = BENCH / "optuna_mo.py"
RUNS = RESULTS / "mo_runs"
SAMPLERS = {"optuna_gp": "gp", "optuna_tpe": "tpe", "optuna_nsga2": "nsga2", "optuna_random": "random"}
METHODS = ["pareto", *SAMPLERS]
BATCHED = {"pareto", "optuna_gp"}  # the others run at the first batch size only
TUNING_SEEDS = range(0, 50)
# the batch gap ratio's target, and the decision time's (seconds per ask)
BATCH_GAP_TARGET, ASK_SECONDS_TARGET = 1.5, 1.0
# gaps below this count as equal in the batch ratio (both fronts are as good as the true one)
GAP_FLOOR = 1e-3
Key = Tuple[str, str, int]  # (problem, method, batch)


def run_pareto(problem: MOProblem, batch: int, seed: int, settings: Sequence[str]) -> Dict[str, Any]:
    from quick import policy

    from hydra_skopt_sweeper.search.pareto_proposer import ParetoProposer

    proposer = ParetoProposer(problem.dimensions(), n_objectives=problem.n_objectives, random_state=seed,
                              n_calls=problem.budget, n_initial_points=10, policy=policy(list(settings)))
    losses: List[List[float]] = []
    params: List[Dict[str, Any]] = []
    ask_seconds: List[float] = []
    while len(losses) < problem.budget:
        started = time.perf_counter()
        points = proposer.ask(min(batch, problem.budget - len(losses)))
        ask_seconds.append((time.perf_counter() - started) / len(points))
        batch_params = [problem.point_params(x) for x in points]
        batch_losses = [problem.evaluate(p) for p in batch_params]
        proposer.tell(points, batch_losses)
        losses += batch_losses
        params += batch_params
    return {"losses": losses, "params": params, "ask_seconds": ask_seconds}


def run_optuna(problem: MOProblem, sampler: str, batch: int, seed: int) -> Dict[str, Any]:
    """bench/optuna_mo.py asks over a pipe; this process evaluates."""
    from sample_efficiency import OPTUNA5_VENV

    command = [str(OPTUNA5_VENV / "bin" / "python"), str(OPTUNA_MO), "--problem", problem.name,
               "--sampler", sampler, "--seed", str(seed), "--batch", str(batch)]
    losses: List[List[float]] = []
    params: List[Dict[str, Any]] = []
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}) as child:
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        while True:
            line = child.stdout.readline()
            if not line:
                raise RuntimeError(f"optuna_mo {problem.name} {sampler} b{batch} s{seed} failed:\n"
                                   f"{child.stderr.read()[-3000:]}")
            message = json.loads(line)
            if message.get("done"):
                break
            batch_params = [problem.canonical(p) for p in message["params"]]
            batch_losses = [problem.evaluate(p) for p in batch_params]
            child.stdin.write(json.dumps({"values": batch_losses}) + "\n")
            child.stdin.flush()
            losses += batch_losses
            params += batch_params
    return {"losses": losses, "params": params, "ask_seconds": message["ask_seconds"], "optuna": message["optuna"]}


def method_name(method: str, settings: Sequence[str]) -> str:
    return f"{method}[{','.join(settings)}]" if method == "pareto" and settings else method


def run_one(method: str, problem: str, batch: int, seed: int, settings: Tuple[str, ...], fresh: bool) -> Dict[str, Any]:
    name = method_name(method, settings)
    cache = RUNS / f"{problem}-{name}-b{batch}-s{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    spec = MO_PROBLEMS[problem]
    commit = sweeper_commit()
    started = time.perf_counter()
    record = run_pareto(spec, batch, seed, settings) if method == "pareto" else \
        run_optuna(spec, SAMPLERS[method], batch, seed)
    record.update(method=name, problem=problem, batch=batch, seed=seed, seconds=time.perf_counter() - started,
                  commit=commit)
    RUNS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record))
    print(f"  {problem} {name} b{batch} s{seed}: {record['seconds']:.0f} s", flush=True)
    return record


# --- scoring ---------------------------------------------------------------------------------

def hypervolume_of(losses: Sequence[Sequence[float]], spec: MOProblem) -> float:
    from hydra_skopt_sweeper.search.pareto import hypervolume

    return hypervolume(np.array(losses, dtype=float).reshape(-1, spec.n_objectives), np.array(spec.reference))


class Results:
    """The scored runs: hypervolume and gap at the budget per (problem, method, batch)."""

    def __init__(self, records: List[Dict[str, Any]], first_batch: int):
        self.first_batch = first_batch
        self.records: Dict[Key, List[Dict[str, Any]]] = {}
        for record in records:
            self.records.setdefault((record["problem"], record["method"], record["batch"]), []).append(record)
        self.best: Dict[str, float] = {}
        self.best_known: Dict[str, bool] = {}
        for problem in {r["problem"] for r in records}:
            spec = MO_PROBLEMS[problem]
            if spec.true_hypervolume is not None:
                self.best[problem], self.best_known[problem] = spec.true_hypervolume(), False
            else:  # the union of every trial of every run in the report
                union = [loss for r in records if r["problem"] == problem for loss in r["losses"]]
                self.best[problem], self.best_known[problem] = hypervolume_of(union, spec), True
        self.volumes = {key: np.array([hypervolume_of(r["losses"][:MO_PROBLEMS[key[0]].budget], MO_PROBLEMS[key[0]])
                                       for r in rs]) for key, rs in self.records.items()}

    def key(self, problem: str, method: str, batch: int) -> Key:
        return (problem, method, batch if method.split("[")[0] in BATCHED else self.first_batch)

    def volume(self, problem: str, method: str, batch: int) -> Optional[np.ndarray]:
        return self.volumes.get(self.key(problem, method, batch))

    def gap(self, problem: str, method: str, batch: int) -> Optional[np.ndarray]:
        volumes = self.volume(problem, method, batch)
        return None if volumes is None else (self.best[problem] - volumes) / self.best[problem]

    def median(self, problem: str, method: str, batch: int, gap: bool = False) -> Optional[float]:
        values = self.gap(problem, method, batch) if gap else self.volume(problem, method, batch)
        return None if values is None else float(np.median(values))

    def seconds(self, problem: str, method: str, batch: int) -> float:
        return float(np.mean([r["seconds"] for r in self.records[self.key(problem, method, batch)]]))

    def ask_seconds(self, problem: str, method: str, batch: int) -> float:
        return float(np.mean([np.mean(r["ask_seconds"]) for r in self.records[self.key(problem, method, batch)]]))


def suite(problem: str) -> str:
    return "held-out" if MO_PROBLEMS[problem].held_out else "tuning"


def seeds_text(seeds: range) -> str:
    tuned = set(seeds) & set(TUNING_SEEDS)
    label = "held-out seeds" if not tuned else "TUNING seeds"
    return f"{label} {seeds.start}-{seeds.stop - 1}"


def problems_table(results: Results, problems: List[str]) -> str:
    rows = []
    for name in problems:
        spec = MO_PROBLEMS[name]
        best = f"{results.best[name]:.4g} ({'best known: union of all runs' if results.best_known[name] else 'true front'})"
        rows.append([name, suite(name), spec.n_objectives, len(spec.params), spec.budget,
                     "(" + ", ".join(f"{v:g}" for v in spec.reference) + ")", best, spec.about])
    return table(["problem", "set", "objectives", "inputs", "budget", "reference point", "HV*", "what"], rows)


def main_table(results: Results, problems: List[str], batches: List[int], methods: List[str]) -> str:
    rows = []
    for problem in problems:
        for batch in batches:
            for method in methods:
                if method.split("[")[0] not in BATCHED and batch != batches[0]:
                    continue
                volumes = results.volume(problem, method, batch)
                if volumes is None:
                    continue
                gaps = results.gap(problem, method, batch)
                q25, q50, q75 = np.percentile(volumes, [25, 50, 75])
                rows.append([f"{problem} ({suite(problem)})", batch if method.split("[")[0] in BATCHED else "-",
                             method, q50, q25, q75, float(np.median(gaps)), results.ask_seconds(problem, method, batch),
                             results.seconds(problem, method, batch)])
    return table(["problem (set)", "batch", "method", "median HV", "q25", "q75", "median gap", "s per ask", "s per run"],
                 rows)


def ratio(ours: Optional[float], theirs: Optional[float]) -> str:
    if ours is None or theirs is None:
        return ""
    if theirs > 0:
        return f"{ours / theirs:.3g}"
    return "1 (both 0)" if ours == 0 else "inf"


def ratio_table(results: Results, problems: List[str], batches: List[int], ours: str) -> str:
    """Per problem and batch: ours's median HV / each anchor's, and the median gaps."""
    anchors = list(SAMPLERS)
    rows = []
    for problem in problems:
        for batch in batches:
            mine = results.median(problem, ours, batch)
            row: List[object] = [problem, suite(problem), batch]
            row += [ratio(mine, results.median(problem, anchor, batch)) for anchor in anchors]
            row += [results.median(problem, ours, batch, gap=True), results.median(problem, "optuna_gp", batch, gap=True)]
            rows.append(row)
    return table(["problem", "set", "batch", *[f"HV / {a}" for a in anchors], f"gap {ours}", "gap optuna_gp"], rows)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def target_lines(results: Results, problems: List[str], batches: List[int], ours: str) -> List[str]:
    """The issue's targets on the held-out problems of this report."""
    held = [p for p in problems if MO_PROBLEMS[p].held_out]
    lines: List[str] = []
    if not held:
        return ["no held-out problem in this run: the targets are judged on held-out problems only"]
    for batch in batches:
        for anchor, goal in (("optuna_gp", "most"), ("optuna_random", "all")):
            pairs = [(p, results.median(p, ours, batch), results.median(p, anchor, batch)) for p in held]
            wins = [p for p, mine, theirs in pairs if mine is not None and theirs is not None and mine >= theirs]
            ok = 2 * len(wins) > len(held) if goal == "most" else len(wins) == len(held)
            lines.append(f"batch {batch}: median HV >= {anchor}'s on {len(wins)} of {len(held)} held-out problems "
                         f"({', '.join(wins) or 'none'}; target: {goal}: {verdict(ok)})")
    if len(batches) > 1:
        one, many = min(batches), max(batches)
        for problem in held:
            g1, gb = results.median(problem, ours, one, gap=True), results.median(problem, ours, many, gap=True)
            if g1 is None or gb is None:
                continue
            value = max(gb, GAP_FLOOR) / max(g1, GAP_FLOOR)
            lines.append(f"{problem}: batch {many} gap / batch {one} gap = {gb:.4g} / {g1:.4g} = {value:.3g} "
                         f"(floored at {GAP_FLOOR:g}; target <= {BATCH_GAP_TARGET}: {verdict(value <= BATCH_GAP_TARGET)})")
    return lines


# --- decision time ---------------------------------------------------------------------------

def decision_times(settings: Sequence[str]) -> List[List[object]]:
    """Seconds per ask(1) at 200 observations (uniform random points), 2 objectives (ZDT1) and 3
    (DTLZ2), 4 inputs: the first ask fits every GP, the next conditions on one more point; then
    an async refill of 4 workers: ask(1) with 3 points pending (their outcomes fantasised)."""
    from quick import policy

    from hydra_skopt_sweeper.search.pareto import non_dominated
    from hydra_skopt_sweeper.search.pareto_proposer import ParetoProposer

    rows: List[List[object]] = []
    for name in ("zdt1", "dtlz2"):
        spec = MO_PROBLEMS[name]
        proposer = ParetoProposer(spec.dimensions(), n_objectives=spec.n_objectives, random_state=0, n_calls=400,
                                  n_initial_points=10, policy=policy(list(settings)))
        rng = np.random.default_rng(0)
        points = [list(map(float, x)) for x in rng.random((200, len(spec.params)))]
        losses = [spec.evaluate(spec.point_params(x)) for x in points]
        proposer.tell(points, losses)
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            new = proposer.ask(1)
            timings.append(time.perf_counter() - started)
            proposer.tell(new, [spec.evaluate(spec.point_params(x)) for x in new])
        proposer.ask(3)  # three workers busy: their points stay pending
        started = time.perf_counter()
        proposer.ask(1)
        timings.append(time.perf_counter() - started)
        print(f"  {name}: {', '.join(f'{t:.2f}' for t in timings)} s", flush=True)
        rows.append([f"{name} ({spec.n_objectives} objectives)", len(points), int(non_dominated(np.array(losses)).sum()),
                     *timings])
    return rows


def timing_section(settings: Sequence[str]) -> str:
    """The decision-time table and its target line, printed and returned for the report."""
    rows = decision_times(settings)
    timing = table(["problem", "observations", "front size (observed)", "first ask(1) s (fits the GPs)",
                    "next ask(1) s", "ask(1) with 3 pending s (async refill, 4 workers)"], rows)
    worst = max(max(r[3:]) for r in rows)  # type: ignore[type-var]
    line = (f"decision time per ask at 200 observations: worst {worst:.3g} s (target <= {ASK_SECONDS_TARGET:g} s: "
            f"{verdict(worst <= ASK_SECONDS_TARGET)})")
    print(timing)
    print(line)
    return f"Decision time per ask (this process, the proposer alone; {line}):\n\n{timing}"


# --- the plot --------------------------------------------------------------------------------

def plot(results: Results, problems: List[str], batches: List[int], methods: List[str], path: Path) -> None:
    """Median gap (and quartiles) against trials: a row per batch size, a column per problem."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(batches), len(problems), figsize=(4.2 * len(problems), 3.4 * len(batches)),
                             squeeze=False)
    for row, batch in enumerate(batches):
        for column, problem in enumerate(problems):
            ax, spec = axes[row][column], MO_PROBLEMS[problem]
            steps = list(range(5, spec.budget + 1, 5))
            for method in methods:
                records = results.records.get(results.key(problem, method, batch), [])
                if not records:
                    continue
                gaps = [[1 - hypervolume_of(r["losses"][:n], spec) / results.best[problem] for n in steps] for r in records]
                low, median, high = np.percentile(np.maximum(gaps, 1e-4), [25, 50, 75], axis=0)
                drawn, = ax.plot(steps, median, label=method)
                ax.fill_between(steps, low, high, color=drawn.get_color(), alpha=0.12)
            ax.set(yscale="log", title=f"{problem} ({suite(problem)}), batch {batch}", xlabel="trials",
                   ylabel="hypervolume gap")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def emit(sections: List[str], intro: str, body: str) -> None:
    """Print a table, and add it to the report under its introduction."""
    print(body)
    sections.append(f"{intro}:\n\n{body}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100, help="tuning seeds are 0-49; reports use 100 and up")
    parser.add_argument("--problems", default=",".join(MO_HELD_OUT))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (each one process)")
    parser.add_argument("--policy", nargs="*", default=[], metavar="NAME=VALUE",
                        help="Policy fields to change for the pareto runs, e.g. n_fantasies=8")
    parser.add_argument("--no-timing", action="store_true", help="skip the decision time at 200 observations")
    parser.add_argument("--timing-only", action="store_true", help="only the decision time at 200 observations")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument("--report", default="multi_objective")
    args = parser.parse_args()
    problems = args.problems.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    methods = args.methods.split(",")
    settings = tuple(args.policy)
    if args.timing_only:
        section = timing_section(settings)
        path = write_report(f"{args.report}_timing", "Several objectives: decision time per ask",
                            "bench/multi_objective.py " + " ".join(sys.argv[1:]), [section])
        print(f"report: {path}")
        return
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if any(m in SAMPLERS for m in methods):
        from sample_efficiency import ensure_optuna5_venv

        ensure_optuna5_venv()
    held = [p for p in problems if MO_PROBLEMS[p].held_out]
    if held and set(seeds) & set(TUNING_SEEDS) and settings:
        print(f"warning: tuning ({' '.join(settings)}) on held-out problems {held} spoils the held-out report")

    tasks = [(method, problem, batch, seed, settings, args.fresh) for problem in problems for method in methods
             for batch in (batches if method in BATCHED else batches[:1]) for seed in seeds]
    # the slowest first (several objectives, the GP methods, large batches), so the pool ends together
    tasks.sort(key=lambda t: (-MO_PROBLEMS[t[1]].n_objectives, t[0] not in BATCHED, -t[2]))
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        records = list(pool.map(run_one, *zip(*tasks)))
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s", flush=True)
    results = Results(records, batches[0])
    ours = method_name("pareto", settings)
    shown = [method_name(m, settings) for m in methods]

    seeds_line = seeds_text(seeds)
    sections = [f"Seeds: {seeds_line}. Problems: tuning = {', '.join(MO_TUNING)} (the proposer may be tuned on "
                f"them, on seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1}); held-out = {', '.join(MO_HELD_OUT)} "
                f"(never tuned on).\n\n" + problems_table(results, problems)]
    emit(sections, f"Hypervolume (HV) of all trials at the budget against the reference point, and the gap "
                   f"(HV* - HV) / HV*, {seeds_line}; s per ask: the method's mean decision seconds per point asked "
                   f"during the runs", main_table(results, problems, batches, shown))
    emit(sections, f"Ratios of median hypervolumes ({ours} / anchor, same batch; TPE, NSGA-II and random at batch 1) "
                   f"and median gaps, {seeds_line}", ratio_table(results, problems, batches, ours))
    lines = target_lines(results, problems, batches, ours)
    for line in lines:
        print(line)
    sections.append(f"Targets, held-out problems ({', '.join(held) or 'none'}), {seeds_line}:\n\n"
                    + "\n".join(f"- {line}" for line in lines))
    if not args.no_timing:
        sections.append(timing_section(settings))
    commits = sorted({r["commit"] for r in records})
    versions = sorted({r.get("optuna", "") for r in records} - {""})
    sections.append(f"Sweeper commit(s) measured: {', '.join(commits)}; Optuna {', '.join(versions) or '-'}.")
    plot(results, problems, batches, shown, RESULTS / f"{args.report}.png")
    sections.append(f"![hypervolume gap vs trials]({args.report}.png)")
    path = write_report(args.report, "Several objectives: hypervolume at the budget vs the anchors",
                        "bench/multi_objective.py " + " ".join(sys.argv[1:]), sections)
    print(f"report: {path}")


if __name__ == "__main__":
    main()
