"""Parallel efficiency: 16 trials of 2 s each, joblib launcher with 2 workers, the real sweeper.

    .venv/bin/python bench/parallel.py [--trials 16] [--sleep 2] [--workers 2]

Runs ``bench/app/objective.py -m hydra/sweeper=skopt_gp hydra/launcher=joblib
hydra.launcher.n_jobs=2`` on Branin with ``sleep=2`` (batch size = workers, 10 initial points
then the GP). Ideal wall time = trials * sleep / workers. Reports two wall times: the sweep's
(from the sweeper's first "Batch 1: launching" log line to its "Sweep finished" line: the
sweeper's decisions, loky's worker start-up and Hydra's per-job work included) and the whole
command's (Python and Hydra start-up added). The target (ideal / wall >= 0.9) is on the
sweep's. Writes results/parallel.md.

The anchor, in the same run: Hydra's own basic sweeper on the same launcher and app, 16 jobs
in batches of 2 (``x1=range(0,16) hydra.sweeper.max_batch_size=2``): what Hydra and joblib cost
without any optimiser. It logs nothing when it ends, so both are also timed from the first
launch's log line to the command's exit.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH, PROJECT_PYTHON, table, write_report  # noqa: E402

STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


def stamp(log: str, needle: str) -> datetime:
    for line in log.splitlines():
        if needle in line:
            match = STAMP.match(line)
            if match:
                return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
    raise RuntimeError(f"no log line with {needle!r}:\n{log[-2000:]}")


def run(command: list, cwd: str) -> tuple:
    started = time.perf_counter()
    out = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return out.stdout + out.stderr, wall, datetime.now()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--sleep", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    ideal = args.trials * args.sleep / args.workers
    common = [str(BENCH / "app" / "objective.py"), "-m", "hydra/launcher=joblib",
              f"hydra.launcher.n_jobs={args.workers}", "problem=branin", f"sleep={args.sleep}"]
    with tempfile.TemporaryDirectory() as tmp:
        log, command_wall, ended = run(
            [PROJECT_PYTHON, *common, "hydra/sweeper=skopt_gp", "x1=interval(-5.0, 10.0)",
             "x2=interval(0.0, 15.0)", f"hydra.sweeper.n_calls={args.trials}",
             "hydra.sweeper.random_state=0", f"hydra.sweep.dir={tmp}/sweep"], tmp)
        basic_log, basic_command_wall, basic_ended = run(
            [PROJECT_PYTHON, *common, f"x1=range(0,{args.trials})", "x2=1.0",
             f"hydra.sweeper.max_batch_size={args.workers}", f"hydra.sweep.dir={tmp}/basic"], tmp)
    sweep_wall = (stamp(log, "Sweep finished") - stamp(log, "Batch 1: launching")).total_seconds()
    tail_wall = (ended - stamp(log, "Batch 1: launching")).total_seconds()
    basic_tail_wall = (basic_ended - stamp(basic_log, "Launching jobs")).total_seconds()
    chosen = [float(s) for s in re.findall(r"chosen in ([0-9.]+) s", log)]
    header = ["sweeper", "trials", "sleep (s)", "workers", "ideal (s)", "sweep wall (s)", "ideal/sweep wall",
              "first launch to exit (s)", "ideal/first launch to exit", "command wall (s)", "ideal/command wall",
              "sweeper decisions (s, total)"]
    rows = [["skopt_gp", args.trials, args.sleep, args.workers, ideal, sweep_wall, ideal / sweep_wall,
             tail_wall, ideal / tail_wall, command_wall, ideal / command_wall, sum(chosen)],
            ["basic (anchor)", args.trials, args.sleep, args.workers, ideal, "", "", basic_tail_wall,
             ideal / basic_tail_wall, basic_command_wall, ideal / basic_command_wall, ""]]
    verdict = (f"parallel efficiency (ideal / sweep wall) = {ideal / sweep_wall:.3f} "
               f"(target >= 0.9: {'met' if ideal / sweep_wall >= 0.9 else 'NOT met'})")
    anchor = (f"skopt_gp / Hydra's basic sweeper, first launch to exit = "
              f"{tail_wall / basic_tail_wall:.3f}; command wall = {command_wall / basic_command_wall:.3f}")
    print(table(header, rows))
    print(verdict)
    print(anchor)
    path = write_report("parallel", "Parallel efficiency: joblib launcher, 2 workers",
                        "bench/parallel.py " + " ".join(sys.argv[1:]),
                        [table(header, rows), f"- {verdict}", f"- {anchor}",
                         "- the sweep wall runs from the sweeper's `Batch 1: launching` log line to "
                         "its `Sweep finished` line (the last plots drawn); the command wall adds "
                         "Python and Hydra start-up"])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
