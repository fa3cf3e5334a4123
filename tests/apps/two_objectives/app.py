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
    number = hydra_cfg.job.num
    sweep_dir = hydra_cfg.sweep.dir
    with open(os.path.join(sweep_dir, f"started-{number}"), "w") as handle:
        handle.write(repr(started))
    # odd job numbers take twice as long: an async sweep refills one slot while the other runs
    time.sleep(cfg.sleep * (1 + number % 2))
    if number == cfg.hold_job:
        # held until two later jobs have started since it did, however slow the machine: under
        # async scheduling the other slot is refilled meanwhile, the second of them after the
        # first ended; under batch scheduling none starts before this one ends, and it gives
        # up after hold_s
        deadline = time.time() + cfg.hold_s
        while time.time() < deadline and len(_started_since(sweep_dir, number, started)) < 2:
            time.sleep(0.02)
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


def _started_since(sweep_dir: str, number: int, since: float) -> list:
    """The jobs numbered above ``number`` that started after ``since``."""
    later = []
    for name in os.listdir(sweep_dir):
        if name.startswith("started-") and int(name.split("-")[1]) > number:
            try:
                with open(os.path.join(sweep_dir, name)) as handle:
                    if float(handle.read() or "0") > since:
                        later.append(name)
            except (OSError, ValueError):  # being written
                continue
    return later


if __name__ == "__main__":
    main()
