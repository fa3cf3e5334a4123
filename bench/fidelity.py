"""Learning from every epoch: regret at EQUAL TOTAL EPOCHS on learning-curve problems, this
sweeper's stop rules against raw Optuna 5's pruned samplers, one trial at a time.

    .venv/bin/python bench/fidelity.py [--suite held-out|tuning|all] [--seeds 100-104]
        [--budgets 10,30] [--methods sh,off,median] [--anchors tpe_hyperband,gp_median,random_sh]
        [--fresh]

Each run trains one trial at a time on a problem of bench/curve_problems.py (27 epochs a full
trial) until the budget (10x or 30x the epochs of one full trial) is spent; the run recommends
its fully trained trial with the best reported value, and is scored by that configuration's
true value trained to the end minus the best in the space (regret). Median and quartiles over
seeds. Every method sees the same epoch noise for the same seed.

This sweeper's methods run in this process through its proposer (``BatchProposer``, the
sweeper's defaults: 10 initial points, EI) and its stop rules (``should_prune``), with what the
sweeper tells the model about a stopped trial (its best value before it stopped):
``sh`` = successive halving with the defaults (``hydra.sweeper.pruner``: min_steps 4,
reduction factor 3, min_trials 4), today's default; ``off`` = no pruning; ``median`` = the
median rule with its defaults; ``hyperband`` = the hyperband rule with the defaults,
``hyperband_m1`` with min_steps 1 (as Optuna's HyperbandPruner's min_resource);
``curve_pNN[_best][_mK]`` = the forecast rule on the model of the curves (``CurveMethod``): a
trial stops once the model gives it less than NN% chance to end below the best completed
trial, checked at the model's grid steps (from step K), and is told its forecast final value
(``_best``: its best so far); ``_rNN``: a stopped trial is paused, and continued from where it
stopped once the model gives it NN% chance to end below the best (``pruner.p_resume``; the
sweeper's freeze-thaw, ``CurveMethod.resume``). ``n_calls`` (which schedules the late refinement) is the
number of full trials the budget pays for, times 3 for the pruned methods.

The anchors run in bench/.venv-optuna5 (created on first use), as a user would set them up:
``tpe_hyperband`` = TPESampler + HyperbandPruner(min_resource=1, max_resource=27,
reduction_factor=3); ``gp_median`` = GPSampler + MedianPruner(); ``random_sh`` = RandomSampler +
SuccessiveHalvingPruner(); each with its seed and an intermediate value per epoch.

Runs are cached per (problem, method, budget, seed) in results/fidelity_runs/ (git-ignored).
Writes results/fidelity.md.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_problems import PROBLEMS, CurveProblem, Method, run  # noqa: E402

BENCH = Path(__file__).resolve().parent
RUNS = BENCH / "results" / "fidelity_runs"
OURS = ("sh", "off", "median", "hyperband", "hyperband_m1")
ANCHORS = ("tpe_hyperband", "gp_median", "random_sh")


# -- this sweeper ---------------------------------------------------------------------------------


class SweeperMethod(Method):
    """The sweeper's proposer and a stop rule, as the sweeper runs them one trial at a time."""

    def __init__(self, problem: CurveProblem, rule: Optional[str], seed: int, n_calls: int) -> None:
        sys.path.insert(0, str(BENCH.parent))
        from hydra_skopt_sweeper.search.proposer import BatchProposer
        from hydra_skopt_sweeper.trial.pruning import Pruner

        self.names = [p.name for p in problem.params]
        self.proposer = BatchProposer([p.dimension() for p in problem.params], random_state=seed,
                                      n_initial_points=min(10, n_calls), n_calls=n_calls)
        rule, _, min_steps = (rule or "").partition(":")
        self.pruner = Pruner(rule, **({"min_steps": int(min_steps)} if min_steps else {})) if rule else None
        self.curves: Dict[int, List[Tuple[int, float]]] = {}
        self.completed: List[int] = []
        self.points: Dict[int, list] = {}
        self.ask_s = 0.0

    def start(self) -> Tuple[Any, Dict[str, Any]]:
        started = time.perf_counter()
        (point,) = self.proposer.ask(1)
        self.ask_s += time.perf_counter() - started
        number = len(self.points)
        self.points[number] = point
        self.curves[number] = []
        return number, dict(zip(self.names, point))

    def step(self, handle: Any, epoch: int, value: float) -> bool:
        from hydra_skopt_sweeper.trial.pruning import should_prune

        self.curves[handle].append((epoch, value))
        return self.pruner is not None and should_prune(self.pruner, self.curves, handle, False, self.completed)

    def finish(self, handle: Any, value: float, epochs: int, complete: bool) -> None:
        if complete:
            self.completed.append(handle)
        self.proposer.tell([self.points[handle]], [value])  # a stopped trial: its best so far


