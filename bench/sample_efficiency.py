"""Sample efficiency: simple regret at the budget on Branin, Hartmann6 and a mixed space.

    .venv/bin/python bench/sample_efficiency.py [--seeds 10] [--problems branin,hartmann6,mixed]
        [--batches 1,4] [--methods skopt_gp,skopt_gp_hedge,optuna_tpe,random,gp_minimize] [--jobs 2]

Every Hydra method runs the same app (bench/app/objective.py) as a multirun on the basic
launcher (trials in the sweeper's process):

- skopt_gp: this sweeper with its defaults (EI, kb_ucb liars, 10 initial sobol points;
  ``hydra.sweeper.batch_size`` = the batch size);
- skopt_gp_hedge: the same with ``hydra.sweeper.acq_func=gp_hedge`` (skopt's default);
- optuna_tpe: hydra-optuna-sweeper (TPE, its defaults; ``hydra.sweeper.n_jobs`` = the batch
  size), from its own venv bench/.venv-optuna, created on first use (it pins optuna<3);
- random: Hydra-driven random search, this sweeper with ``n_initial_points=n_calls`` and
  ``initial_point_generator=random`` (batch size does not matter for it: shown once);
- gp_minimize: plain ``skopt.gp_minimize`` with its defaults (sequential), no Hydra.

Each run is cached in results/runs/ (delete it, or pass --fresh, to rerun). Prints a table per
problem and batch size, writes results/sample_efficiency.md and results/sample_efficiency.png.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH, PROJECT_PYTHON, RESULTS, ROOT, table, write_report  # noqa: E402
from problems import PROBLEMS  # noqa: E402

APP = BENCH / "app" / "objective.py"
OPTUNA_VENV = BENCH / ".venv-optuna"
OPTUNA_PYTHON = OPTUNA_VENV / "bin" / "python"
RUNS = RESULTS / "runs"
METHODS = ["skopt_gp", "skopt_gp_hedge", "optuna_tpe", "random", "gp_minimize"]
BATCHLESS = {"random", "gp_minimize"}
# regrets below this count as equal in the printed ratios
RATIO_FLOOR = 1e-4


def ensure_optuna_venv() -> str:
    """bench/.venv-optuna with hydra-optuna-sweeper (optuna<3 cannot share the project venv)."""
    if not OPTUNA_PYTHON.exists():
        print(f"creating {OPTUNA_VENV} (hydra-core, hydra-optuna-sweeper, numpy) ...", flush=True)
        subprocess.run(["python3.11", "-m", "venv", str(OPTUNA_VENV)], check=True)
        subprocess.run([str(OPTUNA_PYTHON), "-m", "pip", "install", "-q", "hydra-core",
                        "hydra-optuna-sweeper", "numpy"], check=True)
    return str(OPTUNA_PYTHON)


def hydra_command(method: str, problem: str, batch: int, seed: int, sweep_dir: str) -> List[str]:
    spec = PROBLEMS[problem]
    budget = spec.budget
    if method == "optuna_tpe":
        sweep = spec.optuna_sweep or spec.sweep
        return [ensure_optuna_venv(), str(APP), "-m", "hydra/sweeper=optuna", f"problem={problem}",
                *[f"{k}={v}" for k, v in sweep.items()], f"hydra.sweeper.n_trials={budget}",
                f"hydra.sweeper.n_jobs={batch}", f"hydra.sweeper.sampler.seed={seed}",
                f"hydra.sweep.dir={sweep_dir}"]
    command = [PROJECT_PYTHON, str(APP), "-m", "hydra/sweeper=skopt_gp", f"problem={problem}",
               *[f"{k}={v}" for k, v in spec.sweep.items()], f"hydra.sweeper.n_calls={budget}",
               f"hydra.sweeper.random_state={seed}", f"hydra.sweep.dir={sweep_dir}"]
    if method == "skopt_gp":
        command += [f"hydra.sweeper.batch_size={batch}"]
    elif method == "skopt_gp_hedge":
        command += [f"hydra.sweeper.batch_size={batch}", "hydra.sweeper.acq_func=gp_hedge"]
    elif method == "random":
        command += [f"hydra.sweeper.n_initial_points={budget}", "hydra.sweeper.initial_point_generator=random",
                    f"hydra.sweeper.batch_size={budget}"]
    return command


def run_one(method: str, problem: str, batch: int, seed: int, fresh: bool) -> Dict:
    cache = RUNS / f"{problem}-{method}-b{batch}-s{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    spec = PROBLEMS[problem]
    started = time.perf_counter()
    if method == "gp_minimize":
        import warnings

        from skopt import gp_minimize

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = gp_minimize(lambda x: spec.evaluate(spec.point_params(x)), spec.dimensions(),
                                 n_calls=spec.budget, random_state=seed)
        values = [float(v) for v in result.func_vals]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            trace = Path(tmp) / "trace.jsonl"
            env = {**os.environ, "BENCH_TRACE": str(trace), "PYTHONWARNINGS": "ignore"}
            out = subprocess.run(hydra_command(method, problem, batch, seed, str(Path(tmp) / "sweep")),
                                 cwd=tmp, env=env, capture_output=True, text=True)
            if out.returncode != 0 or not trace.exists():
                raise RuntimeError(f"{method} {problem} b{batch} s{seed} failed:\n{out.stderr[-3000:]}")
            values = [json.loads(line)["value"] for line in trace.read_text().splitlines()]
    record = {"method": method, "problem": problem, "batch": batch, "seed": seed, "values": values,
              "seconds": time.perf_counter() - started}
    RUNS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record))
    return record


def regret_curve(values: List[float], optimum: float, budget: int) -> np.ndarray:
    best = np.minimum.accumulate(np.array(values[:budget], dtype=float))
    return np.maximum(best - optimum, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--problems", default="branin,hartmann6,mixed")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (each is one process)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    args = parser.parse_args()
    problems = args.problems.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    methods = args.methods.split(",")
    if "optuna_tpe" in methods:
        ensure_optuna_venv()

    tasks = []
    for problem in problems:
        for method in methods:
            for batch in ([batches[0]] if method in BATCHLESS else batches):
                for seed in range(args.seeds):
                    tasks.append((method, problem, batch, seed))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        records = list(pool.map(lambda t: run_one(*t, fresh=args.fresh), tasks))
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s", flush=True)

    curves: Dict[tuple, np.ndarray] = {}
    for (method, problem, batch, _), record in zip(tasks, records):
        spec = PROBLEMS[problem]
        curve = regret_curve(record["values"], spec.optimum, spec.budget)
        curves.setdefault((problem, method, batch), []).append(curve)
    curves = {k: np.array(v) for k, v in curves.items()}

    def final(problem: str, method: str, batch: int) -> Optional[np.ndarray]:
        key = (problem, method, batches[0] if method in BATCHLESS else batch)
        return None if key not in curves else curves[key][:, -1]

    sections, lines = [], []
    header = ["problem (budget)", "batch", "method", "median regret", "q25", "q75", "mean s/run"]
    rows = []
    seconds = {}
    for (method, problem, batch, _), record in zip(tasks, records):
        seconds.setdefault((problem, method, batch), []).append(record["seconds"])
    for problem in problems:
        for batch in batches:
            for method in methods:
                regrets = final(problem, method, batch)
                if regrets is None:
                    continue
                b = "-" if method in BATCHLESS else batch
                q25, q50, q75 = np.percentile(regrets, [25, 50, 75])
                s = np.mean(seconds[(problem, method, batches[0] if method in BATCHLESS else batch)])
                rows.append([f"{problem} ({PROBLEMS[problem].budget})", b, method, q50, q25, q75, s])
    print(table(header, rows))
    sections.append(f"Simple regret (best value found - known optimum) at the budget, {args.seeds} seeds.\n\n" + table(header, rows))

    def median(problem, method, batch):
        """Median regret, floored at RATIO_FLOOR for the ratios: 1e-6 against 3e-6 is a tie."""
        regrets = final(problem, method, batch)
        return None if regrets is None else max(float(np.median(regrets)), RATIO_FLOOR)

    for problem in problems:
        for batch in batches:
            ours, theirs = median(problem, "skopt_gp", batch), median(problem, "optuna_tpe", batch)
            if ours is not None and theirs:
                target = " (target <= 0.25)" if problem in ("branin", "hartmann6") else ""
                verdict = "" if not target else (": met" if ours <= 0.25 * theirs else ": NOT met")
                lines.append(f"{problem}, batch {batch}: skopt_gp / optuna_tpe median regret = {ours / theirs:.3g}{target}{verdict}")
        if len(batches) > 1:
            one, four = median(problem, "skopt_gp", batches[0]), median(problem, "skopt_gp", batches[-1])
            if one is not None and four is not None:
                ratio = four / one if one > 0 else float("inf") if four > 0 else 1.0
                lines.append(f"{problem}: skopt_gp batch {batches[-1]} / batch {batches[0]} median regret = {ratio:.3g} "
                             f"(target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
        ours, gpm = median(problem, "skopt_gp", batches[0]), median(problem, "gp_minimize", batches[0])
        if ours is not None and gpm:
            lines.append(f"{problem}: skopt_gp (batch {batches[0]}) / plain gp_minimize median regret = {ours / gpm:.3g}")
    for line in lines:
        print(line)
    sections.append(f"Ratios of median regrets, each floored at {RATIO_FLOOR:g}:\n\n" + "\n".join(f"- {line}" for line in lines))
    plot(curves, problems, batches, methods)
    sections.append("![regret vs trials](sample_efficiency.png)")
    path = write_report("sample_efficiency", "Sample efficiency: simple regret vs the anchors",
                        "bench/sample_efficiency.py " + " ".join(sys.argv[1:]), sections)
    print(f"report: {path}")


def plot(curves, problems, batches, methods) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(batches), len(problems), figsize=(4.2 * len(problems), 3.4 * len(batches)),
                             squeeze=False)
    for i, batch in enumerate(batches):
        for j, problem in enumerate(problems):
            ax = axes[i][j]
            for method in methods:
                key = (problem, method, batches[0] if method in BATCHLESS else batch)
                if key not in curves:
                    continue
                c = np.maximum(curves[key], 1e-8)
                x = np.arange(1, c.shape[1] + 1)
                q25, q50, q75 = np.percentile(c, [25, 50, 75], axis=0)
                line, = ax.plot(x, q50, label=method)
                ax.fill_between(x, q25, q75, color=line.get_color(), alpha=0.15)
            ax.set_yscale("log")
            ax.set_title(f"{problem}, batch {batch}")
            ax.set_xlabel("trials")
            ax.set_ylabel("simple regret (median, IQR)")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / "sample_efficiency.png", dpi=110)


if __name__ == "__main__":
    main()
