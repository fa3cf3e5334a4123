"""The benchmark app: a Hydra app returning a test function's value (see bench/problems.py).

It owns one trial: the value (with the noisy problems' reproducible noise, ``noise_seed``),
how long it sleeps, and the trace line ``$BENCH_TRACE`` gets (value, params, and the trial's
wall-clock start and end, ``time.time()`` at the task function's entry and after its sleep).

How long a trial sleeps: ``sleep`` seconds; or, where ``sleep_min`` and ``sleep_max`` are set
(null by default), ``sleep_min + (sleep_max - sleep_min) * f`` with f in [0, 1] a function of
the params (:func:`duration_fraction`): trials of different lengths (bench/busy.py). Setting
``sleep_f`` as well overrides f (a fixed list of durations for Hydra's basic sweeper).

    python bench/app/objective.py problem=branin x1=3.14 x2=2.27
    python bench/app/objective.py -m hydra/sweeper=skopt_gp problem=branin 'x1=interval(-5.0, 10.0)' ...

It imports nothing but Hydra and numpy, so it runs in the project venv and in the Optuna
sweeper's venv (bench/.venv-optuna) alike.
"""
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from problems import PROBLEMS  # noqa: E402


def duration_fraction(problem, params: dict) -> float:
    """f in [0, 1]: half the problem's first parameter, scaled to [0, 1] by its bounds (so it
    grows with that coordinate), half a reproducible spread from a hash of the params."""
    first = problem.params[0]
    u = 0.5
    if first.kind != "categorical":
        values = first.grid() if first.kind == "grid" else (first.low, first.high)
        low, high = min(values), max(values)
        u = (float(params[first.name]) - low) / (high - low) if high > low else 0.5
    key = json.dumps(list(params.values())).encode()
    h = int.from_bytes(hashlib.sha256(key).digest()[:8], "little") / 2.0**64
    return 0.5 * min(max(u, 0.0), 1.0) + 0.5 * h


def sleep_seconds(cfg: DictConfig, problem, params: dict) -> float:
    if cfg.get("sleep_min") is None or cfg.get("sleep_max") is None:
        return float(cfg.sleep)
    f = cfg.get("sleep_f")
    f = duration_fraction(problem, params) if f is None else float(f)
    return float(cfg.sleep_min) + (float(cfg.sleep_max) - float(cfg.sleep_min)) * f


@hydra.main(version_base=None, config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    start = time.time()
    problem = PROBLEMS[cfg.problem]
    params = problem.canonical(OmegaConf.to_container(cfg, resolve=True))
    value = problem.observe(params, cfg.noise_seed)
    # stands for a training run (the parallel-efficiency and busy-fraction benchmarks)
    time.sleep(sleep_seconds(cfg, problem, params))
    end = time.time()
    trace = os.environ.get("BENCH_TRACE")
    if trace:  # every trial's value and params as it ends (launch order on the basic launcher)
        with open(trace, "a") as handle:
            handle.write(json.dumps({"value": value, "params": params, "start": start, "end": end}) + "\n")
    return value


if __name__ == "__main__":
    main()
