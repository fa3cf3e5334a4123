"""Conditional parameters: this sweeper with `when` against the same space written
unconditionally and against Optuna's TPE, which handles conditionals natively (define-by-run).

    .venv/bin/python bench/conditional.py [--seeds 10] [--first-seed 100]

The problem (held out: nothing was tuned on it) is a training run's optimiser choice:
``optimizer: choice(adam, sgd, rmsprop)``, ``lr: tag(log, interval(1e-4, 1e-1))``, and per
optimiser a parameter that only it reads: SGD's ``momentum: interval(0.5, 0.99)`` and RMSprop's
``alpha: interval(0.8, 0.999)``. SGD at lr = 0.03, momentum 0.93 is best (0); Adam's best is 0.15
(lr = 0.003, no extra parameter); RMSprop's 0.3. 40 trials.

Methods, every one in-process (the proposer and the space exactly as the sweeper's loop wires
them, without Hydra's ~0.4 s a trial):

- skopt_gp: ``momentum`` and ``alpha`` written with ``when`` (``hydra.sweeper.params``);
- skopt_gp_flat: the same space with both written unconditionally (the trial ignores them
  where they do not apply, as an app would);
- optuna_tpe: Optuna 5's ``TPESampler(seed)``, asking momentum and alpha only in their branch
  (in bench/.venv-optuna5, created by sample_efficiency.py);
- random: this sweeper's random search over the conditional space.

Prints the median regret [q25, q75] at the budget and how many trials of each run went to the
best branch (sgd); writes results/conditional.md.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
BUDGET = 40
OPTIMIZERS = ("adam", "sgd", "rmsprop")
SPACE = {
    "optimizer": "choice(adam, sgd, rmsprop)",
    "lr": "tag(log, interval(1e-4, 1e-1))",
    "momentum": {"sweep": "interval(0.5, 0.99)", "when": "optimizer == 'sgd'"},
    "alpha": {"sweep": "interval(0.8, 0.999)", "when": "optimizer == 'rmsprop'"},
}


def loss(params: Dict[str, Any]) -> float:
    """The problem; reads only the parameters that apply to the chosen optimiser."""
    u = math.log10(params["lr"])
    if params["optimizer"] == "sgd":
        return (u + 1.5) ** 2 + 20 * (params["momentum"] - 0.93) ** 2
    if params["optimizer"] == "adam":
        return 0.15 + (u + 2.5) ** 2
    return 0.3 + (u + 2.8) ** 2 + 10 * (params["alpha"] - 0.95) ** 2


def run_skopt(seed: int, conditional: bool, random: bool = False) -> Dict[str, Any]:
    from hydra_skopt_sweeper.problem.search_space import build_search_space
    from hydra_skopt_sweeper.search.proposer import BatchProposer

    params = {k: (v if conditional or isinstance(v, str) else v["sweep"]) for k, v in SPACE.items()}
    space = build_search_space(params, [])
    space.check_conditions()
    n_initial = BUDGET if random else 10
    proposer = BatchProposer(space.dimensions(), n_initial_points=n_initial, random_state=seed, n_calls=BUDGET,
                             initial_point_generator="random" if random else "sobol",
                             canonical=space.canonical if space.conditional else None)
    values: List[float] = []
    branches: List[str] = []
    while len(values) < BUDGET:
        (point,) = proposer.ask(1)
        trial = space.to_params(point)
        values.append(loss(trial))
        branches.append(trial["optimizer"])
        proposer.tell([point], [values[-1]])
    return {"values": values, "branches": branches}


def run_tpe(seed: int) -> Dict[str, Any]:
    """Optuna's TPE, define-by-run: momentum and alpha asked only in their branch."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        params = {"optimizer": trial.suggest_categorical("optimizer", list(OPTIMIZERS)),
                  "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True)}
        if params["optimizer"] == "sgd":
            params["momentum"] = trial.suggest_float("momentum", 0.5, 0.99)
        elif params["optimizer"] == "rmsprop":
            params["alpha"] = trial.suggest_float("alpha", 0.8, 0.999)
        return loss(params)

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=BUDGET)
    return {"values": [t.value for t in study.trials], "branches": [t.params["optimizer"] for t in study.trials]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--run-tpe", type=int, metavar="SEED", help=argparse.SUPPRESS)  # inside the Optuna venv
    args = parser.parse_args()
    if args.run_tpe is not None:
        print(json.dumps(run_tpe(args.run_tpe)))
        return
    from common import table, write_report
    from sample_efficiency import ensure_optuna5_venv

    optuna_python = ensure_optuna5_venv()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs: Dict[str, List[Dict[str, Any]]] = {"skopt_gp": [], "skopt_gp_flat": [], "optuna_tpe": [], "random": []}
    for seed in seeds:
        runs["skopt_gp"].append(run_skopt(seed, conditional=True))
        runs["skopt_gp_flat"].append(run_skopt(seed, conditional=False))
        runs["random"].append(run_skopt(seed, conditional=True, random=True))
        done = subprocess.run([optuna_python, __file__, "--run-tpe", str(seed)], capture_output=True, text=True, check=True)
        runs["optuna_tpe"].append(json.loads(done.stdout))
    rows = []
    for method, records in runs.items():
        regrets = np.array([min(r["values"]) for r in records])
        q25, q50, q75 = np.percentile(regrets, [25, 50, 75])
        sgd = np.median([r["branches"].count("sgd") for r in records])
        rows.append([method, q50, q25, q75, f"{sgd:g} of {BUDGET}"])
    header = ["method", "median regret", "q25", "q75", "trials on sgd (median)"]
    text = table(header, rows)
    print(text)
    seeds_text = f"seeds {seeds[0]}-{seeds[-1]}"
    path = write_report("conditional", "Conditional parameters: skopt_gp with when, flat, Optuna TPE",
                        "bench/conditional.py " + " ".join(sys.argv[1:]),
                        [f"A held-out problem (never tuned on), {BUDGET} trials, {seeds_text}.\n\n" + text])
    print(f"report: {path}")


if __name__ == "__main__":
    main()
