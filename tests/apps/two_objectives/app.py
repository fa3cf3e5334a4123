"""A Hydra app with two objectives returned as a mapping, as a Lightning app returns its
``callback_metrics``: ``a`` to minimise and ``b`` to maximise pull x apart. ``wrong`` makes the
trials with x above ``wrong_above`` return the wrong shape instead."""
import os
import time

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


def objectives(x: float, y: float) -> dict:
    return {"a": (x - 1.0) ** 2 + y**2, "b": 10.0 - (x + 1.0) ** 2 - (y - 0.5) ** 2}


@hydra.main(version_base=None, config_path=".", config_name="config")
def main(cfg: DictConfig):
    started = time.time()
    hydra_cfg = HydraConfig.get()
    # odd job numbers take twice as long: an async sweep refills one slot while the other runs
    time.sleep(cfg.sleep * (1 + hydra_cfg.job.num % 2))
    job_dir = hydra_cfg.runtime.output_dir
    # one line per time this job ran, with when it ran and in which process
    with open(os.path.join(job_dir, "runs.txt"), "a") as handle:
        handle.write(f"{started} {time.time()} {os.getpid()}\n")
    metrics = {**objectives(cfg.x, cfg.y), "epoch": 3}
    if cfg.wrong is None or cfg.x <= cfg.wrong_above:
        return metrics
    if cfg.wrong == "missing_b":
        return {"a": metrics["a"], "epoch": 3}
    if cfg.wrong == "three_values":
        return metrics["a"], metrics["b"], 0.0
    raise ValueError(f"unknown wrong={cfg.wrong}")


if __name__ == "__main__":
    main()
