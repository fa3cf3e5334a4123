"""Overhead: the sweeper's own decision time per batch of 4 against the number of observations.

    .venv/bin/python bench/overhead.py [--sizes 50,100,200,400] [--no-skopt]

On Hartmann6 (6-d), for each size n: tell n observations (random points), then time
``ask(4)`` + ``tell`` of those 4 (three batches in a row: the first fits the GP cold, the next
ones warm-start from it; the table shows the first and the median of the three) for this
sweeper's ``BatchProposer`` and, in the same run, for plain ``skopt.Optimizer`` (GP, gp_hedge,
``ask(n_points=4)`` with cl_min, ``model_queue_size=1``). Peak memory is measured three ways, each
in a fresh process, as VmHWM from /proc/self/status: the proposer alone up to 400 observations
(and 3 batches of 4 more), with ``resource.getrusage`` ru_maxrss beside it; the real sweeper
process through Hydra (``bench/app/objective.py -m hydra/sweeper=skopt_gp`` resuming a journal
of 400 Hartmann6 trials and running 3 batches of 4 on the basic launcher, so its trials run
inside it and the figure is an upper bound; read by the ``bench/app/peak_memory.py``
callback); and the drawing process's work, ``draw_plots`` on that 412-trial sweep dir.
Writes results/overhead.md and results/overhead.png.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from common import PROJECT_PYTHON, RESULTS, ROOT, peak_rss_mb, table, write_report  # noqa: E402
from problems import PROBLEMS  # noqa: E402

sys.path.insert(0, str(ROOT))
PROBLEM = PROBLEMS["hartmann6"]
BATCH = 4
REPEATS = 3


def observations(n: int, seed: int):
    rng = np.random.RandomState(seed)
    points = rng.rand(n, 6).tolist()
    return points, [PROBLEM.evaluate(PROBLEM.point_params(p)) for p in points]


def time_proposer(n: int, seed: int = 0) -> list:
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    proposer = BatchProposer(PROBLEM.dimensions(), n_initial_points=10, random_state=seed)
    points, losses = observations(n, seed)
    proposer.tell(points, losses)
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        asked = proposer.ask(BATCH)
        proposer.tell(asked, [PROBLEM.evaluate(PROBLEM.point_params(p)) for p in asked])
        times.append(time.perf_counter() - started)
    return times


def time_skopt(n: int, seed: int = 0) -> list:
    from skopt import Optimizer

    warnings.simplefilter("ignore")
    optimizer = Optimizer(PROBLEM.dimensions(), base_estimator="GP", acq_func="gp_hedge",
                          n_initial_points=10, random_state=seed, model_queue_size=1)
    points, losses = observations(n, seed)
    optimizer.tell(points, losses)
    started = time.perf_counter()
    asked = optimizer.ask(n_points=BATCH, strategy="cl_min")
    optimizer.tell(asked, [PROBLEM.evaluate(PROBLEM.point_params(p)) for p in asked])
    return [time.perf_counter() - started]


def peak_memory_child(n: int) -> None:
    """Run in a fresh process: the proposer alone at n observations, then print ru_maxrss."""
    import hydra_skopt_sweeper.search.proposer  # noqa: F401  (the imports count as part of the process)

    before = peak_rss_mb()
    time_proposer(n)
    print(json.dumps({"after_imports_mb": before, "peak_mb": peak_rss_mb(),
                      "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def real_sweep_memory(n: int) -> dict:
    """Peak RSS (MB) of the sweeper process resuming n trials through Hydra, and of drawing
    that sweep's plots (what its background drawing process does), each in a fresh process."""
    import tempfile
    from pathlib import Path

    from hydra_skopt_sweeper.records.journal import OK, Journal, Trial

    with tempfile.TemporaryDirectory() as tmp:
        sweep_dir, peak_file = Path(tmp) / "sweep", Path(tmp) / "peak_mb"
        sweep_dir.mkdir()
        points, losses = observations(n, seed=1)
        Journal(sweep_dir / "trials.jsonl").append(
            [Trial(i, PROBLEM.point_params(p), v, OK, batch=i // BATCH + 1)
             for i, (p, v) in enumerate(zip(points, losses))])
        command = [PROJECT_PYTHON, str(ROOT / "bench" / "app" / "objective.py"), "-m", "problem=hartmann6",
                   "hydra/sweeper=skopt_gp", *[f"{k}={v}" for k, v in PROBLEM.sweep.items()],
                   f"hydra.sweeper.n_calls={n + 3 * BATCH}", f"hydra.sweeper.batch_size={BATCH}",
                   "hydra.sweeper.random_state=0", f"hydra.sweep.dir={sweep_dir}",
                   "+hydra.callbacks.peak_memory._target_=peak_memory.PeakMemory"]
        subprocess.run(command, cwd=tmp, env={**os.environ, "PEAK_MEMORY_FILE": str(peak_file)},
                       capture_output=True, text=True, check=True)
        drawing = subprocess.run([PROJECT_PYTHON, __file__, "--draw-child", str(sweep_dir)],
                                 capture_output=True, text=True, check=True)
        return {"sweeper_mb": float(peak_file.read_text()),
                "drawing_mb": json.loads(drawing.stdout.strip().splitlines()[-1])["peak_mb"]}


def draw_child(sweep_dir: str) -> None:
    """Run in a fresh process: draw a sweep dir's plots as the drawing process does."""
    from hydra_skopt_sweeper.insight.pictures import draw_plots

    draw_plots(sweep_dir)
    print(json.dumps({"peak_mb": peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,400")
    parser.add_argument("--no-skopt", action="store_true", help="skip plain skopt (slow: ~1 min at 400)")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--draw-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(args.memory_child)
        return
    if args.draw_child:
        draw_child(args.draw_child)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    # first, while this process is still small (see common.peak_rss_mb)
    child = subprocess.run([PROJECT_PYTHON, __file__, "--memory-child", "400"], capture_output=True, text=True, check=True)
    memory = json.loads(child.stdout.strip().splitlines()[-1])
    real = real_sweep_memory(400)
    rows, ours_med, theirs = [], [], []
    for n in sizes:
        ours = time_proposer(n)
        skopt_s = None if args.no_skopt else time_skopt(n)[0]
        ratio = "" if skopt_s is None else f"{skopt_s / np.median(ours):.0f}x"
        rows.append([n, ours[0], float(np.median(ours)), "" if skopt_s is None else skopt_s, ratio])
        ours_med.append(float(np.median(ours)))
        theirs.append(skopt_s)
        print(table(["observations", "sweeper first (s)", "sweeper median of 3 (s)", "plain skopt (s)", "speed-up"], rows[-1:]).splitlines()[-1], flush=True)
    header = ["observations", "sweeper first batch (s)", "sweeper median of 3 (s)", "plain skopt ask(4)+tell (s)", "speed-up"]
    report = [table(header, rows)]
    targets = []
    for n, med, sk in zip(sizes, ours_med, theirs):
        if n == 200:
            targets.append(f"decision time per batch of 4 at 200 observations: {med:.3f} s (target <= 1 s: {'met' if med <= 1 else 'NOT met'})")
        if n in (200, 400) and sk is not None:
            targets.append(f"speed-up over plain skopt at {n}: {sk / med:.0f}x (target >= 10x: {'met' if sk / med >= 10 else 'NOT met'})")
    targets.append(
        f"peak RSS of a fresh process running the proposer to 400 observations (VmHWM; "
        f"getrusage ru_maxrss {memory['ru_maxrss_mb']:.0f} MB): {memory['peak_mb']:.0f} MB, of which {memory['after_imports_mb']:.0f} MB after "
        f"importing it (target < 300 MB: {'met' if memory['peak_mb'] < 300 else 'NOT met'})")
    targets.append(
        f"peak RSS of the real sweeper process through Hydra, resuming 400 trials and running 3 "
        f"batches of 4 (its trials inside it): {real['sweeper_mb']:.0f} MB (target < 300 MB: "
        f"{'met' if real['sweeper_mb'] < 300 else 'NOT met'}); drawing that sweep's plots (the "
        f"background drawing process's work, a process of its own): {real['drawing_mb']:.0f} MB")
    print(table(header, rows))
    for line in targets:
        print(line)
    report.append("\n".join(f"- {line}" for line in targets))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sizes, ours_med, "o-", label="this sweeper (ask 4 + tell)")
    if not args.no_skopt:
        ax.plot(sizes, theirs, "s-", label="plain skopt Optimizer.ask(n_points=4) + tell")
    ax.set_xlabel("observations")
    ax.set_ylabel("seconds per batch of 4")
    ax.set_yscale("log")
    ax.set_title("Decision time per batch, Hartmann6")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "overhead.png", dpi=120)
    path = write_report("overhead", "Overhead: decision time per batch of 4",
                        "bench/overhead.py " + " ".join(sys.argv[1:]), report + ["![overhead](overhead.png)"])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
