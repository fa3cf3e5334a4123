"""A tiny Hydra app for the integration tests: a shifted sphere with knobs for each return type."""
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from hydra_skopt_sweeper import TrialPruned, report, resume_checkpoint


def sphere(cfg: DictConfig) -> float:
    value = (cfg.x - 1.0) ** 2 + (cfg.y + 0.5) ** 2
    if cfg.opt.name == "sgd" and cfg.momentum is not None:  # sgd with momentum 0.9 beats adam
        value -= 0.5 - (cfg.momentum - 0.9) ** 2
    return value + cfg.opt.penalty + 0.01 * abs(cfg.n - 4)


def _wait_for_batch_mate(timeout_s: float) -> None:
    """In batches of 2 from job 0, wait (bounded) until the other job of this batch has left
    its outcome, so that a death here never races the mate's return."""
    hydra_cfg = HydraConfig.get()
    mate = Path(hydra_cfg.sweep.dir) / ".outcomes" / f"{hydra_cfg.job.num ^ 1}.json"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not mate.exists():
        time.sleep(0.05)


@hydra.main(version_base=None, config_path=".", config_name="config")
def main(cfg: DictConfig):
    started = time.time()
    job_dir = HydraConfig.get().runtime.output_dir
    with open(os.path.join(job_dir, "overrides.txt"), "w") as handle:  # what this job received
        handle.write(f"x={cfg.x!r} y={cfg.y!r} n={cfg.n!r} opt={cfg.opt.name} word={cfg.word!r} "
                     f"momentum={cfg.momentum!r}\n")
    with open(os.path.join(job_dir, "pid.txt"), "w") as handle:
        handle.write(str(os.getpid()))
    if "ray" in sys.modules:  # a Ray task: which node of the cluster ran it
        import ray

        if ray.is_initialized():
            with open(os.path.join(job_dir, "node.txt"), "w") as handle:
                handle.write(ray.get_runtime_context().get_node_id())
    value = sphere(cfg)
    time.sleep(cfg.sleep + cfg.sleep_per_x * (cfg.x + 2))
    first = 0
    if cfg.resumable:  # pausable: it saves its step when stopped and goes on from there when continued
        checkpoint = resume_checkpoint()
        if checkpoint is not None:
            first = json.loads(Path(checkpoint).read_text())["step"] + 1
            Path(job_dir, "resumed_from.txt").write_text(checkpoint)
    for step in range(first, cfg.curve_steps):  # a learning curve falling to the value, for pruning
        if cfg.curve_sleep:
            time.sleep(cfg.curve_sleep)
        try:
            report(step, value + cfg.curve_height / (step + 1))
        except TrialPruned as stop:
            if stop.checkpoint is not None:
                Path(stop.checkpoint).write_text(json.dumps({"step": step}))
            raise
    with open(os.path.join(job_dir, "times.txt"), "w") as handle:  # when it ran, on which device
        handle.write(f"{started} {time.time()} {cfg.device}\n")
    if cfg.die_above is not None and value > cfg.die_above:
        _wait_for_batch_mate(cfg.die_wait_s)
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    if cfg.fail_above is not None and value > cfg.fail_above:
        raise RuntimeError(f"value {value} is above {cfg.fail_above}")
    mode = cfg.mode
    if mode == "float":
        return value
    if mode == "mapping":
        return {"val_loss": value, "other": 1.0}
    if mode == "numpy":
        import numpy as np

        return np.float32(value)
    if mode == "none":
        return None
    if mode == "not_a_number":
        return math.nan
    if mode == "neg":
        return -value
    if mode == "die":
        os._exit(1)
    if mode == "exit":
        sys.exit(0)
    raise ValueError(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
