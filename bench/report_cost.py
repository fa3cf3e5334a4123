"""What one redraw of a running sweep costs the drawing process: the pictures, the importance and
the report page, each timed, and the page's size.

    .venv/bin/python bench/report_cost.py [--sizes 50,200] [--repeats 3]

On hand-made sweep dirs (a journal and a search space, as the loop writes them) of 10
parameters (8 reals, an int, a categorical) with one objective and with two, at each size:
``load_sweep``, ``importance.with_model`` (the model refitted and its importance), ``draw_plots``
and ``write_page`` timed (wall) in this process,
in the order the drawing process runs them, and the CPU of the whole redraw (the wall time
grows with the machine's load, the CPU much less); medians of ``--repeats`` runs, the imports
paid before timing, as the drawing process pays them once. Writes results/report_cost.md.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, table, write_report  # noqa: E402

sys.path.insert(0, str(ROOT))

N_REALS = 8


def space() -> dict:
    real = {"kind": "real", "low": -2.0, "high": 2.0, "log": False}
    params = {f"x{i}": dict(real, override_key=f"model.x{i}") for i in range(N_REALS)}
    params["layers"] = {"kind": "int", "override_key": "model.layers", "low": 1, "high": 6, "log": False}
    params["act"] = {"kind": "categorical", "override_key": "model.act", "choices": ["relu", "tanh", "gelu"],
                     "labels": ["relu", "tanh", "gelu"]}
    return params


def make_sweep(sweep_dir: Path, n_trials: int, objectives: int, seed: int = 0) -> Path:
    """A sweep dir of ``n_trials`` trials (one in 12 failed, one in 8 pruned), batches of 4."""
    rng = random.Random(seed)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    described = {"params": space(), "maximize": False if objectives == 1 else [False] * objectives,
                 "n_calls": n_trials}
    (sweep_dir / "search_space.json").write_text(json.dumps(described))
    lines = []
    for number in range(n_trials):
        params = {f"x{i}": rng.uniform(-2, 2) for i in range(N_REALS)}
        params.update(layers=rng.randint(1, 6), act=rng.choice(["relu", "tanh", "gelu"]))
        loss = sum((params[f"x{i}"] - 0.3 * i / N_REALS) ** 2 * (i + 1) for i in range(N_REALS))
        loss += 0.2 * abs(params["layers"] - 3) + (0.5 if params["act"] == "relu" else 0.0)
        status = "failed" if number % 12 == 11 else "pruned" if number % 8 == 7 else "ok"
        record = {"number": number, "params": params, "value": None if status == "failed" else loss,
                  "status": status, "error": "RuntimeError: diverged" if status == "failed" else None,
                  "duration_s": rng.uniform(20, 90), "job_dir": str(sweep_dir / str(number)),
                  "batch": number // 4 + 1}
        if objectives > 1 and status != "failed":
            record["value"] = None
            record["values"] = [loss] + [rng.uniform(0, 1) + 1.0 / (1.0 + loss) for _ in range(objectives - 1)]
        lines.append(json.dumps(record))
    (sweep_dir / "trials.jsonl").write_text("\n".join(lines) + "\n")
    return sweep_dir


def measure(sweep_dir: Path, repeats: int) -> dict:
    from hydra_skopt_sweeper.insight.importance import with_model
    from hydra_skopt_sweeper.insight.pictures import draw_plots
    from hydra_skopt_sweeper.insight.report_page import write_page
    from hydra_skopt_sweeper.insight.sweep_record import load_sweep

    times = {"load": [], "importance": [], "draw": [], "page": []}
    cpu = []
    page = None
    for _ in range(repeats):
        cpu_start = time.process_time()
        start = time.perf_counter()
        record = load_sweep(sweep_dir)
        times["load"].append(time.perf_counter() - start)
        start = time.perf_counter()
        surface, importance = with_model(record)  # as the drawing process: one fit for all
        times["importance"].append(time.perf_counter() - start)
        start = time.perf_counter()
        draw_plots(record, importance=importance, surface=surface)
        times["draw"].append(time.perf_counter() - start)
        start = time.perf_counter()
        page = write_page(record, importance=importance, live=True)
        times["page"].append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    medians = {k: statistics.median(v) for k, v in times.items()}
    medians["total"] = sum(medians.values())
    medians["cpu"] = statistics.median(cpu)
    medians["bytes"] = page.stat().st_size
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200", help="trials per sweep dir (50,200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell, the median shown (3)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    warnings.simplefilter("ignore")

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        warm = make_sweep(Path(folder) / "warm", 20, 1)
        measure(warm, 1)  # imports (skopt, scikit-learn, matplotlib) paid here, as the process pays them once
        for objectives in (1, 2):
            for n in sizes:
                sweep_dir = make_sweep(Path(folder) / f"o{objectives}-n{n}", n, objectives)
                m = measure(sweep_dir, args.repeats)
                rows.append([objectives, n, round(m["load"], 3), round(m["importance"], 3), round(m["draw"], 2),
                             round(m["page"], 3), round(m["total"], 2), round(m["cpu"], 2), f"{m['bytes'] / 1024:.0f} KiB"])
                print(f"objectives={objectives} trials={n}: {m['total']:.2f} s", flush=True)
    header = ["objectives", "trials", "load_sweep s", "model + importance s", "draw_plots s", "write_page s",
              "one redraw s", "its CPU s", "report.html"]
    text = table(header, rows)
    print(text)
    path = write_report("report_cost", "One redraw's cost: pictures, importance, report page",
                        "bench/report_cost.py " + " ".join(sys.argv[1:]),
                        [f"10 parameters; wall seconds, and the CPU of the whole redraw; medians of "
                         f"{args.repeats} runs.", text])
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