class CurveMethod(SweeperMethod):
    """The ``forecast`` rule as the sweeper runs it: before a trial starts, the sweeper's
    ``StopPlanner`` (the model of the curves fitted on every trial's curve so far) gives its
    stop plan; the trial applies it at each step (``trial.pruning.forecast_stop``). A stopped
    trial is told its forecast final value (or, with ``tell="best"``, its best so far)."""

    def __init__(self, problem: CurveProblem, seed: int, n_calls: int, p_stop: float, tell: str,
                 min_steps: int, p_resume: Optional[float] = None) -> None:
        super().__init__(problem, None, seed, n_calls)
        from hydra_skopt_sweeper.sweep.forecasting import StopPlanner

        self.tell = tell
        self.planner = StopPlanner(Path("."), self.proposer.columns, False, random_state=seed,
                                   p_stop=p_stop, min_steps=min_steps, max_steps=problem.epochs, p_resume=p_resume)
        self.plans: Dict[int, list] = {}
        self.forecasts: Dict[int, float] = {}
        self.paused: List[int] = []  # stopped by the rule, not continued yet
        self.told: set = set()
        self.n_resumed = 0
        self.model_s = 0.0

    def resume(self) -> Optional[int]:
        """The sweeper's freeze-thaw: the paused trial ``StopPlanner.resume_choice`` picks goes on
        under its own handle (its curve is the configuration's whole curve), with a new plan."""
        if self.planner.p_resume is None or not self.paused:
            return None
        started = time.perf_counter()
        curves = {n: c for n, c in self.curves.items() if c}
        choice = self.planner.resume_choice(self.paused, curves, self.completed, self.points)
        if choice is not None:
            handle = choice[0]
            self.paused.remove(handle)
            self.forecasts.pop(handle, None)
            plans = self.planner.plans([(handle, self.points[handle])], curves, self.completed, self.points)
            self.plans[handle] = plans.get(handle, [])
            self.n_resumed += 1
        self.model_s += time.perf_counter() - started
        return None if choice is None else choice[0]

    def start(self) -> Tuple[Any, Dict[str, Any]]:
        handle, config = super().start()
        started = time.perf_counter()
        curves = {n: c for n, c in self.curves.items() if c}
        plans = self.planner.plans([(handle, self.points[handle])], curves, self.completed, self.points)
        self.plans[handle] = plans.get(handle, [])
        self.model_s += time.perf_counter() - started
        return handle, config

    def step(self, handle: Any, epoch: int, value: float) -> bool:
        from hydra_skopt_sweeper.trial.pruning import forecast_stop

        self.curves[handle].append((epoch, value))
        forecast = forecast_stop(self.plans[handle], self.curves[handle], False)
        if forecast is not None:
            self.forecasts[handle] = forecast
        return forecast is not None

    def finish(self, handle: Any, value: float, epochs: int, complete: bool) -> None:
        if complete:
            self.completed.append(handle)
        elif handle in self.forecasts:
            self.paused.append(handle)
            if self.tell == "predicted":
                value = min(value, self.forecasts[handle])
        if handle in self.told:  # a continued trial: its value replaces what it told when paused
            self.proposer.revise([self.points[handle]], [value])
        else:
            self.proposer.tell([self.points[handle]], [value])
            self.told.add(handle)


