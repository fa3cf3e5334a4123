"""Pruning on the Lightning example: best val_loss and trial-seconds per pruning rule, 5 seeds.

    .venv/bin/python bench/pruning_lightning.py [--seeds 0-4] [--configs off,median_w5,...] [--fresh]

The example with a budget where pruning matters: ``experiment=tune_mlp`` (20 trials, 6 initial,
2 at a time on joblib with 2 workers, async), ``trainer.max_epochs=24``, early stopping patience
6 (no shorter than the rules' rungs), model seed fixed (``seed=0``), the sweeper's seed
(``hydra.sweeper.random_state``) varied. The PruningCallback is on in every run (the example's
callbacks); ``off`` sets ``hydra.sweeper.pruner.rule=null``: curves recorded, nothing pruned.

For each configuration and seed: best val_loss (optimization_results.yaml ``best_value``),
trial-seconds (sum of ``duration_s`` in trials.jsonl), epochs trained (points in
``.curves/*.jsonl``: one per validated epoch), trials pruned, wall seconds. The table gives
the median best val_loss and its spread (min-max over seeds), trial-seconds and epochs as a
ratio to ``off`` (sums over the same seeds), and whether the target is met: median best
val_loss within off's seed spread (<= off's worst seed) and trial-seconds <= 0.5 x off.

Runs are cached per (configuration, seed) in results/pruning_lightning_runs/ (git-ignored),
the curves and the journal kept in the cache record. Writes results/pruning_lightning.md
(``--name`` for another report name, e.g. the held-out seeds).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PROJECT_PYTHON, RESULTS, ROOT, sweeper_commit, table, write_report  # noqa: E402

TRAIN = ROOT / "example_app" / "train.py"
RUNS = RESULTS / "pruning_lightning_runs"
BASE = ["trainer.max_epochs=24", "callbacks.early_stopping.patience=6", "seed=0"]
CONFIGS = {
    "off": ["hydra.sweeper.pruner.rule=null"],
    "median_w5_t4": ["hydra.sweeper.pruner.rule=median", "hydra.sweeper.pruner.warmup_steps=5",
                     "hydra.sweeper.pruner.min_trials=4"],
    "median_w8_t5": ["hydra.sweeper.pruner.rule=median", "hydra.sweeper.pruner.warmup_steps=8",
                     "hydra.sweeper.pruner.min_trials=5"],
    "sh_m4_r3_t4": ["hydra.sweeper.pruner.rule=successive_halving", "hydra.sweeper.pruner.min_steps=4",
                    "hydra.sweeper.pruner.reduction_factor=3", "hydra.sweeper.pruner.min_trials=4"],
    "sh_m6_r2_t4": ["hydra.sweeper.pruner.rule=successive_halving", "hydra.sweeper.pruner.min_steps=6",
                    "hydra.sweeper.pruner.reduction_factor=2", "hydra.sweeper.pruner.min_trials=4"],
    # extra candidates (not in the default --configs)
    "median_w10_t6": ["hydra.sweeper.pruner.rule=median", "hydra.sweeper.pruner.warmup_steps=10",
                      "hydra.sweeper.pruner.min_trials=6"],
    "sh_m8_r2_t4": ["hydra.sweeper.pruner.rule=successive_halving", "hydra.sweeper.pruner.min_steps=8",
                    "hydra.sweeper.pruner.reduction_factor=2", "hydra.sweeper.pruner.min_trials=4"],
    # the model of the curves (issue 45), its defaults: p_stop 0.05, checks from step 4, 4 completed first
    "forecast": ["hydra.sweeper.pruner.rule=forecast"],
}
DEFAULT_CONFIGS = "off,median_w5_t4,median_w8_t5,sh_m4_r3_t4,sh_m6_r2_t4"


def parse_seeds(text: str) -> list:
    seeds = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-")
            seeds += list(range(int(low), int(high) + 1))
        else:
            seeds.append(int(part))
    return seeds


def command(config: str, seed: int, sweep_dir: str) -> list:
    return [PROJECT_PYTHON, str(TRAIN), "-m", "experiment=tune_mlp", *BASE, *CONFIGS[config],
            f"hydra.sweeper.random_state={seed}", f"hydra.sweep.dir={sweep_dir}"]


def run_one(config: str, seed: int, fresh: bool) -> dict:
    cache = RUNS / f"{config}-s{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep"
        started = time.perf_counter()
        out = subprocess.run(command(config, seed, str(sweep)), cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if out.returncode != 0:
            raise SystemExit(f"{config} seed {seed} failed:\n{out.stderr[-3000:]}")
        best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())["best_value"]
        trials = [json.loads(line) for line in (sweep / "trials.jsonl").read_text().splitlines() if line.strip()]
        curves = {}
        for path in sorted((sweep / ".curves").glob("*.jsonl")):
            curves[path.stem] = [[r["step"], r["value"]] for r in map(json.loads, path.read_text().splitlines())
                                 if r]
    record = {
        "config": config, "seed": seed, "best_value": float(best), "seconds": seconds,
        "trial_seconds": sum(t.get("duration_s") or 0.0 for t in trials),
        "epochs": sum(len(c) for c in curves.values()),
        "n_pruned": sum(1 for t in trials if t.get("status") == "pruned"),
        "n_failed": sum(1 for t in trials if t.get("status") == "failed"),
        "n_trials": len(trials), "commit": sweeper_commit(),
        "trials": [{k: t.get(k) for k in ("number", "status", "value", "step", "duration_s", "params")}
                   for t in trials],
        "curves": curves,
    }
    RUNS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 (tuning) or 5-9 (held out)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"any of {', '.join(CONFIGS)}")
    parser.add_argument("--name", default="pruning_lightning", help="the report's name in results/")
    parser.add_argument("--label", default=None, help="the seeds' label in the report (tuning / held out)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    configs = args.configs.split(",")
    if "off" not in configs:
        configs.insert(0, "off")
    label = args.label or ("tuning" if set(seeds) <= set(range(5)) else "held out")
    results = {}
    for config in configs:
        results[config] = []
        for seed in seeds:
            r = run_one(config, seed, args.fresh)
            results[config].append(r)
            print(f"{config} seed {seed}: best {r['best_value']:.4f}, {r['trial_seconds']:.0f} trial-s, "
                  f"{r['epochs']} epochs, {r['n_pruned']} pruned, {r['seconds']:.0f} s wall", flush=True)
    off = results["off"]
    off_values = [r["best_value"] for r in off]
    off_worst = max(off_values)
    off_s = sum(r["trial_seconds"] for r in off)
    off_e = sum(r["epochs"] for r in off)
    per_seed_header = ["config", *[f"seed {s}" for s in seeds]]
    per_seed, rows, lines = [], [], []
    for config in configs:
        rs = results[config]
        values = [r["best_value"] for r in rs]
        median = float(np.median(values))
        s_ratio = sum(r["trial_seconds"] for r in rs) / off_s
        e_ratio = sum(r["epochs"] for r in rs) / off_e
        quality = median <= off_worst
        met = quality and s_ratio <= 0.5
        per_seed.append([config, *[f"{r['best_value']:.4f} ({r['epochs']} ep, {r['n_pruned']} pr)" for r in rs]])
        rows.append([config, median, f"{min(values):.4f}-{max(values):.4f}",
                     float(np.mean([r["trial_seconds"] for r in rs])), round(s_ratio, 3),
                     float(np.mean([r["epochs"] for r in rs])), round(e_ratio, 3),
                     float(np.mean([r["n_pruned"] for r in rs])), float(np.mean([r["seconds"] for r in rs])),
                     "-" if config == "off" else ("**met**" if met else
                                                  f"no ({'quality' if not quality else 'seconds'})")])
    header = ["config", "median best val_loss", "spread (min-max)", "trial-s/sweep", "trial-s / off",
              "epochs/sweep", "epochs / off", "pruned/sweep", "wall s/sweep", "target"]
    settings = "\n".join(f"- `{c}`: `{' '.join(CONFIGS[c])}`" for c in configs)
    print(table(per_seed_header, per_seed))
    print(table(header, rows))
    path = write_report(args.name, f"Pruning on the Lightning example, seeds {args.seeds} ({label})",
                        "bench/pruning_lightning.py " + " ".join(sys.argv[1:]),
                        [f"Every run: `example_app/train.py -m experiment=tune_mlp {' '.join(BASE)}` "
                         "plus the configuration's overrides and `hydra.sweeper.random_state=SEED`.\n\n" + settings,
                         f"Per seed ({label}): best val_loss (epochs trained, trials pruned)\n\n"
                         + table(per_seed_header, per_seed),
                         f"Summary ({label} seeds {args.seeds}); ratios are sums over the seeds against `off`; "
                         f"target: median within off's spread (<= {off_worst:.4f}) and trial-s / off <= 0.5\n\n"
                         + table(header, rows)])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
