"""Bayesmark (the NeurIPS 2020 black-box optimisation challenge's harness, won by HEBO): this
sweeper's engine against HEBO, scikit-optimize, Optuna's GPSampler and random search on
scikit-learn tuning problems, batch 8.

    .venv/bin/python bench/bayesmark.py [--models DT,ada] [--datasets wine,breast]
        [--metrics acc,nll] [--seeds 0-2] [--methods skopt_gp,random,skopt,optuna_gp,hebo]
        [--rounds 16] [--batch 8] [--fresh] [--policy NAME=VALUE ...]

Problems (bench/bayesmark_problems.py, re-implemented from uber/bayesmark
``bayesmark/sklearn_funcs.py``, which does not install on Python 3.11): a model (DT, MLP-adam,
MLP-sgd, RF, SVM, ada, kNN, lasso, linear) on a data set (iris, wine, digits, breast: a metric
of acc/nll; diabetes: mse/mae; boston is gone from scikit-learn), the CV loss of its 5-fold
cross-validation, over bayesmark's space for the model, which every optimiser sees warped
(log/logit reals as reals on the warped range). Each run makes ``--rounds`` rounds of
``--batch`` suggestions, all asked before any is told.

All objectives are evaluated here, in the project venv's scikit-learn; the anchors in other
venvs only propose (bench/bayesmark_worker.py, a JSON-line subprocess per method): the same
objective for every method, whatever scikit-learn each venv holds.

Methods: ``skopt_gp`` = this sweeper's proposer (``BatchProposer``, its defaults: GP, EI,
fantasies, 10 Sobol initial points, ``n_calls`` = rounds x batch); ``random`` = the same proposer
with every point initial and random (uniform in the warped space, as bayesmark's random
search); ``skopt`` = ``skopt.Optimizer(base_estimator="GP")``, ``ask(n_points=8)``;
``optuna_gp`` = Optuna 5 ``GPSampler(seed)`` in bench/.venv-optuna5; ``hebo`` = HEBO 0.3.6
(``HEBO(space, scramble_seed=seed)``, ``suggest(n_suggestions=8)``) in bench/.venv-hebo.

Scoring, as bayesmark scores (``bayesmark/experiment_baseline.py`` ``compute_baseline``,
``bayesmark/experiment_analysis.py`` ``compute_aggregates``, ``bayesmark/np_util.py``
``linear_rescale``, ``bayesmark/quantiles.py``), per problem over all runs of all methods here:
``opt`` = the least loss any run saw (less bayesmark's pad of 1e4 ulps); the **leaderboard
score** (the challenge's headline, ``100 x (1 - summary mean``) is
``100 * (1 - mean over problems and seeds of clip((best - opt) / (clip - opt), -1, 1))`` with
``clip`` = the median of *every* loss random search evaluated on the problem; the **median
score** (bayesmark's ``NORMED_MED``) is ``100 * (1 - (median over seeds of best - opt) /
(random_median - opt))`` with ``random_median`` the median of the best of rounds x batch random
losses, estimated as bayesmark does from all random losses pooled
(``min_quantile_CI``: order statistic ``ceil(n q')`` with ``q' = 1 - 0.5 ** (1 / m)``). On the
median score random search sits near 0; on the leaderboard score it sits well above 0, since
its best beats the median of single random evaluations. Both use the final round; ``opt`` and
the random baselines come from the runs present, so numbers change as runs are added.

Runs are cached per (problem, method, rounds x batch, seed) in results/bayesmark_runs/
(git-ignored). Writes results/bayesmark.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bayesmark_problems as bp  # noqa: E402
from common import table, write_report  # noqa: E402
from sample_efficiency import ensure_optuna5_venv, ensure_venv  # noqa: E402

BENCH = Path(__file__).resolve().parent
RUNS = BENCH / "results" / "bayesmark_runs"
WORKER = BENCH / "bayesmark_worker.py"
HEBO_VENV = BENCH / ".venv-hebo"
METHODS = ("skopt_gp", "random", "skopt", "optuna_gp", "hebo")
SUBPROCESS = ("optuna_gp", "hebo")


def ensure_hebo_venv() -> str:
    """bench/.venv-hebo: torch first (the local CPU wheel), HEBO's pinned stack, then HEBO and
    GPy without their dependencies (pip's resolver otherwise backtracks through old matplotlib
    releases for GPy, downloading gigabytes), then the rest of what HEBO imports."""
    return ensure_venv(HEBO_VENV, [["torch==2.13.0"],
                                   ["numpy==1.24.4", "scipy==1.11.4", "scikit-learn==1.3.2", "pandas==2.0.3",
                                    "pymoo==0.6.0"],
                                   ["--no-deps", "HEBO==0.3.6", "GPy==1.13.2", "paramz==0.10.0"],
                                   ["gpytorch", "catboost", "disjoint-set", "torch==2.13.0", "numpy==1.24.4",
                                    "scipy==1.11.4", "scikit-learn==1.3.2", "pandas==2.0.3", "pymoo==0.6.0"]])


# -- optimisers: ask(n) -> warped points (name -> value), tell(losses) ---------------------------


class InProcess:
    """This sweeper's proposer (``skopt_gp``, ``random``) or skopt's Optimizer (``skopt``)."""

    def __init__(self, method: str, space: List[Dict[str, Any]], seed: int, budget: int,
                 settings: Sequence[str] = ()) -> None:
        from skopt.space import Categorical, Integer, Real

        self.names = [p["name"] for p in space]
        dims = [Real(p["low"], p["high"], name=p["name"]) if p["type"] == "real"
                else Integer(p["low"], p["high"], name=p["name"]) if p["type"] == "int"
                else Categorical([0, 1], name=p["name"]) for p in space]
        if method == "skopt":
            from skopt import Optimizer

            self.opt: Any = Optimizer(dims, base_estimator="GP", random_state=seed)
        else:
            sys.path.insert(0, str(BENCH.parent))
            from quick import policy

            from hydra_skopt_sweeper.search.proposer import BatchProposer

            extra = {"n_initial_points": budget, "initial_point_generator": "random"} if method == "random" else {}
            self.opt = BatchProposer(dims, random_state=seed, n_calls=budget, policy=policy(list(settings)),
                                     **{"n_initial_points": 10, **extra})
        self.method = method
        self.pending: List[list] = []

    def ask(self, n: int) -> List[Dict[str, Any]]:
        from hydra_skopt_sweeper.search.proposer import SearchSpaceExhausted

        try:
            self.pending = self.opt.ask(n_points=n) if self.method == "skopt" else self.opt.ask(n)
        except SearchSpaceExhausted:  # a finite space (kNN's 100 points) smaller than the budget
            self.pending = []
        return [{k: _plain(v) for k, v in zip(self.names, x)} for x in self.pending]

    def tell(self, losses: List[float]) -> None:
        self.opt.tell([list(x) for x in self.pending], list(losses))


class Worker:
    """An anchor in its own venv (bench/bayesmark_worker.py), one process for all its runs."""

    def __init__(self, method: str) -> None:
        python = ensure_optuna5_venv() if method == "optuna_gp" else ensure_hebo_venv()
        self.process = subprocess.Popen([python, str(WORKER), method], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1, env={**os.environ, "PYTHONWARNINGS": "ignore"})

    def call(self, request: Dict[str, Any]) -> Dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(request) + "\n")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.process.args} died (exit {self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait()


class Remote:
    def __init__(self, worker: Worker, space: List[Dict[str, Any]], seed: int) -> None:
        self.worker = worker
        self.versions = worker.call({"cmd": "start", "space": space, "seed": seed})["versions"]

    def ask(self, n: int) -> List[Dict[str, Any]]:
        return self.worker.call({"cmd": "ask", "n": n})["points"]

    def tell(self, losses: List[float]) -> None:
        self.worker.call({"cmd": "tell", "losses": losses})


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# -- runs -----------------------------------------------------------------------------------------


def run_path(problem: str, method: str, rounds: int, batch: int, seed: int) -> Path:
    return RUNS / f"{problem}__{method}__r{rounds}x{batch}__s{seed}.json"


def run_one(problem: Tuple[str, str, str], method: str, rounds: int, batch: int, seed: int,
            workers: Dict[str, Worker], settings: Sequence[str] = ()) -> Dict[str, Any]:
    import sklearn

    objective = bp.Objective(*problem)
    space = bp.warped_space(objective.config)
    versions = {"scikit-learn (objective)": sklearn.__version__}
    if method in SUBPROCESS:
        if method not in workers:
            workers[method] = Worker(method)
        opt: Any = Remote(workers[method], space, seed)
        versions.update(opt.versions)
    else:
        import skopt

        opt = InProcess(method, space, seed, rounds * batch, settings if method == "skopt_gp" else ())
        versions["skopt"] = skopt.__version__
    losses: List[List[float]] = []
    params: List[List[Dict[str, Any]]] = []
    ask_s = eval_s = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        points = opt.ask(batch)
        ask_s += time.perf_counter() - start
        if not points:  # every point of a finite space evaluated: the run ends early
            break
        start = time.perf_counter()
        round_params = [bp.unwarp(objective.config, p) for p in points]
        round_losses = [objective(p) for p in round_params]
        eval_s += time.perf_counter() - start
        opt.tell(round_losses)
        losses.append(round_losses)
        params.append(round_params)
    return {"problem": "_".join(problem), "method": method, "seed": seed, "rounds": rounds, "batch": batch,
            "losses": losses, "params": params, "ask_s": ask_s, "eval_s": eval_s, "versions": versions}


# -- scoring (bayesmark's) ------------------------------------------------------------------------


def order_stat(x: np.ndarray, q: float) -> float:
    """bayesmark.quantiles.quantile: the ``ceil(n q)``-th smallest (1-based)."""
    o = np.concatenate(([-np.inf], np.sort(x), [np.inf]))
    return float(o[int(np.ceil(len(x) * q))])


def _flat(losses: List[List[float]]) -> np.ndarray:
    """A run's losses, round after round (the last round may be short in a finite space)."""
    return np.array([loss for round_losses in losses for loss in round_losses], dtype=float)


