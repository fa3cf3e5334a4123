"""The benchmark app: a Hydra app returning a test function's value (see bench/problems.py).

It owns one trial: the value (with the noisy problems' reproducible noise, ``noise_seed``)
and the trace line ``$BENCH_TRACE`` gets (value and params).

    python bench/app/objective.py problem=branin x1=3.14 x2=2.27
    python bench/app/objective.py -m hydra/sweeper=skopt_gp problem=branin 'x1=interval(-5.0, 10.0)' ...

It imports nothing but Hydra and numpy, so it runs in the project venv and in the Optuna
sweeper's venv (bench/.venv-optuna) alike.
"""
import json
import os
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from problems import PROBLEMS  # noqa: E402


@hydra.main(version_base=None, config_path=".", config_name="config")
def main(cfg: DictConfig) -> float:
    problem = PROBLEMS[cfg.problem]
    params = problem.canonical(OmegaConf.to_container(cfg, resolve=True))
    value = problem.observe(params, cfg.noise_seed)
    time.sleep(cfg.sleep)  # stands for a training run (the parallel-efficiency benchmark)
    trace = os.environ.get("BENCH_TRACE")
    if trace:  # every trial's value and params, in launch order: the curves and the noisy scoring
        with open(trace, "a") as handle:
            handle.write(json.dumps({"value": value, "params": params}) + "\n")
    return value


if __name__ == "__main__":
    main()
