"""The Lightning example: best validation loss after 20 trials, this sweeper vs random search vs
the Optuna sweeper, 3 seeds.

    .venv/bin/python bench/lightning.py [--seeds 3] [--methods skopt_gp,random,optuna_tpe]

Prints each method's best val_loss per seed, their median (the target's figure), mean and worst.

- skopt_gp: ``example_app/train.py -m experiment=tune_mlp hydra.sweeper.random_state=SEED``
  (the preset as a user runs it: 20 trials, 6 initial, batches of 2 on the joblib launcher with
  2 workers, the sweeper's defaults (EI), constraint ``hidden_size % 32 == 0``);
- skopt_gp_batch: the same with ``hydra.sweeper.scheduling=batch`` (skopt_gp is the default,
  async: a worker gets its next trial as soon as its trial returns); the table's s/sweep
  compares their wall times;
- random: the same preset with ``n_initial_points=20 initial_point_generator=random``;
- optuna_tpe: hydra-optuna-sweeper (TPE) from bench/.venv-optuna (torch, pytorch-lightning,
  scikit-learn and tensorboard installed there on first use), the same space on the command
  line (``model.hidden_size=range(32, 256, 32)``: Optuna's range includes the end, so that is
  the preset's constraint), 20 trials, ``n_jobs=2`` on the joblib launcher with 2 workers.

Every trial trains with the same model seed (``seed=0``); the sweeper's seed varies. Reads each
sweep's ``optimization_results.yaml`` (``best_value``; both sweepers write it). Writes
results/lightning.md.
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
from common import BENCH, PROJECT_PYTHON, RESULTS, ROOT, table, write_report  # noqa: E402

OPTUNA_PYTHON = BENCH / ".venv-optuna" / "bin" / "python"
TRAIN = ROOT / "example_app" / "train.py"
SPACE = {
    "model.lr": "tag(log, interval(1e-4, 1e-1))",
    "model.weight_decay": "tag(log, interval(1e-6, 1e-2))",
    "model.hidden_size": "range(32, 256, 32)",
    "model.n_layers": "range(1, 3)",  # Optuna's range includes the end: 1..3 as int(interval(1, 3))
    "model.dropout": "interval(0.0, 0.5)",
    "data.batch_size": "choice(32, 64, 128)",
}
RUNS = RESULTS / "lightning_runs"


def ensure_optuna_torch() -> str:
    from sample_efficiency import ensure_optuna_venv

    python = ensure_optuna_venv()
    check = subprocess.run([python, "-c", "import torch, pytorch_lightning, sklearn, hydra_plugins.hydra_joblib_launcher"],
                           capture_output=True)
    if check.returncode != 0:
        print("installing torch (CPU), pytorch-lightning, scikit-learn, tensorboard, the joblib launcher "
              "into bench/.venv-optuna ...", flush=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0", "pytorch-lightning",
                        "scikit-learn", "tensorboard", "hydra-joblib-launcher"], check=True)
    return python


def command(method: str, seed: int, sweep_dir: str) -> list:
    if method == "optuna_tpe":
        return [ensure_optuna_torch(), str(TRAIN), "-m", "hydra/sweeper=optuna", "hydra/launcher=joblib",
                "hydra.launcher.n_jobs=2", "hydra.sweeper.n_trials=20", "hydra.sweeper.n_jobs=2",
                f"hydra.sweeper.sampler.seed={seed}", "hydra.sweeper.direction=minimize",
                *[f"{k}={v}" for k, v in SPACE.items()], f"hydra.sweep.dir={sweep_dir}"]
    base = [PROJECT_PYTHON, str(TRAIN), "-m", "experiment=tune_mlp", f"hydra.sweeper.random_state={seed}",
            f"hydra.sweep.dir={sweep_dir}"]
    if method == "random":
        base += ["hydra.sweeper.n_initial_points=20", "hydra.sweeper.initial_point_generator=random"]
    if method == "skopt_gp_batch":
        base += ["hydra.sweeper.scheduling=batch"]
    return base


def run_one(method: str, seed: int, fresh: bool) -> dict:
    cache = RUNS / f"{method}-s{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        out = subprocess.run(command(method, seed, f"{tmp}/sweep"), cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if out.returncode != 0:
            raise SystemExit(f"{method} seed {seed} failed:\n{out.stderr[-3000:]}")
        best = yaml.safe_load(Path(f"{tmp}/sweep/optimization_results.yaml").read_text())["best_value"]
        journal = Path(f"{tmp}/sweep/trials.jsonl")
        trial_seconds = (sum(json.loads(line).get("duration_s") or 0.0 for line in journal.read_text().splitlines())
                         if journal.is_file() else None)
    record = {"method": method, "seed": seed, "best_value": float(best), "seconds": seconds,
              "trial_seconds": trial_seconds}
    RUNS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record))
    return record


def _mean(values: list) -> object:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default="skopt_gp,random,optuna_tpe")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    args = parser.parse_args()
    methods = args.methods.split(",")
    rows, medians = [], {}
    for method in methods:
        records = [run_one(method, seed, args.fresh) for seed in range(args.seeds)]
        values = [r["best_value"] for r in records]
        print(f"{method}: {' '.join(f'{v:.4f}' for v in values)}", flush=True)
        medians[method] = float(np.median(values))
        rows.append([method, " ".join(f"{v:.4f}" for v in values), float(np.median(values)),
                     float(np.mean(values)), float(np.max(values)),
                     float(np.mean([r["seconds"] for r in records])),
                     _mean([r.get("trial_seconds") for r in records])])
    header = ["method", "best val_loss per seed", "median", "mean", "worst", "s/sweep",
              "trials' own s/sweep"]
    lines = [f"skopt_gp / {m} median best val_loss = {medians['skopt_gp'] / medians[m]:.3f}"
             for m in methods if m != "skopt_gp" and "skopt_gp" in medians]
    print(table(header, rows))
    for line in lines:
        print(line)
    path = write_report("lightning", "The Lightning example: best validation loss after 20 trials",
                        "bench/lightning.py " + " ".join(sys.argv[1:]),
                        [table(header, rows), "\n".join(f"- {l}" for l in lines)])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