def score_problem(runs: Dict[str, List[Dict[str, Any]]]) -> Optional[Dict[str, Dict[str, float]]]:
    """Per method: median final best, leaderboard score (mean over seeds) and median score."""
    if not runs.get("random"):
        return None
    everything = np.concatenate([_flat(r["losses"]) for rs in runs.values() for r in rs])
    best = float(np.min(everything))
    opt = best + 10000 * np.spacing(-max(np.nextafter(0, 1), abs(best)))
    random_all = np.concatenate([_flat(r["losses"]) for r in runs["random"]])
    clip = order_stat(random_all, 0.5)
    m = runs["random"][0]["rounds"] * runs["random"][0]["batch"]
    random_median = order_stat(random_all, 1.0 - 0.5 ** (1.0 / m))
    # random's median best already at the optimum: the median score cannot tell methods apart
    degenerate = random_median - opt <= 1e-9 * max(1.0, abs(best))
    out = {}
    for method, rs in runs.items():
        finals = np.array([_flat(r["losses"]).min() for r in rs])
        normed = np.clip((finals - opt) / (clip - opt), -1.0, 1.0) if clip > opt else np.zeros_like(finals)
        med = order_stat(finals, 0.5)
        out[method] = {"median_best": med, "leaderboard": 100 * (1 - float(np.mean(normed))),
                       "median_score": math.nan if degenerate else 100 * (1 - (med - opt) / (random_median - opt)),
                       "n": len(rs), "ask_s": float(np.mean([r["ask_s"] for r in rs])),
                       "eval_s": float(np.mean([r["eval_s"] for r in rs]))}
    out["_"] = {"opt": best, "clip": clip, "random_median": random_median}
    return out