def ours(problem: CurveProblem, method: str, budget: int, seed: int) -> Dict[str, Any]:
    full_trials = budget // problem.epochs
    if method.startswith("curve"):
        # curve_p10: p_stop 0.10, told its forecast; _best: told its best so far; _m4: checks from
        # step 4 (else 0), as pruner.min_steps; min_trials as the sweeper's default
        parts = method.split("_")
        p_stop = int(parts[1][1:]) / 100
        tell = "best" if "best" in parts else "predicted"
        first = next((int(p[1:]) for p in parts[2:] if p.startswith("m")), 0)
        # _rNN: paused trials continued from NN% chance on (the sweeper's p_resume); none: never
        p_resume = next((int(p[1:]) / 100 for p in parts[2:] if p.startswith("r")), None)
        curve = CurveMethod(problem, seed, 3 * full_trials, p_stop, tell, first, p_resume)
        return _record(run(problem, curve, budget, seed), ask_s=curve.ask_s, model_s=curve.model_s,
                       resumed=curve.n_resumed)
    rule = {"sh": "successive_halving", "off": None, "median": "median", "hyperband": "hyperband",
            "hyperband_m1": "hyperband:1"}[method]
    sweeper = SweeperMethod(problem, rule, seed, full_trials if rule is None else 3 * full_trials)
    result = run(problem, sweeper, budget, seed)
    return _record(result, ask_s=sweeper.ask_s)


def _record(result: Any, **extra: Any) -> Dict[str, Any]:
    return {"regret": result.regret, "epochs": result.epochs, "trials": len(result.trials),
            "full": sum(t[3] for t in result.trials), **extra}


# -- the anchors (in bench/.venv-optuna5) -----------------------------------------------------------


class OptunaMethod(Method):
    def __init__(self, problem: CurveProblem, anchor: str, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler, pruner = {
            "tpe_hyperband": (optuna.samplers.TPESampler(seed=seed),
                              optuna.pruners.HyperbandPruner(min_resource=1, max_resource=problem.epochs,
                                                             reduction_factor=3)),
            "gp_median": (optuna.samplers.GPSampler(seed=seed), optuna.pruners.MedianPruner()),
            "random_sh": (optuna.samplers.RandomSampler(seed=seed), optuna.pruners.SuccessiveHalvingPruner()),
        }[anchor]
        self.study = optuna.create_study(sampler=sampler, pruner=pruner)
        self.problem = problem
        self.optuna = optuna

    def start(self) -> Tuple[Any, Dict[str, Any]]:
        trial = self.study.ask()
        config: Dict[str, Any] = {}
        for p in self.problem.params:
            if p.kind == "real":
                config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
            elif p.kind == "int":
                config[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high))
            else:
                config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        return trial, config

    def step(self, handle: Any, epoch: int, value: float) -> bool:
        handle.report(value, epoch)
        return handle.should_prune()

    def finish(self, handle: Any, value: float, epochs: int, complete: bool) -> None:
        state = self.optuna.trial.TrialState.COMPLETE if complete else self.optuna.trial.TrialState.PRUNED
        self.study.tell(handle, value if complete else None, state=state)


def optuna_worker() -> None:
    """Reads jobs (JSON lines: problem, anchor, budget, seed) on stdin; prints a record per job."""
    for line in sys.stdin:
        job = json.loads(line)
        problem = PROBLEMS[job["problem"]]
        started = time.perf_counter()
        result = run(problem, OptunaMethod(problem, job["anchor"], job["seed"]), job["budget"], job["seed"])
        print(json.dumps(_record(result, ask_s=time.perf_counter() - started)), flush=True)


