"""Per-trial plumbing for train.py: how many threads a trial gets, quiet Lightning logs, which
value a trial returns. Kept apart from train.py so the rules are unit-tested."""
from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Dict, List, Optional

from omegaconf import DictConfig, OmegaConf

from hydra_skopt_sweeper.doors.hydra import available_cpus, launcher_parallelism

# Lightning's loggers; the last two are the unified `lightning` package's names, in case a
# user's own code imports it.
LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning.pytorch", "lightning.fabric")

# Warnings that are expected for this small in-memory data set and say nothing about a trial.
HARMLESS_WARNINGS = (
    # num_workers=0 is the right choice for a tensor data set held in memory
    r".*does not have many workers.*",
    # a few batches per epoch with a large batch size
    r".*smaller than the logging interval.*",
    # pytorch_lightning 2.6 on torch >= 2.10 (a FutureWarning inside Lightning, not our code)
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
    # on a machine with SLURM installed (a login node), for trials the sweeper's launcher runs
    r".*The `srun` command is available on your system but is not used.*",
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
    """Keep a sweep's log readable: Lightning's INFO lines (GPU/TPU availability, tips, seed,
    the tensorboardX notice) are dropped, its warnings go through Hydra's handlers (console and
    the job's .log file), and the known harmless warnings are filtered out.

    Called inside the task function: launchers run trials in worker processes, where
    module-level settings of the main process do not exist.
    """
    root_has_handlers = logging.getLogger().hasHandlers()
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if root_has_handlers:
            # pytorch_lightning adds a console handler of its own (and stops propagation) when
            # it is imported before logging is configured, as it is here: before Hydra's
            # job logging. Send its records to Hydra's handlers instead.
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler:
                    logger.removeHandler(handler)
            logger.propagate = True
    for pattern in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


def instantiate_named(nodes: Optional[DictConfig]) -> List[Any]:
    """Instantiate a mapping of name -> instantiate-able node (callbacks, loggers). A null
    entry is skipped, so ``callbacks.early_stopping=null`` disables one from the command line."""
    from hydra.utils import instantiate

    if nodes is None:
        return []
    return [instantiate(node) for node in nodes.values() if node is not None]


def best_metric(trainer: Any, monitor: str) -> Optional[float]:
    """The best value of ``monitor`` over the validation epochs of a fit.

    Read from the ModelCheckpoint that monitors it (the best epoch's value, not the last
    epoch's); without one, the last value Lightning recorded. None when the metric was never
    logged.
    """
    from pytorch_lightning.callbacks import ModelCheckpoint

    for callback in trainer.callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.monitor == monitor:
            if callback.best_model_score is not None:
                return float(callback.best_model_score)
    value = trainer.callback_metrics.get(monitor)
    return None if value is None else float(value)


def returned_metrics(trainer: Any, monitor: str) -> Dict[str, float]:
    """What a trial returns when the app's ``return_metrics`` is true: every metric Lightning
    recorded (``val_acc``, ``n_params``, ...) as a float, with ``monitor`` at its best value
    (:func:`best_metric`). A sweeper picks its objectives from it by key
    (``hydra.sweeper.monitor``)."""
    metrics = {str(name): float(value) for name, value in trainer.callback_metrics.items()}
    best = best_metric(trainer, monitor)
    if best is not None:
        metrics[monitor] = best
    return metrics


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
