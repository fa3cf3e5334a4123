"""Pruning rules on synthetic learning curves, in-process: steps saved, how often the best
configuration is stopped, and what the GP should be told about a pruned trial.

    .venv/bin/python bench/pruning_curves.py [--part rules,tell] [--seeds 200] [--workers 2,4]
        [--tell-rules median_w5_t4,...] [--tell-seeds 100-119] [--fresh]

The problem: a configuration x in [0,1]^2 has a final loss f(x) = 0.05 + 0.05 log(1 + Branin(x)
- Branin*) (Branin on [-5,10]x[0,15], so f is in [0.05, 0.34], like the example's val_loss),
its middle basin made 0.01 deeper (the global optimum, 0.04), and a learning curve over
T = 24 steps,

    value_t = f(x) + a(x) (exp(-(t + 1) / tau(x)) - exp(-T / tau(x))) / (1 - exp(-T / tau(x)))
              + N(0, 0.004^2),   t = 0 .. 23,

which starts near f + a and ends at f. a(x) in [0.05, 0.8] and tau(x) in [1, 12] steps are
smooth waves over the box, placed so that the deepest basin is a slow starter (tau ~ 10.7,
a ~ 0.54) and the two other Branin basins are fast (tau ~ 2.5): curves cross, and the
configuration that ends best looks poor for the first ~8 steps: the hard case for a pruning
rule. A trial's result is its best value so far (as the Lightning example returns its best
epoch). Regret = the true final value f of the chosen trial - min f (a 1000 x 1000 grid).

Workers run asynchronously: each trial takes one time unit per step; at each unit every
running trial reports its step (in a random order), ``should_prune`` from
hydra_skopt_sweeper.trial.pruning decides on the curves so far, and a worker whose trial stopped or
finished starts the next one at once.

Part ``rules``: trials drawn uniformly at random, 20 per run, 2 and 4 workers, ``--seeds``
runs per rule: the share of steps saved (against every trial run to T), and the chance that
the trial with the best true final value among the run's 20 configurations was stopped; also
the regret of the best trial among those that completed.

Part ``tell``: the proposer (``BatchProposer``, 6 initial Sobol points, EI, ``n_calls`` = the
run's trials), asked one point whenever a worker is free (2 workers), 30 trials, seeds
100-119; a pruned trial is told its best value so far (what the sweeper does today:
``best``), the worst loss told so far (``worst``, the failure penalty), or nothing
(``exclude``: never proposed again). Score: the true final regret of the best completed trial.
Baselines without pruning: 30 trials (``off``) and as many full trials as fit in the pruned
runs' median steps (``off_same_steps``).

Runs of part ``tell`` are cached in results/pruning_curves_runs/ (git-ignored). Writes
results/pruning_curves.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, table, write_report  # noqa: E402
from curve_problems import crossing_amplitude as amplitude  # noqa: E402
from curve_problems import crossing_final as final_loss  # noqa: E402
from curve_problems import crossing_tau as tau  # noqa: E402

sys.path.insert(0, str(ROOT))
from hydra_skopt_sweeper.trial.pruning import Pruner, should_prune  # noqa: E402

T = 24
NOISE = 0.004
RUNS = RESULTS / "pruning_curves_runs"
RULES = {
    "off": None,
    "median_w5_t4": Pruner("median", warmup_steps=5, min_trials=4),
    "median_w8_t5": Pruner("median", warmup_steps=8, min_trials=5),
    "median_w10_t6": Pruner("median", warmup_steps=10, min_trials=6),
    "sh_m3_r3_t4": Pruner("successive_halving", min_steps=3, reduction_factor=3, min_trials=4),
    "sh_m4_r3_t4": Pruner("successive_halving", min_steps=4, reduction_factor=3, min_trials=4),
    "sh_m6_r2_t4": Pruner("successive_halving", min_steps=6, reduction_factor=2, min_trials=4),
    "sh_m8_r2_t4": Pruner("successive_halving", min_steps=8, reduction_factor=2, min_trials=4),
}


def clean_curve(x: np.ndarray) -> np.ndarray:
    """The noise-free curve: f(x) + a(x) (exp(-(t+1)/tau) - exp(-T/tau)) / (1 - exp(-T/tau)), which
    starts near f + a and ends at f exactly."""
    t = np.arange(T) + 1.0
    k = tau(x)
    floor = np.exp(-T / k)
    return final_loss(x) + amplitude(x) * (np.exp(-t / k) - floor) / (1 - floor)


def _grid_min() -> float:
    g = np.linspace(0, 1, 1000)
    xx = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1)
    return float(final_loss(xx).min())


OPTIMUM = _grid_min()


def simulate(pruner: Optional[Pruner], n_trials: int, workers: int, rng: np.random.RandomState,
             propose: Callable[[int], np.ndarray], finished: Callable[[int, np.ndarray, dict], None]) -> List[dict]:
    """Run ``n_trials`` trials on ``workers`` async workers; ``propose(number)`` gives a trial's
    x when a worker is free, ``finished(number, x, trial)`` hears each trial as it stops."""
    curves: Dict[int, List[Tuple[int, float]]] = {}
    trials: List[dict] = []
    running: Dict[int, dict] = {}
    launched = 0
    while launched < n_trials or running:
        while len(running) < workers and launched < n_trials:
            x = propose(launched)
            clean = clean_curve(x)
            trial = {"number": launched, "x": x, "clean": clean, "noisy": clean + rng.normal(0, NOISE, T),
                     "steps": 0, "pruned": False}
            running[launched] = trial
            curves[launched] = []
            trials.append(trial)
            launched += 1
        order = list(running)
        rng.shuffle(order)
        for number in order:
            trial = running[number]
            step = trial["steps"]
            curves[number].append((step, float(trial["noisy"][step])))
            trial["steps"] = step + 1
            stop = pruner is not None and step < T - 1 and should_prune(pruner, curves, number, False)
            if stop or step == T - 1:
                trial["pruned"] = bool(stop)
                trial["value"] = float(np.min(trial["noisy"][: step + 1]))
                trial["final"] = float(trial["clean"][-1])
                del running[number]
                finished(number, trial["x"], trial)
    return trials


# -- part rules: random proposals -----------------------------------------------------------------


def rules_part(rule_names: List[str], workers_list: List[int], n_seeds: int, n_trials: int = 20) -> Tuple[str, list]:
    header = ["rule", "workers", "steps saved", "best config stopped", "regret of best completed (median)",
              "trials pruned / run"]
    rows = []
    for workers in workers_list:
        for name in rule_names:
            saved, stopped, regrets, pruned = [], [], [], []
            for seed in range(n_seeds):
                rng = np.random.RandomState(seed)
                xs = rng.uniform(size=(n_trials, 2))
                trials = simulate(RULES[name], n_trials, workers, np.random.RandomState(10_000 + seed),
                                  lambda n: xs[n], lambda *a: None)
                saved.append(1 - sum(t["steps"] for t in trials) / (n_trials * T))
                best = min(trials, key=lambda t: t["final"])
                stopped.append(best["pruned"])
                done = [t for t in trials if not t["pruned"]]
                chosen = min(done, key=lambda t: t["value"])
                regrets.append(chosen["final"] - OPTIMUM)
                pruned.append(sum(t["pruned"] for t in trials))
            rows.append([name, workers, f"{np.mean(saved):.1%}", f"{np.mean(stopped):.1%}",
                         float(np.median(regrets)), float(np.mean(pruned))])
            print(f"rules: {name} workers {workers}: saved {np.mean(saved):.1%}, best stopped {np.mean(stopped):.1%}",
                  flush=True)
    return table(header, rows), rows


# -- part tell: the proposer ----------------------------------------------------------------------


def run_tell(rule: str, variant: str, seed: int, n_trials: int, workers: int, fresh: bool) -> dict:
    cache = RUNS / f"{rule}-{variant}-n{n_trials}-w{workers}-s{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    from skopt.space import Real

    from hydra_skopt_sweeper.search.proposer import BatchProposer

    proposer = BatchProposer([Real(0.0, 1.0), Real(0.0, 1.0)], n_initial_points=6, random_state=seed,
                             n_calls=n_trials)
    told: List[float] = []
    points: Dict[int, list] = {}
    asks = [0.0]

    def propose(number: int) -> np.ndarray:
        started = time.perf_counter()
        point = proposer.ask(1)[0]
        asks[0] += time.perf_counter() - started
        points[number] = point
        return np.array(point, dtype=float)

    def finished(number: int, x: np.ndarray, trial: dict) -> None:
        point = points[number]
        if not trial["pruned"] or variant == "best":
            value = trial["value"]
        elif variant == "worst":
            value = max(told + [trial["value"]])
        elif variant == "exclude":
            proposer.exclude([point])
            return
        else:
            raise ValueError(variant)
        proposer.tell([point], [value])
        told.append(value)

    pruner = None if variant.startswith("off") else RULES[rule]
    trials = simulate(pruner, n_trials, workers, np.random.RandomState(20_000 + seed), propose, finished)
    done = [t for t in trials if not t["pruned"]]
    chosen = min(done, key=lambda t: t["value"])
    record = {"rule": rule, "variant": variant, "seed": seed, "n_trials": n_trials,
              "regret": chosen["final"] - OPTIMUM, "steps": sum(t["steps"] for t in trials),
              "n_pruned": sum(t["pruned"] for t in trials), "ask_s": asks[0]}
    RUNS.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(record))
    return record


def tell_part(rule_names: List[str], seeds: List[int], n_trials: int, workers: int, fresh: bool) -> Tuple[str, dict]:
    header = ["rule", "told for a pruned trial", "trials", "median regret", "q25", "q75", "median steps",
              "pruned / run", "wins (lowest regret of the 3, per seed)"]
    rows, medians = [], {}
    off = [run_tell("none", "off", s, n_trials, workers, fresh) for s in seeds]
    rows.append(["none", "off (no pruning)", n_trials, *_stats([r["regret"] for r in off]),
                 float(np.median([r["steps"] for r in off])), 0.0, ""])
    for rule in rule_names:
        results = {v: [run_tell(rule, v, s, n_trials, workers, fresh) for s in seeds] for v in ("best", "worst", "exclude")}
        regrets = np.array([[r["regret"] for r in results[v]] for v in ("best", "worst", "exclude")])
        wins = np.bincount(np.argmin(regrets, axis=0), minlength=3)
        for i, variant in enumerate(("best", "worst", "exclude")):
            rs = results[variant]
            med = float(np.median([r["regret"] for r in rs]))
            medians[(rule, variant)] = med
            rows.append([rule, variant, n_trials, *_stats([r["regret"] for r in rs]),
                         float(np.median([r["steps"] for r in rs])), float(np.mean([r["n_pruned"] for r in rs])),
                         int(wins[i])])
            print(f"tell: {rule} {variant}: median regret {med:.4g}", flush=True)
        steps = np.median([r["steps"] for v in results for r in results[v]])
        same = max(6, int(round(steps / T)))
        off_same = [run_tell("none", "off_same_steps", s, same, workers, fresh) for s in seeds]
        rows.append([rule, f"off, same steps ({same} full trials)", same, *_stats([r["regret"] for r in off_same]),
                     float(np.median([r["steps"] for r in off_same])), 0.0, ""])
    return table(header, rows), medians


def _stats(values: List[float]) -> list:
    return [float(np.median(values)), float(np.quantile(values, 0.25)), float(np.quantile(values, 0.75))]


def parse_seeds(text: str) -> List[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="rules,tell")
    parser.add_argument("--seeds", type=int, default=200, help="runs per rule in part rules")
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--rules", default=",".join(RULES))
    parser.add_argument("--tell-rules", default="median_w5_t4")
    parser.add_argument("--tell-seeds", default="100-119")
    parser.add_argument("--tell-trials", type=int, default=30)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    parts = args.part.split(",")
    sections = [f"Problem: Branin-shaped final loss f in [0.04, 0.34] (its deepest basin a slow starter), curves "
                f"of {T} steps, a(x) in [0.05, 0.8], tau(x) in [1, 12] steps, noise sd {NOISE}; min f = "
                f"{OPTIMUM:.5f}. See the module docstring."]
    started = time.perf_counter()
    if "rules" in parts:
        text, _ = rules_part(args.rules.split(","), [int(w) for w in args.workers.split(",")], args.seeds)
        print(text)
        sections.append(f"Part rules: random proposals, 20 trials per run, {args.seeds} runs per row. "
                        "`best config stopped` = share of runs where the trial with the best true final value "
                        "among the run's configurations was pruned.\n\n" + text)
    if "tell" in parts:
        text, medians = tell_part(args.tell_rules.split(","), parse_seeds(args.tell_seeds), args.tell_trials, 2,
                                  args.fresh)
        print(text)
        lines = []
        for rule in args.tell_rules.split(","):
            best = min(("best", "worst", "exclude"), key=lambda v: medians[(rule, v)])
            lines.append(f"- {rule}: lowest median regret when a pruned trial is told `{best}`")
        print("\n".join(lines))
        sections.append(f"Part tell: BatchProposer, 2 async workers, {args.tell_trials} trials, seeds "
                        f"{args.tell_seeds}; regret = true final value of the best completed trial - optimum.\n\n"
                        + text + "\n\n" + "\n".join(lines))
    sections.append(f"Took {time.perf_counter() - started:.0f} s.")
    path = write_report("pruning_curves", "Pruning rules on synthetic learning curves",
                        "bench/pruning_curves.py " + " ".join(sys.argv[1:]), sections)
    print(f"report: {path}")


if __name__ == "__main__":
    main()
