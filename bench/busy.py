"""Busy fraction with trials of different lengths: async against batch scheduling, same run.

    .venv/bin/python bench/busy.py [--workers 2,4] [--trials 24] [--seeds 1] [--first-seed 100]
        [--sleep-min 1.0] [--sleep-max 8.0]

Every run is ``bench/app/objective.py -m`` on Branin (2-d) with the joblib launcher
(``hydra/launcher=joblib hydra.launcher.n_jobs=W``) and the app's duration rule
(``sleep_min=1.0 sleep_max=8.0``): a trial sleeps ``1 + 7 * f`` seconds, f = half of x1 scaled
to [0, 1] plus half a reproducible spread from a hash of the params (bench/app/objective.py's
``duration_fraction``), so durations run from 1 s to 8 s and depend on where the sweeper looks.
For each W (2 and 4) and seed, in the same run:

- ``async``: this sweeper, ``hydra/sweeper=skopt_gp hydra.sweeper.scheduling=async
  hydra.sweeper.batch_size=W hydra.sweeper.n_calls=24 hydra.sweeper.random_state=SEED``
  (n_initial_points at its default 10);
- ``batch``: the same with ``hydra.sweeper.scheduling=batch``;
- ``optuna``: hydra-optuna-sweeper (TPE, optuna 2.10) from bench/.venv-optuna (the joblib
  launcher installed there too), ``hydra.sweeper.n_jobs=W hydra.sweeper.n_trials=24
  hydra.sweeper.sampler.seed=SEED``, the same space;
- Hydra's basic sweeper on the same launcher, ``hydra.sweeper.max_batch_size=W``, over 24 fixed
  jobs whose durations come from the async run's: the app's ``sleep_f`` override sets f directly
  (x2 fixed), three ways:

  - ``basic (constant)``, the ceiling: every job the async run's MEAN duration
    (``sleep_f=<mean f>``, ``x1=range(0,24)`` for 24 jobs), so the same total work and no
    batch ever waits for a longer job: what is lost is the launcher's own per-job cost;
  - ``basic (sorted)``: EXACTLY the async run's 24 durations (``sleep_f=f1,...,f24``, x1
    fixed), sorted longest first so that each batch of W holds near-equal durations: the best
    batches of W can do with these durations and no decisions;
  - ``basic (async order)``: the same 24 durations in the order the async run launched them:
    what batches of W cost with them, without any decision time.

Busy fraction = the sum of the trials' durations / (W x (first trial start to last trial end)),
every trial timed by the app itself (``time.time()`` at the task function's entry and after its
sleep, appended to ``$BENCH_TRACE``), so every method is measured the same way. The idle
worker-seconds (W x span - the sum of durations) are split three ways: the start stagger (the
W earliest starts' distances from the first), the drain at the end (the W latest ends' distances
from the last: the last trials cannot be balanced) and the rest, between trials; this sweeper's
own ``duration_s`` in trials.jsonl is shown beside it as a check. Targets (printed, never
asserted): async >= 0.93 with 2 workers and >= 0.9 with 4; async >= 1.15x batch.
Writes results/busy.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH, PROJECT_PYTHON, sweeper_commit, table, write_report  # noqa: E402
from problems import PROBLEMS  # noqa: E402

APP = BENCH / "app" / "objective.py"
OPTUNA_PYTHON = BENCH / ".venv-optuna" / "bin" / "python"
SPACE = ["x1=interval(-5.0, 10.0)", "x2=interval(0.0, 15.0)"]
METHODS = ["async", "batch", "optuna", "basic (constant)", "basic (sorted)", "basic (async order)"]


def duration_fraction(params: Dict[str, float]) -> float:
    """The app's f for these params (bench/app/objective.py imports only Hydra and numpy)."""
    sys.path.insert(0, str(BENCH / "app"))
    from objective import duration_fraction as f

    return f(PROBLEMS["branin"], params)


