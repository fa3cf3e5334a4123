"""Per-trial plumbing for train.py: how many threads a trial gets, quiet Lightning logs, which
value a trial returns. Kept apart from train.py so the rules are unit-tested."""
from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Dict, List, Optional

from omegaconf import DictConfig, OmegaConf

from hydra_skopt_sweeper.doors.hydra import available_cpus, launcher_parallelism
# what a trial returns: the same rules as TorchOptimizer's trials
from hydra_skopt_sweeper.trial.lightning_trial import best_metric, quiet_lightning_logs, returned_metrics  # noqa: F401

# Warnings that are expected for this small in-memory data set and say nothing about a trial
# (Lightning's own noise is the package's: quiet_lightning_logs).
HARMLESS_WARNINGS = (
    # num_workers=0 is the right choice for a tensor data set held in memory
    r".*does not have many workers.*",
    # a few batches per epoch with a large batch size
    r".*smaller than the logging interval.*",
)


def parallel_jobs(hydra_cfg: Optional[DictConfig]) -> int:
    """How many trials run at once beside this one, from the Hydra config of the running job.

    A single run (no -m): 1. A multirun: the launcher's ``n_jobs`` when it has one (joblib;
    negative values count back from the number of CPUs, as joblib does: -1 = all), capped by the
    sweeper's ``batch_size`` when it sets one; else 1 (Hydra's basic launcher runs trials one
    after another).
    """
    if hydra_cfg is None:
        return 1
    mode = OmegaConf.select(hydra_cfg, "mode", default=None)
    if mode is not None and str(getattr(mode, "name", mode)) != "MULTIRUN":
        return 1
    jobs = launcher_parallelism(OmegaConf.select(hydra_cfg, "launcher", default=None))
    batch = OmegaConf.select(hydra_cfg, "sweeper.batch_size", default=None)
    if isinstance(batch, int) and not isinstance(batch, bool) and batch > 0:
        jobs = min(jobs, batch)
    return max(1, jobs)


def threads_per_trial(torch_threads: Optional[int], n_parallel: int, cpus: Optional[int] = None) -> int:
    """The torch thread count of one trial: ``torch_threads`` when set, else the CPUs shared
    evenly among the trials running at once, at least 1."""
    if torch_threads is not None:
        if int(torch_threads) < 1:
            raise ValueError(f"torch_threads must be null or >= 1, got {torch_threads}")
        return int(torch_threads)
    cpus = available_cpus() if cpus is None else cpus
    return max(1, cpus // max(1, n_parallel))


def quiet_lightning(level: int = logging.WARNING) -> None:
    """Keep a sweep's log readable: Lightning's INFO lines dropped and its warnings sent through
    Hydra's handlers (:func:`hydra_skopt_sweeper.trial.lightning_trial.quiet_lightning_logs`),
    and the known harmless warnings filtered out.

    Called inside the task function: launchers run trials in worker processes, where
    module-level settings of the main process do not exist.
    """
    quiet_lightning_logs(level)
    for pattern in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


def instantiate_named(nodes: Optional[DictConfig]) -> List[Any]:
    """Instantiate a mapping of name -> instantiate-able node (callbacks, loggers). A null
    entry is skipped, so ``callbacks.early_stopping=null`` disables one from the command line."""
    from hydra.utils import instantiate

    if nodes is None:
        return []
    return [instantiate(node) for node in nodes.values() if node is not None]


def describe_overrides(overrides: List[str], swept: Optional[List[str]] = None, digits: int = 4) -> str:
    """A trial's overrides for its log line: only the swept keys when the sweeper's ``params``
    names them (the plain overrides are the same in every trial), floats shortened to ``digits``
    significant digits (the exact values are in the job's .hydra/overrides.yaml)."""
    shown = []
    keys = set(swept or ())
    for override in overrides:
        key, sep, value = override.partition("=")
        if keys and key.lstrip("+~") not in keys:
            continue
        if sep and any(c in value for c in ".eE"):
            try:
                value = f"{float(value):.{digits}g}"
            except ValueError:
                pass
        shown.append(f"{key}{sep}{value}")
    return " ".join(shown)


def is_finite(value: Optional[float]) -> bool:
    return value is not None and math.isfinite(value)