# -- command line ---------------------------------------------------------------------------------


def seeds_arg(text: str) -> List[int]:
    seeds: List[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def problems_of(models: Sequence[str], datasets: Sequence[str], metrics: Sequence[str]) -> List[Tuple[str, str, str]]:
    return [(m, d, k) for d in datasets for m in models for k in metrics if k in bp.METRICS[bp.DATASETS[d]]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="DT,MLP-adam,RF,ada,kNN,SVM")
    parser.add_argument("--datasets", default="wine,digits,breast,iris")
    parser.add_argument("--metrics", default="acc,nll", help="classification: acc,nll; regression: mse,mae")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--fresh", action="store_true", help="rerun cached runs")
    parser.add_argument("--policy", nargs="*", default=[], metavar="NAME=VALUE",
                        help="skopt_gp with these Policy changes, shown and cached as skopt_gp[NAME=VALUE ...]")
    args = parser.parse_args()
    metrics = args.metrics.split(",")
    if "diabetes" in args.datasets.split(",") and not any(k in bp.METRICS["reg"] for k in metrics):
        metrics += ["mse"]
    problems = problems_of(args.models.split(","), args.datasets.split(","), metrics)
    label = {"skopt_gp": f"skopt_gp[{' '.join(args.policy)}]"} if args.policy else {}
    methods = [label.get(m, m) for m in args.methods.split(",")]
    seeds = seeds_arg(args.seeds)
    RUNS.mkdir(parents=True, exist_ok=True)

    workers: Dict[str, Worker] = {}
    results: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    versions: Dict[str, Dict[str, str]] = {}
    started = time.perf_counter()
    try:
        for method in methods:  # one method at a time: each anchor's venv starts once
            for problem in problems:
                name = "_".join(problem)
                for seed in seeds:
                    path = run_path(name, method, args.rounds, args.batch, seed)
                    if path.exists() and not args.fresh:
                        record = json.loads(path.read_text())
                    else:
                        t0 = time.perf_counter()
                        record = run_one(problem, method.split("[")[0], args.rounds, args.batch, seed, workers,
                                         args.policy)
                        record["method"] = method
                        path.write_text(json.dumps(record))
                        print(f"{name} {method} s{seed}: best {_flat(record['losses']).min():.4g} "
                              f"({time.perf_counter() - t0:.0f}s; ask {record['ask_s']:.0f}s)", flush=True)
                    results.setdefault(name, {}).setdefault(method, []).append(record)
                    versions.setdefault(method, record["versions"])
    finally:
        for worker in workers.values():
            worker.close()

    sections, per_method = [], {m: {"leaderboard": [], "median_score": []} for m in methods}
    per_problem_rows = []
    for name, runs in results.items():
        scores = score_problem(runs)
        if scores is None:
            continue
        ref = scores["_"]
        rows = []
        for method in methods:
            if method not in scores:
                continue
            s = scores[method]
            per_method[method]["leaderboard"].append(s["leaderboard"])
            per_method[method]["median_score"].append(s["median_score"])
            median_score = "n/a" if math.isnan(s["median_score"]) else f"{s['median_score']:.1f}"
            rows.append([method, f"{s['median_best']:.5g}", f"{s['leaderboard']:.1f}", median_score,
                         s["n"], f"{s['ask_s']:.1f}", f"{s['eval_s']:.1f}"])
        per_problem_rows.append(
            f"### {name}\n\nopt {ref['opt']:.5g}; random: median single loss {ref['clip']:.5g}, median best "
            f"{ref['random_median']:.5g}\n\n" + table(
                ["method", "median final best", "leaderboard score", "median score", "seeds", "ask s/run",
                 "eval s/run"], rows))
    n_problems = len(per_problem_rows)
    headline = [[m, f"{np.mean(v['leaderboard']):.1f}", f"{np.nanmean(v['median_score']):.1f}",
                 f"{np.nanmedian(v['median_score']):.1f}", len(v["leaderboard"])]
                for m, v in per_method.items() if v["leaderboard"]]
    sections.append(
        f"Problems: {n_problems} ({', '.join(results)}); seeds {seeds}; {args.rounds} rounds x {args.batch}; "
        f"wall time of this invocation {time.perf_counter() - started:.0f}s (cached runs cost nothing).\n\n"
        "Leaderboard score = the challenge's `100 x (1 - mean normalised loss)` (per run, normalised by the "
        "median single random loss and clipped to [-1, 1]; mean over seeds and problems). Median score = "
        "bayesmark's median-normed score `100 x (1 - (median best - opt) / (random median best - opt))`, "
        "random ~ 0; n/a where random search's median best is the optimum (the score divides by their "
        "difference; those problems are left out of its mean). See the module docstring of "
        "bench/bayesmark.py.\n\n## Headline\n\n"
        + table(["method", "leaderboard score (mean)", "median score (mean)", "median score (median)",
                 "problems"], headline))
    sections.append("## Versions\n\n" + table(["method", "versions"], [
        [m, ", ".join(f"{k} {v}" for k, v in versions[m].items())] for m in methods if m in versions])
        + "\n\nEvery objective is computed by the project venv's scikit-learn (the anchors only propose).")
    sections.append("## Per problem\n\n" + "\n\n".join(per_problem_rows))
    command = ".venv/bin/python bench/bayesmark.py " + " ".join(sys.argv[1:])
    path = write_report("bayesmark", "Bayesmark (NeurIPS 2020 BBO challenge protocol)", command, sections)
    print(sections[0])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