def ensure_optuna() -> str:
    if not OPTUNA_PYTHON.exists():
        raise SystemExit(f"{OPTUNA_PYTHON} is missing: run bench/sample_efficiency.py --methods optuna_tpe once "
                         "to create it, then `bench/.venv-optuna/bin/python -m pip install hydra-joblib-launcher`")
    check = subprocess.run([str(OPTUNA_PYTHON), "-c", "import hydra_plugins.hydra_joblib_launcher"],
                           capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(OPTUNA_PYTHON), "-m", "pip", "install", "-q", "hydra-joblib-launcher"], check=True)
    return str(OPTUNA_PYTHON)


def command(method: str, workers: int, trials: int, seed: int, args: argparse.Namespace,
            sweep_dir: str, fractions: Sequence[float] = ()) -> List[str]:
    common = [str(APP), "-m", "hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}", "problem=branin",
              f"sleep_min={args.sleep_min}", f"sleep_max={args.sleep_max}", f"hydra.sweep.dir={sweep_dir}"]
    if method in ("async", "batch"):
        return [PROJECT_PYTHON, *common, "hydra/sweeper=skopt_gp", *SPACE, f"hydra.sweeper.n_calls={trials}",
                f"hydra.sweeper.batch_size={workers}", f"hydra.sweeper.scheduling={method}",
                f"hydra.sweeper.random_state={seed}"]
    if method == "optuna":
        return [ensure_optuna(), *common, "hydra/sweeper=optuna", *SPACE, f"hydra.sweeper.n_trials={trials}",
                f"hydra.sweeper.n_jobs={workers}", f"hydra.sweeper.sampler.seed={seed}"]
    jobs = ([f"x1=range(0,{trials})", f"sleep_f={fractions[0]!r}"] if method == "basic (constant)"
            else ["x1=1.0", "sleep_f=" + ",".join(repr(f) for f in fractions)])
    return [PROJECT_PYTHON, *common, *jobs, "x2=1.0", f"hydra.sweeper.max_batch_size={workers}"]


