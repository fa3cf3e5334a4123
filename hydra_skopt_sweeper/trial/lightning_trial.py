"""What one trial of :class:`..doors.torch_optimizer.TorchOptimizer` runs in its own process:
build the model with the trial's params, train it with a Trainer of the user's arguments, and
return what it logged.

:class:`LightningTrial` is the task function of those trials. It is pickled (by cloudpickle,
under joblib's loky) with the user's model class, loaders or datamodule and Trainer arguments,
so a model class defined in a notebook's ``__main__`` travels by value. Lightning is imported
here only when a trial runs, never when the sweeper builds the object.

Each trial gets its own copies of the logger(s) and callbacks it was given, placed so that
trials never write over each other: a logger's version is ``trial_<job number>`` (one
TensorBoard dir shows every trial side by side), a ``ModelCheckpoint`` with a ``dirpath``
writes under ``<dirpath>/trial_<job number>``; with no logger, Lightning's own logs go to the
trial's job dir.
"""
from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .pruning import resume_checkpoint

log = logging.getLogger(__name__)

# the config key the device pool's override sets: the Trainer's ``devices`` for this trial
DEVICES_KEY = "trainer_devices"
_PACKAGES = ("lightning.pytorch", "pytorch_lightning")
# Lightning's loggers: the two packages' own and their fabric's
LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning.pytorch", "lightning.fabric")
# Lightning's warnings that say nothing about a trial
LIGHTNING_NOISE = (
    # pytorch_lightning 2.6 on torch >= 2.10 (a FutureWarning inside Lightning, not the user's code)
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
    # on a machine with SLURM installed (a login node), for trials the sweeper's launcher runs
    r".*The `srun` command is available on your system but is not used.*",
)


class LightningTrial:
    """The task function of a :class:`~..doors.torch_optimizer.TorchOptimizer` trial.

    Parameters
    ----------
    model : type
        A LightningModule class, built as ``model(**params)``.
    param_names : sequence of str
        The keys of the trial's config that are the model's keyword arguments.
    trainer_args : mapping
        Keyword arguments of the Trainer, copied for each trial.
    monitors : sequence of str
        The logged metrics the sweep optimises; the first one is reported for pruning.
    mode : str
        ``min`` or ``max`` for the first monitor.
    train_loader, val_loader, datamodule
        What ``Trainer.fit`` trains and validates on: the loaders, or a datamodule.
    prune : bool
        Whether to add the sweep's pruning callback (it reports every validation).
    threads : int, optional
        torch's thread count in the trial's process (the CPUs shared among the trials that
        run at once); None leaves torch's own.
    """

    def __init__(self, model: type, param_names: Sequence[str], trainer_args: Mapping[str, Any],
                 monitors: Sequence[str], mode: str, train_loader: Any = None, val_loader: Any = None,
                 datamodule: Any = None, prune: bool = True, threads: Optional[int] = None) -> None:
        self.model = model
        self.param_names = list(param_names)
        self.trainer_args = dict(trainer_args)
        self.monitors = list(monitors)
        self.mode = mode
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.datamodule = datamodule
        self.prune = prune
        self.threads = threads

    def __call__(self, cfg: Any) -> Dict[str, float]:
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import OmegaConf

        config = OmegaConf.to_container(cfg, resolve=True)
        params = {name: config[name] for name in self.param_names}
        hydra_cfg = HydraConfig.get()
        number = int(hydra_cfg.job.num)
        job_dir = Path(hydra_cfg.runtime.output_dir)
        package = lightning_package(self.model)
        assert package is not None, "TorchOptimizer checks the model before any trial"
        lightning = __import__(package, fromlist=["Trainer"])
        quiet_lightning_logs()
        if self.threads is not None:
            import torch

            torch.set_num_threads(self.threads)
        trainer_args = self._trainer_args(number, job_dir, config.get(DEVICES_KEY))
        trainer = lightning.Trainer(**trainer_args)
        model = self.model(**params)
        resume = resume_checkpoint()  # a paused trial the sweep continues (the forecast rule)
        if self.datamodule is not None:
            trainer.fit(model, datamodule=copy.deepcopy(self.datamodule), ckpt_path=resume)
        else:
            trainer.fit(model, train_dataloaders=self.train_loader, val_dataloaders=self.val_loader, ckpt_path=resume)
        return self._measured(trainer, model)

    def _trainer_args(self, number: int, job_dir: Path, devices: Any) -> Dict[str, Any]:
        """The Trainer's arguments for trial ``number``: the user's, with its own logger(s) and
        callbacks, the pruning callback, and the device the pool gave it."""
        args = copy.deepcopy(self.trainer_args)
        args.setdefault("default_root_dir", str(job_dir))
        args.setdefault("enable_progress_bar", False)
        version = f"trial_{number}"
        logger = args.get("logger")
        for each in (logger if isinstance(logger, (list, tuple)) else [logger]):
            if each is not None and not isinstance(each, bool) and getattr(each, "_version", "") is None:
                each._version = version  # Lightning's loggers keep the version they were given here
        callbacks: List[Any] = list(args.get("callbacks") or [])
        for callback in callbacks:
            if _is_checkpoint(callback) and getattr(callback, "dirpath", None):
                callback.dirpath = str(Path(callback.dirpath) / version)
        if self.prune:
            from .lightning import PruningCallback

            callbacks.append(PruningCallback(self.monitors[0], self.mode))
        args["callbacks"] = callbacks
        if devices is not None:
            args["devices"] = devices
        return args

    def _measured(self, trainer: Any, model: Any) -> Dict[str, float]:
        """What the trial returns (:func:`returned_metrics`); a monitor it never logged fails
        the trial with the names it did log."""
        measured = returned_metrics(trainer, self.monitors)
        missing = [name for name in self.monitors if name not in measured]
        if missing:
            raise ValueError(
                f"monitor={missing[0]!r}: {type(model).__name__} never logged it; it logged: "
                f"{', '.join(sorted(measured)) or 'nothing'}. Log it in validation_step with "
                f"self.log({missing[0]!r}, value), or pass monitor= one of those names")
        return measured


