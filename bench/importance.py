"""Parameter importance: does importance_of rank the parameters that matter first, as often as
Optuna 5's PED-ANOVA and fANOVA do on the same trials? And what does it cost?

    .venv/bin/python bench/importance.py [--seeds 8] [--first-seed 100] [--out bench/results/importance.md] [--timing-only]

Synthetic problems whose dominant parameters are known by construction (see PROBLEMS: an
additive function with very different weights, Sobol's G-function, a mixed space with a
categorical, a pure interaction, Ishigami's function with two inert parameters, a log-scaled
learning rate). For each problem and seed, two sets of trials:

* ``random``: points drawn as the proposer draws a random point (skopt's priors);
* ``proposer``: this sweeper's own trials, ``BatchProposer`` with its defaults (10 initial
  points, then one point asked and told at a time), in-process.

On the same trials, at 30 and at 100 (the first 30 of the 100): this sweeper's
:func:`hydra_skopt_sweeper.insight.importance.importance_of` (ranked by total effect) from a sweep dir
written as the loop writes it, and Optuna's ``PedAnovaImportanceEvaluator()`` and
``FanovaImportanceEvaluator(seed=seed)`` (``optuna.importance.get_param_importances``) on a
study the same trials were added to, run in bench/.venv-optuna5 (created on first use:
python3.11 -m venv, pip install optuna>=5 numpy scipy scikit-learn).

Scored per problem: ``top-1``, how often the known dominant parameter ranks first (problems
without a single dominant one are scored on the set only); ``top-k``, how often the k
parameters ranked first are exactly the known set of the k that matter. The importance's
constants (policy.IMPORTANCE_*) were set before this benchmark ran and not tuned on it: every
problem and seed here is held out. The time of importance_of (with the model's refit, and
alone) on two 10-parameter spaces (one with a conditional parameter) at 50 and 200 random
trials, median of 3 (``--timing-only``: that table alone).

Imports only the standard library and numpy at module level (the Optuna venv runs it too, as
``--optuna-worker``, reading jobs on stdin).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SIZES = (30, 100)
N_INITIAL = 10
METHODS = ("skopt_gp", "ped_anova", "fanova")


def real(low: float = 0.0, high: float = 1.0, log: bool = False) -> Dict[str, Any]:
    return {"kind": "real", "low": low, "high": high, "log": log}


def integer(low: int, high: int) -> Dict[str, Any]:
    return {"kind": "int", "low": low, "high": high, "log": False}


def categorical(*options: str) -> Dict[str, Any]:
    return {"kind": "categorical", "choices": list(options), "labels": list(options)}


class Problem:
    """A space (search_space.json's descriptions), a function of the params, the parameter
    that dominates (None when none does alone) and the set of those that matter."""

    def __init__(self, space: Dict[str, Dict[str, Any]], function: Callable[[Dict[str, Any]], float],
                 dominant: Optional[str], top: Sequence[str], noise_sd: float = 0.0) -> None:
        self.space = {name: {**spec, "override_key": name} for name, spec in space.items()}
        self.function, self.dominant, self.top, self.noise_sd = function, dominant, tuple(top), noise_sd

    def observe(self, params: Dict[str, Any], rng: np.random.RandomState) -> float:
        return float(self.function(params) + (rng.normal(0.0, self.noise_sd) if self.noise_sd else 0.0))


def _inert(count: int, start: int = 0) -> Dict[str, Dict[str, Any]]:
    return {f"z{i}": real() for i in range(start, start + count)}


def _g_function(params: Dict[str, Any]) -> float:
    weights = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0)
    return float(np.prod([(abs(4 * params[f"x{i}"] - 2) + a) / (1 + a) for i, a in enumerate(weights)]))


def _ishigami(params: Dict[str, Any]) -> float:
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    return math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3 ** 4 * math.sin(x1)


_OFFSETS = {"adam": 0.0, "sgd": 2.0, "rmsprop": 0.6}

PROBLEMS: Dict[str, Problem] = {
    # variance shares about 0.72, 0.26, 0.02, then five inert
    "additive8": Problem({**{f"x{i}": real() for i in range(3)}, **_inert(5)},
                         lambda p: 6 * math.sin(math.pi * p["x0"]) + 8 * (p["x1"] - 0.3) ** 2 + p["x2"],
                         "x0", ("x0", "x1")),
    # first-order shares about 0.72, 0.18, 0.02, 0.01, then under a thousandth
    "sobol_g8": Problem({f"x{i}": real() for i in range(8)}, _g_function, "x0", ("x0", "x1")),
    # the optimiser's offset (variance 0.70) over the learning rate's bowl (0.09), layers (0.007)
    "mixed6": Problem({"opt": categorical("adam", "sgd", "rmsprop"), "lr": real(1e-5, 1e-1, log=True),
                       "layers": integer(1, 6), **_inert(3)},
                      lambda p: _OFFSETS[p["opt"]] + (math.log10(p["lr"]) + 3) ** 2 / 4 + 0.05 * p["layers"],
                      "opt", ("opt", "lr"), noise_sd=0.05),
    # x0 and x1 act only together (no first-order effect), x2 a little alone
    "interaction6": Problem({"x0": real(), "x1": real(), "x2": real(), **_inert(3)},
                            lambda p: 8 * (p["x0"] - 0.5) * (p["x1"] - 0.5) + 0.3 * p["x2"],
                            None, ("x0", "x1")),
    # totals 0.56, 0.44, 0.24 (x3 only through x1), two inert
    "ishigami5": Problem({f"x{i}": real(-math.pi, math.pi) for i in (1, 2, 3)} | _inert(2),
                         _ishigami, None, ("x1", "x2", "x3")),
    # a learning rate's bowl on its log scale over a weight decay's slope, six inert
    "log_lr8": Problem({"lr": real(1e-5, 1.0, log=True), "wd": real(1e-6, 1e-1, log=True), **_inert(6)},
                       lambda p: (math.log10(p["lr"]) + 2.5) ** 2 / 3 + 0.15 * (math.log10(p["wd"]) + 6),
                       "lr", ("lr", "wd"), noise_sd=0.05),
}
# the spaces importance_of is timed on: ten parameters, and ten with a conditional one
TIMING_SPACES = {
    "10 params": ({**{f"p{i}": real() for i in range(8)}, "layers": integer(1, 6), "act": categorical("relu", "tanh")},
                  lambda p: sum((p[f"p{i}"] - 0.5) ** 2 * (i + 1) for i in range(8)) + 0.1 * p["layers"]
                  + (p["act"] == "tanh")),
    "10 params, 1 conditional": ({"opt": categorical("adam", "sgd"), "momentum": {**real(), "when": "opt == 'sgd'"},
                                  **{f"p{i}": real() for i in range(7)}, "layers": integer(1, 6)},
                                 lambda p: sum((p[f"p{i}"] - 0.5) ** 2 * (i + 1) for i in range(7))
                                 + 0.1 * p["layers"] + (p["momentum"] if p["opt"] == "sgd" else 0.5)),
}


# -- the trials ---------------------------------------------------------------------------------

def trials(problem: Problem, source: str, seed: int, n: int) -> List[Tuple[Dict[str, Any], float]]:
    """``n`` trials (params, value): random points, or the proposer's, asked and told one at a time."""
    from skopt.space import Space

    from hydra_skopt_sweeper.problem.search_space import SearchSpace
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    space = SearchSpace.from_description(problem.space)
    noise = np.random.RandomState(seed + 7919)
    if source == "random":
        points = Space(space.dimensions()).rvs(n_samples=n, random_state=np.random.RandomState(seed))
        return [(space.to_params(p), problem.observe(space.to_params(p), noise)) for p in points]
    proposer = BatchProposer(space.dimensions(), n_initial_points=N_INITIAL, random_state=seed, n_calls=n)
    found = []
    while len(found) < n:
        (point,) = proposer.ask(1)
        params = space.to_params(point)
        value = problem.observe(params, noise)
        proposer.tell([point], [value])
        found.append((params, value))
    return found


def write_sweep_dir(sweep_dir: Path, space: Dict[str, Any], found: Sequence[Tuple[Dict[str, Any], float]]) -> None:
    """search_space.json and trials.jsonl, as the loop writes them (minimised)."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / "search_space.json").write_text(json.dumps({"params": space, "maximize": False}))
    (sweep_dir / "trials.jsonl").write_text("".join(
        json.dumps({"number": i, "params": params, "value": value, "status": "ok"}) + "\n"
        for i, (params, value) in enumerate(found)))


def skopt_ranking(space: Dict[str, Any], found: Sequence[Tuple[Dict[str, Any], float]]) -> List[str]:
    from hydra_skopt_sweeper.insight.importance import importance_of
    from hydra_skopt_sweeper.insight.sweep_record import load_sweep

    with tempfile.TemporaryDirectory() as directory:
        write_sweep_dir(Path(directory), space, found)
        [importance] = importance_of(load_sweep(Path(directory)))
    return [p.name for p in importance.params]


# -- Optuna's evaluators (in bench/.venv-optuna5) --------------------------------------------------

def optuna_worker() -> None:
    """Reads one job per stdin line ({space, params, values, seed}); prints per line the
    rankings of PED-ANOVA and fANOVA."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator, get_param_importances

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def distribution(spec: Dict[str, Any]) -> Any:
        if spec["kind"] == "categorical":
            return CategoricalDistribution(spec["choices"])
        if spec["kind"] == "int":
            return IntDistribution(int(spec["low"]), int(spec["high"]))
        return FloatDistribution(spec["low"], spec["high"], log=spec["log"])

    for line in sys.stdin:
        job = json.loads(line)
        distributions = {name: distribution(spec) for name, spec in job["space"].items()}
        study = optuna.create_study(direction="minimize")
        study.add_trials([optuna.trial.create_trial(params=params, distributions=distributions, value=value)
                          for params, value in zip(job["params"], job["values"])])
        rankings = {}
        for name, evaluator in (("ped_anova", PedAnovaImportanceEvaluator()),
                                ("fanova", FanovaImportanceEvaluator(seed=job["seed"]))):
            importances = get_param_importances(study, evaluator=evaluator)
            rankings[name] = sorted(job["space"], key=lambda p: -importances.get(p, 0.0))
        print(json.dumps(rankings), flush=True)


def ensure_optuna5_venv() -> str:
    """bench/.venv-optuna5 (sample_efficiency.py's), with scikit-learn for fANOVA's forest."""
    from sample_efficiency import OPTUNA5_VENV, ensure_venv

    python = ensure_venv(OPTUNA5_VENV, [["optuna>=5", "numpy", "scipy", "scikit-learn"]])
    if subprocess.run([python, "-c", "import sklearn"], capture_output=True).returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "-q", "scikit-learn"], check=True)
    return python