def run(method: str, workers: int, trials: int, seed: int, args: argparse.Namespace,
        fractions: Sequence[float] = ()) -> Dict:
    with tempfile.TemporaryDirectory() as tmp:
        trace, sweep_dir = Path(tmp) / "trace.jsonl", Path(tmp) / "sweep"
        env = {**os.environ, "BENCH_TRACE": str(trace), "PYTHONWARNINGS": "ignore"}
        started = time.perf_counter()
        out = subprocess.run(command(method, workers, trials, seed, args, str(sweep_dir), fractions),
                             cwd=tmp, env=env, capture_output=True, text=True)
        command_wall = time.perf_counter() - started
        if out.returncode != 0 or not trace.exists():
            raise SystemExit(f"{method} W={workers} seed {seed} failed:\n{out.stderr[-3000:]}")
        lines = [json.loads(line) for line in trace.read_text().splitlines()]
        journal = sweep_dir / "trials.jsonl"
        journal_s = None
        if journal.exists():
            journal_s = sum(json.loads(l).get("duration_s") or 0.0 for l in journal.read_text().splitlines())
    if len(lines) != trials:
        raise SystemExit(f"{method} W={workers} seed {seed}: {len(lines)} trials traced, expected {trials}")
    starts, ends = [t["start"] for t in lines], [t["end"] for t in lines]
    busy_s = sum(e - s for s, e in zip(starts, ends))
    span = max(ends) - min(starts)
    # where the idle worker-seconds are: before every worker has its first trial (the W earliest
    # starts), after the first worker runs out of trials (the W latest ends), and in between
    first, last = sorted(starts)[:workers], sorted(ends)[-workers:]
    head = sum(t - min(starts) for t in first)
    tail = sum(max(ends) - t for t in last)
    # the launch order: by start time (the trace is written as trials end)
    ordered = sorted(lines, key=lambda t: t["start"])
    return {"method": method, "workers": workers, "seed": seed, "busy_s": busy_s, "span": span,
            "busy": busy_s / (workers * span), "head": head, "tail": tail,
            "between": workers * span - busy_s - head - tail, "command_wall": command_wall, "journal_s": journal_s,
            "fractions": [duration_fraction(t["params"]) for t in ordered],
            "durations": [t["end"] - t["start"] for t in ordered], "best": min(t["value"] for t in lines)}


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--sleep-min", type=float, default=1.0)
    parser.add_argument("--sleep-max", type=float, default=8.0)
    args = parser.parse_args()
    ensure_optuna()
    commit = sweeper_commit()
    workers_list = [int(w) for w in args.workers.split(",")]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    records: List[Dict] = []
    for workers in workers_list:
        for seed in seeds:
            for method in ("async", "batch", "optuna"):
                records.append(run(method, workers, args.trials, seed, args))
                r = records[-1]
                print(f"W={workers} seed {seed} {method}: busy {r['busy']:.3f}, span {r['span']:.1f} s, "
                      f"command {r['command_wall']:.1f} s", flush=True)
            fractions = records[-3]["fractions"]  # the async run's, in its launch order
            for method, order in (("basic (constant)", [statistics.mean(fractions)]),
                                  ("basic (sorted)", sorted(fractions, reverse=True)),
                                  ("basic (async order)", fractions)):
                records.append(run(method, workers, args.trials, seed, args, order))
                r = records[-1]
                print(f"W={workers} seed {seed} {method}: busy {r['busy']:.3f}, span {r['span']:.1f} s, "
                      f"command {r['command_wall']:.1f} s", flush=True)

    header = ["workers", "seed", "method", "trials", "sum of durations (s)", "mean duration (s)",
              "first start to last end (s)", "busy fraction", "idle: start stagger (worker-s)",
              "idle: drain at the end (worker-s)", "idle: between (worker-s)", "command wall (s)",
              "sum of duration_s, trials.jsonl (s)", "best value"]
    rows = []
    for r in records:
        rows.append([r["workers"], r["seed"], r["method"], len(r["durations"]), r["busy_s"],
                     r["busy_s"] / len(r["durations"]), r["span"], r["busy"], r["head"], r["tail"],
                     r["between"], r["command_wall"],
                     "" if r["journal_s"] is None else r["journal_s"], r["best"]])
    runs_table = table(header, rows)
    print(runs_table)

    def median(method: str, workers: int, key: str) -> float:
        return statistics.median(r[key] for r in records if r["method"] == method and r["workers"] == workers)

    summary_rows, lines = [], []
    for workers in workers_list:
        busy = {m: median(m, workers, "busy") for m in METHODS}
        span = {m: median(m, workers, "span") for m in METHODS}
        ratio = busy["async"] / busy["batch"]
        summary_rows.append([workers, *[busy[m] for m in METHODS], ratio, busy["async"] / busy["basic (constant)"],
                             *[span[m] for m in ("async", "batch", "optuna", "basic (constant)")]])
        target = 0.93 if workers == 2 else 0.9
        lines.append(f"W={workers}: async busy fraction {busy['async']:.3f} (target >= {target}: "
                     f"{verdict(busy['async'] >= target)}); the launcher's ceiling (basic sweeper, constant "
                     f"durations) {busy['basic (constant)']:.3f}")
        lines.append(f"W={workers}: async / batch busy fraction = {ratio:.3f} (target >= 1.15: {verdict(ratio >= 1.15)})")
    summary = table(["workers", *[f"busy: {m}" for m in METHODS], "async / batch", "async / basic (constant)",
                     "span async (s)", "span batch (s)", "span optuna (s)", "span basic constant (s)"], summary_rows)
    print(summary)
    for line in lines:
        print(line)
    seeds_line = f"seed{'s' if len(seeds) > 1 else ''} {seeds[0]}" + (f"-{seeds[-1]}" if len(seeds) > 1 else "")
    durations = "\n".join(
        f"- W={r['workers']} seed {r['seed']}, async run's durations in launch order (s): "
        + ", ".join(f"{d:.1f}" for d in r["durations"]) for r in records if r["method"] == "async")
    path = write_report(
        "busy", "Busy fraction with trials of 1-8 s: async vs batch scheduling, joblib launcher",
        "bench/busy.py " + " ".join(sys.argv[1:]),
        [f"Branin, {args.trials} trials, durations {args.sleep_min:g} + {args.sleep_max - args.sleep_min:g} * f(params) s, "
         f"{seeds_line}, sweeper commit {commit}. Busy fraction = sum of the trials' durations (timed by the app) / "
         f"(W x first trial start to last trial end). Medians over the seeds:", summary,
         "\n".join(f"- {line}" for line in lines), "Every run:", runs_table, durations])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