def anchors(jobs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    from sample_efficiency import ensure_optuna5_venv

    python = ensure_optuna5_venv()
    process = subprocess.run([python, str(Path(__file__).resolve()), "--optuna-worker"],
                             input="".join(json.dumps(job) + "\n" for job in jobs), capture_output=True,
                             text=True)
    if process.returncode != 0:
        raise RuntimeError(process.stderr[-3000:])
    return [json.loads(line) for line in process.stdout.splitlines() if line.strip()]


# -- the table ------------------------------------------------------------------------------------


def cached(key: str, fresh: bool) -> Optional[Dict[str, Any]]:
    path = RUNS / f"{key}.json"
    return None if fresh or not path.is_file() else json.loads(path.read_text())


def save(key: str, record: Dict[str, Any]) -> None:
    RUNS.mkdir(parents=True, exist_ok=True)
    (RUNS / f"{key}.json").write_text(json.dumps(record))


def parse_seeds(text: str) -> List[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> None:
    if "--optuna-worker" in sys.argv:
        optuna_worker()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="held-out", choices=["held-out", "tuning", "all"])
    parser.add_argument("--seeds", default=None, help="default: 100-104 held out, 0-4 tuning")
    parser.add_argument("--budgets", default="10,30", help="in full trials' epochs")
    parser.add_argument("--methods", default=",".join(OURS))
    parser.add_argument("--anchors", default=",".join(ANCHORS), help="empty: none")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    problems = [p for p in PROBLEMS.values()
                if args.suite == "all" or p.held_out == (args.suite == "held-out")]
    seeds = parse_seeds(args.seeds or ("100-104" if args.suite == "held-out" else "0-4"))
    budgets = [int(b) for b in args.budgets.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    anchor_names = [a for a in args.anchors.split(",") if a]
    started = time.perf_counter()
    records: Dict[Tuple[str, str, int], List[Dict[str, Any]]] = {}
    pending = []
    for problem in problems:
        for budget in budgets:
            for name in methods + anchor_names:
                for seed in seeds:
                    key = f"{problem.name}-{name}-b{budget}-s{seed}"
                    record = cached(key, args.fresh)
                    if record is None and (name in OURS or name.startswith("curve")):
                        record = ours(problem, name, budget * problem.epochs, seed)
                        save(key, record)
                    if record is None:
                        pending.append((key, {"problem": problem.name, "anchor": name,
                                              "budget": budget * problem.epochs, "seed": seed}))
                    else:
                        records.setdefault((problem.name, name, budget), []).append(record)
            print(f"{problem.name} x{budget}: ours done ({time.perf_counter() - started:.0f} s)", flush=True)
    if pending:
        print(f"anchors: {len(pending)} runs in bench/.venv-optuna5", flush=True)
        for (key, job), record in zip(pending, anchors([job for _, job in pending])):
            save(key, record)
            records.setdefault((job["problem"], job["anchor"], job["budget"] // 27), []).append(record)
    text = report(problems, budgets, methods + anchor_names, records)
    print(text)
    from common import write_report

    write_report("fidelity", "Equal total epochs: stop rules and pruned samplers on learning curves",
                 "bench/fidelity.py " + " ".join(sys.argv[1:]),
                 [f"Suite: {args.suite}; seeds {seeds[0]}-{seeds[-1]}. See the module docstring.", text,
                  f"Took {time.perf_counter() - started:.0f} s."])


def report(problems: List[CurveProblem], budgets: List[int], names: List[str],
           records: Dict[Tuple[str, str, int], List[Dict[str, Any]]]) -> str:
    from common import table

    header = ["problem", "budget (full trials)"] + names
    rows = []
    for problem in problems:
        for budget in budgets:
            cells = []
            for name in names:
                rs = records.get((problem.name, name, budget), [])
                if not rs:
                    cells.append("")
                    continue
                regrets = [r["regret"] for r in rs]
                cells.append(f"{np.median(regrets):.3g} [{np.quantile(regrets, 0.25):.2g}, "
                             f"{np.quantile(regrets, 0.75):.2g}] ({np.median([r['full'] for r in rs]):.0f} full "
                             f"of {np.median([r['trials'] for r in rs]):.0f})")
            rows.append([problem.name, budget, *cells])
    return table(header, rows)


if __name__ == "__main__":
    main()