def optuna_rankings(jobs: List[Dict[str, Any]]) -> List[Dict[str, List[str]]]:
    process = subprocess.run([ensure_optuna5_venv(), str(Path(__file__).resolve()), "--optuna-worker"],
                             input="".join(json.dumps(job) + "\n" for job in jobs), capture_output=True,
                             text=True, check=True)
    return [json.loads(line) for line in process.stdout.splitlines() if line.strip()]


def optuna_version() -> str:
    out = subprocess.run([ensure_optuna5_venv(), "-c", "import optuna; print(optuna.__version__)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


# -- scoring ------------------------------------------------------------------------------------

def score(problem: Problem, ranking: Sequence[str]) -> Tuple[Optional[bool], bool]:
    """(the dominant parameter ranks first, or None without one; the top k are the known k)."""
    first = None if problem.dominant is None else ranking[0] == problem.dominant
    return first, set(ranking[:len(problem.top)]) == set(problem.top)


def timing(seed: int = 0) -> Dict[Tuple[str, int, str], float]:
    """Median seconds of importance_of on each of TIMING_SPACES at 50 and 200 random trials,
    with its refit ('with refit') and on a fitted surface ('alone')."""
    from hydra_skopt_sweeper.insight.importance import importance_of
    from hydra_skopt_sweeper.insight.surface import fit_surface
    from hydra_skopt_sweeper.insight.sweep_record import load_sweep

    spent: Dict[Tuple[str, int, str], float] = {}
    for name, (space, function) in TIMING_SPACES.items():
        problem = Problem(space, function, None, ())
        for n in (50, 200):
            with tempfile.TemporaryDirectory() as directory:
                write_sweep_dir(Path(directory), problem.space, trials(problem, "random", seed, n))
                record = load_sweep(Path(directory))
                importance_of(record)  # imports and first calls out of the timing
                with_refit, alone = [], []
                for _ in range(3):
                    start = time.perf_counter()
                    surface = fit_surface(record)
                    fitted = time.perf_counter()
                    importance_of(record, surface=surface)
                    done = time.perf_counter()
                    with_refit.append(done - start)
                    alone.append(done - fitted)
                spent[(name, n, "with refit")] = float(np.median(with_refit))
                spent[(name, n, "alone")] = float(np.median(alone))
    return spent


def format_timing(spent: Dict[Tuple[str, int, str], float]) -> str:
    lines = ["Seconds of importance_of, random trials, median of 3 on this machine "
             "(`bench/importance.py --timing-only`):", "",
             "| space | trials | with the model's refit | alone (a fitted surface given) |", "|---|---|---|---|"]
    for name in TIMING_SPACES:
        for n in (50, 200):
            lines.append(f"| {name} | {n} | {spent[(name, n, 'with refit')]:.2f} | {spent[(name, n, 'alone')]:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--out", default=str(BENCH / "results" / "importance.md"))
    parser.add_argument("--timing-only", action="store_true", help="print the timing table only")
    parser.add_argument("--optuna-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.optuna_worker:
        optuna_worker()
        return
    sys.path[:0] = [str(ROOT), str(BENCH)]
    if args.timing_only:
        print(format_timing(timing()))
        return
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    names = args.problems.split(",")
    # (problem, source, size) -> method -> [(top-1, top-k)] over seeds
    scores: Dict[Tuple[str, str, int], Dict[str, List[Tuple[Optional[bool], bool]]]] = {}
    jobs, keys = [], []
    started = time.time()
    for name in names:
        problem = PROBLEMS[name]
        for source in ("random", "proposer"):
            for seed in seeds:
                found = trials(problem, source, seed, max(SIZES))
                for size in SIZES:
                    key = (name, source, size)
                    ranking = skopt_ranking(problem.space, found[:size])
                    scores.setdefault(key, {m: [] for m in METHODS})["skopt_gp"].append(score(problem, ranking))
                    jobs.append({"space": problem.space, "params": [p for p, _ in found[:size]],
                                 "values": [v for _, v in found[:size]], "seed": seed})
                    keys.append(key)
            print(f"{name} {source}: {time.time() - started:.0f} s", flush=True)
    for key, rankings in zip(keys, optuna_rankings(jobs)):
        for method in ("ped_anova", "fanova"):
            scores[key][method].append(score(PROBLEMS[key[0]], rankings[method]))
    report = format_report(scores, seeds, timing(), optuna_version())
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report + "\n")


def _share(results: Sequence[Tuple[Optional[bool], bool]], which: int) -> Optional[Tuple[int, int]]:
    values = [r[which] for r in results if r[which] is not None]
    return (sum(values), len(values)) if values else None


def format_report(scores: Dict[Tuple[str, str, int], Dict[str, List[Tuple[Optional[bool], bool]]]],
                  seeds: Sequence[int], spent: Dict[Tuple[str, int, str], float], optuna: str) -> str:
    today = datetime.date.today().isoformat()
    lines = [f"# Parameter importance ({today})", "",
             f"`.venv/bin/python bench/importance.py --seeds {len(seeds)} --first-seed {seeds[0]}`; seeds "
             f"{seeds[0]}-{seeds[-1]}, all held out (no constant tuned on them); Optuna {optuna}.", "",
             "Each cell: how many of the seeds ranked the known dominant parameter first (top-1), and "
             "ranked exactly the known set first (top-k); `-` where the problem has no single dominant "
             "parameter.", "",
             "| problem | trials | n | " + " | ".join(f"{m} top-1 | {m} top-k" for m in METHODS) + " |",
             "|---|---|---|" + "---|---|" * len(METHODS)]
    totals: Dict[Tuple[str, int, int], List[int]] = {}
    for (name, source, size), by_method in scores.items():
        cells = []
        for method in METHODS:
            for which in (0, 1):
                share = _share(by_method[method], which)
                cells.append("-" if share is None else f"{share[0]}/{share[1]}")
                if share is not None:
                    total = totals.setdefault((method, size, which), [0, 0])
                    total[0] += share[0]
                    total[1] += share[1]
        lines.append(f"| {name} | {source} | {size} | " + " | ".join(cells) + " |")
    for size in SIZES:
        cells = []
        for method in METHODS:
            for which in (0, 1):
                hit, count = totals.get((method, size, which), [0, 0])
                cells.append(f"**{hit}/{count}** ({100 * hit / max(count, 1):.0f}%)")
        lines.append(f"| all | both | {size} | " + " | ".join(cells) + " |")
    lines += ["", format_timing(spent)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
