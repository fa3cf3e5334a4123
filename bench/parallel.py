"""Parallel efficiency: 16 trials of 2 s each, joblib launcher with 2 workers, the real sweeper.

    .venv/bin/python bench/parallel.py [--trials 16] [--sleep 2] [--workers 2]

Runs ``bench/app/objective.py -m hydra/sweeper=skopt_gp hydra/launcher=joblib
hydra.launcher.n_jobs=2`` on Branin with ``sleep=2`` (batch size = workers, 10 initial points
then the GP). Ideal wall time = trials * sleep / workers. Reports two wall times: the sweep's
(from the sweeper's first "Batch 1: launching" log line to its "Sweep finished" line: the
sweeper's decisions, loky's worker start-up and Hydra's per-job work included) and the whole
command's (Python and Hydra start-up added). The target (ideal / wall >= 0.9) is on the
sweep's. Writes results/parallel.md.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--sleep", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    ideal = args.trials * args.sleep / args.workers
    with tempfile.TemporaryDirectory() as tmp:
        command = [PROJECT_PYTHON, str(BENCH / "app" / "objective.py"), "-m", "hydra/sweeper=skopt_gp",
                   "hydra/launcher=joblib", f"hydra.launcher.n_jobs={args.workers}", "problem=branin",
                   "x1=interval(-5.0, 10.0)", "x2=interval(0.0, 15.0)", f"sleep={args.sleep}",
                   f"hydra.sweeper.n_calls={args.trials}", "hydra.sweeper.random_state=0",
                   f"hydra.sweep.dir={tmp}/sweep"]
        started = time.perf_counter()
        out = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
        command_wall = time.perf_counter() - started
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        log = out.stdout + out.stderr
    sweep_wall = (stamp(log, "Sweep finished") - stamp(log, "Batch 1: launching")).total_seconds()
    chosen = [float(s) for s in re.findall(r"chosen in ([0-9.]+) s", log)]
    header = ["trials", "sleep (s)", "workers", "ideal (s)", "sweep wall (s)", "ideal/sweep wall",
              "command wall (s)", "ideal/command wall", "sweeper decisions (s, total)"]
    rows = [[args.trials, args.sleep, args.workers, ideal, sweep_wall, ideal / sweep_wall, command_wall,
             ideal / command_wall, sum(chosen)]]
    verdict = (f"parallel efficiency (ideal / sweep wall) = {ideal / sweep_wall:.3f} "
               f"(target >= 0.9: {'met' if ideal / sweep_wall >= 0.9 else 'NOT met'})")
    print(table(header, rows))
    print(verdict)
    path = write_report("parallel", "Parallel efficiency: joblib launcher, 2 workers",
                        "bench/parallel.py " + " ".join(sys.argv[1:]),
                        [table(header, rows), f"- {verdict}",
                         "- the sweep wall runs from the sweeper's `Batch 1: launching` log line to "
                         "its `Sweep finished` line; the command wall adds Python and Hydra start-up"])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