def _is_checkpoint(callback: Any) -> bool:
    """A Lightning ``ModelCheckpoint`` (or a subclass), of either package, without importing it."""
    return any(base.__name__ == "ModelCheckpoint" for base in type(callback).__mro__)


def best_metric(trainer: Any, monitor: str) -> Optional[float]:
    """The best value of ``monitor`` over the validation epochs of a fit.

    Read from the ModelCheckpoint that monitors it (the best epoch's value, the checkpoint a
    user loads, not the last epoch's); without one, the last value Lightning recorded. None when
    the metric was never logged.
    """
    for callback in trainer.callbacks:
        if _is_checkpoint(callback) and callback.monitor == monitor and callback.best_model_score is not None:
            return float(callback.best_model_score)
    value = trainer.callback_metrics.get(monitor)
    return None if value is None else float(value)


def returned_metrics(trainer: Any, monitors: Union[str, Sequence[str]]) -> Dict[str, float]:
    """What a trial returns: every metric Lightning recorded (``val_acc``, ``n_params``, ...) as
    a float, each of ``monitors`` at its best value (:func:`best_metric`). The sweeper picks its
    objectives and metric constraints from it by key (``monitor``)."""
    metrics: Dict[str, float] = {}
    for name, value in trainer.callback_metrics.items():
        try:
            metrics[str(name)] = float(value)
        except (TypeError, ValueError):  # a metric that is not one number
            continue
    for monitor in [monitors] if isinstance(monitors, str) else monitors:
        best = best_metric(trainer, monitor)
        if best is not None:
            metrics[monitor] = best
    return metrics


def quiet_lightning_logs(level: int = logging.WARNING) -> None:
    """Keep a sweep's log readable: Lightning's INFO lines (GPU/TPU availability, tips, seed)
    and :data:`LIGHTNING_NOISE` are dropped, and its other warnings go through Hydra's handlers
    (the console and the job's .log file). Called inside a trial: worker processes do not
    share the main process's settings."""
    for pattern in LIGHTNING_NOISE:
        warnings.filterwarnings("ignore", message=pattern)
    root_has_handlers = logging.getLogger().hasHandlers()
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if root_has_handlers:
            # pytorch_lightning adds a console handler of its own (and stops propagation) when
            # it is imported before logging is configured, as it is in a trial: before Hydra's
            # job logging. Send its records to Hydra's handlers instead.
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler:
                    logger.removeHandler(handler)
            logger.propagate = True


def lightning_package(model: Any) -> Optional[str]:
    """The Lightning package whose ``LightningModule`` the class ``model`` derives from
    (``lightning.pytorch`` or ``pytorch_lightning``), read from its bases' modules without
    importing either; None when it is not such a class."""
    if not isinstance(model, type):
        return None
    for base in model.__mro__:
        if base.__name__ != "LightningModule":
            continue
        for package in _PACKAGES:
            if base.__module__ == package or base.__module__.startswith(package + "."):
                return package
    return None
