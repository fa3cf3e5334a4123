"""The seed's own call: :class:`TorchOptimizer`, tuning a LightningModule from a script or a
notebook with no Hydra app::

    optimizer = TorchOptimizer(model=MyModel, trainer_args={"max_epochs": 20},
                               train_loader=train_loader, val_loader=val_loader,
                               monitor="val_loss", space=[Real(1e-4, 1e-2, "log-uniform", name="lr")],
                               n_calls=30, n_jobs=2)
    best_params = optimizer()

It is a Hydra multirun composed in memory, so the sweep is the Hydra door's to the letter: the
same loop (:func:`.hydra.sweep_loop`), journal, sweep dir, resume, pruning, pictures and
``report.html``. Its primary config holds one key per parameter; its trials run through
hydra-joblib-launcher, each in a worker process, where :class:`..trial.lightning_trial.LightningTrial`
builds ``model(**params)`` and trains it. What differs from the command line: the space may be
scikit-optimize's dimensions, the constraint a Python callable, and Ctrl-C raises
``KeyboardInterrupt`` (after the loop has said what is safe) instead of ending a process.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from ..errors import SweeperConfigError
from ..records.journal import Trial
from ..settings import SkoptSweeperConf
from ..trial.lightning_trial import DEVICES_KEY, LightningTrial, lightning_package
from .optuna import OPTUNA_KEYS

log = logging.getLogger(__name__)

# the settings TorchOptimizer takes as arguments of its own (the rest pass through **settings)
_OWN = {"n_calls", "n_initial_points", "monitor", "maximize", "constraint", "metric_constraints",
        "random_state", "devices", "device_override", "pruner", "params"}
# the Optuna sweeper's keys are for its config files, not for a Python call
_SETTINGS = {f.name for f in fields(SkoptSweeperConf)} - {"_target_", "_recursive_", "defaults"} - _OWN - set(OPTUNA_KEYS)
# the default pruning rule: the sweeper's own (None switches it off)
_DEFAULT_PRUNER = "default"
_TASK_NAME = "torch_optimizer"
_PACKAGE = __name__.split(".")[0]


class TorchOptimizer:
    """Tune a LightningModule's constructor arguments by this sweeper's Bayesian optimisation.

    Parameters
    ----------
    model : type
        A LightningModule class; each trial builds ``model(**params)``.
    trainer_args : mapping, optional
        Keyword arguments of ``Trainer``. A logger and callbacks given as instances are copied
        for each trial: a logger's version becomes ``trial_<n>``, a ``ModelCheckpoint`` with a
        ``dirpath`` writes under ``<dirpath>/trial_<n>``; without a logger, Lightning's logs go
        to the trial's job dir under ``sweep_dir``.
    train_loader, val_loader : DataLoader, optional
        What each trial trains and validates on (or give ``datamodule``).
    datamodule : LightningDataModule, optional
        In place of the loaders.
    monitor : str or list of str
        The logged metric(s) to optimise, read from ``trainer.callback_metrics`` after ``fit``;
        a list for several objectives (the result is then their Pareto front).
    maximise : bool or list of bool
        Whether larger is better, per monitor.
    space : list of skopt dimensions, or mapping
        ``skopt.space`` dimensions, each with a ``name`` (a keyword of ``model``), or a mapping
        name -> this sweeper's grammar (``"interval(1e-4, 1e-2)"``, ``"tag(log, interval(...))"``,
        ``"range(32, 256, 32)"``, ``"choice(a, b)"``) or spec mapping; a plain value fixes the
        argument for every trial.
    constraint : callable or str, optional
        ``constraint(params) -> bool`` on the params dict, or this sweeper's expression string;
        a proposal that breaks it is never trained.
    n_calls, n_initial_points : int
        Trials in all, and how many of them come from the initial design.
    n_jobs : int
        Trials trained at once, each in a worker process (joblib); -1: one per CPU.
    devices : list, optional
        A device pool (say ``[0, 1]``): each running trial holds one and trains with
        ``devices=[d]``; ``n_jobs`` is raised to its size.
    pruner : mapping or None
        The pruning rule (``{"rule": "median", "warmup_steps": 3}``, keys as in
        ``hydra.sweeper.pruner``); by default the sweeper's own; None: no pruning. The Lightning
        callback that reports each validation is added for you.
    metric_constraints : list of str, optional
        Inequalities on what each trial logged (``"val_acc >= 0.9"``).
    sweep_dir : str or Path, optional
        Where the sweep's files go; the same call again resumes from them. Default:
        ``multirun/<model class name>`` under the current directory.
    random_state : int, optional
        Seed of the proposer.
    threads : int, optional
        torch threads per trial; by default the CPUs shared among the ``n_jobs`` trials.
    **settings
        Any other setting of ``hydra.sweeper`` (``acq_func``, ``scheduling``, ``on_failure``,
        ``step_budget``, ...).

    Attributes
    ----------
    result : dict
        After a call, what ``optimization_results.yaml`` holds: the best and the recommended
        params and values, the counts, the importance of the parameters.
    trials : list of Trial
        After a call, every trial of the sweep (``params``, ``value``, ``status``, ``job_dir``).
    front : list of Trial
        After a call with several monitors, the trials on the Pareto front.
    report_path : Path
        The sweep's page, ``sweep_dir/report.html``.
    """

    def __init__(
        self,
        model: type,
        trainer_args: Optional[Mapping[str, Any]] = None,
        train_loader: Any = None,
        val_loader: Any = None,
        *,
        datamodule: Any = None,
        monitor: Union[str, Sequence[str]] = "val_loss",
        maximise: Union[bool, Sequence[bool]] = False,
        space: Union[Sequence[Any], Mapping[str, Any], None] = None,
        constraint: Union[None, str, Callable[[Dict[str, Any]], Any]] = None,
        n_calls: int = 50,
        n_initial_points: int = 10,
        n_jobs: int = 1,
        devices: Optional[Sequence[Any]] = None,
        pruner: Any = _DEFAULT_PRUNER,
        metric_constraints: Optional[Sequence[str]] = None,
        sweep_dir: Union[str, Path, None] = None,
        random_state: Optional[int] = None,
        threads: Optional[int] = None,
        **settings: Any,
    ) -> None:
        if lightning_package(model) is None:
            raise SweeperConfigError(f"model={model!r}: must be a LightningModule class (the class, "
                                     "not an instance); each trial builds model(**params)")
        self.model = model
        self.trainer_args = dict(trainer_args or {})
        if datamodule is None and train_loader is None:
            raise SweeperConfigError("train_loader=None: give train_loader (and val_loader), or datamodule")
        if datamodule is not None and (train_loader is not None or val_loader is not None):
            raise SweeperConfigError("datamodule= and train_loader=/val_loader= together: give one of the two")
        self.loaders = {"train_loader": train_loader, "val_loader": val_loader, "datamodule": datamodule}
        self.monitors = _monitors(monitor)
        self.maximise = _directions(maximise, len(self.monitors))
        self.params = _space(space)
        if constraint is not None and not callable(constraint) and not isinstance(constraint, str):
            raise SweeperConfigError(f"constraint={constraint!r}: must be a callable on the params dict "
                                     "(lambda params: ...) or an expression string")
        # an expression is a setting like any other; a callable goes to the loop itself
        self.constraint = constraint if callable(constraint) else None
        unknown = sorted(set(settings) - _SETTINGS)
        if unknown:
            raise SweeperConfigError(f"{unknown[0]}={settings[unknown[0]]!r}: not an argument of TorchOptimizer; "
                                     f"its own are model, trainer_args, train_loader, val_loader, datamodule, "
                                     f"monitor, maximise, space, constraint, n_calls, n_initial_points, n_jobs, "
                                     f"devices, pruner, metric_constraints, sweep_dir, random_state, threads; "
                                     f"the sweeper's settings: {', '.join(sorted(_SETTINGS))}")
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
            raise SweeperConfigError(f"n_jobs={n_jobs!r}: must be a positive int, or negative to count back "
                                     "from the CPUs (-1: all)")
        self.n_jobs = max(n_jobs, len(devices)) if devices and n_jobs > 0 else n_jobs
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise SweeperConfigError(f"threads={threads!r}: must be an int >= 1, or None for the CPUs shared "
                                     "among the trials that run at once")
        self.threads = threads
        self.settings: Dict[str, Any] = {
            **settings, "n_calls": n_calls, "n_initial_points": n_initial_points,
            "monitor": self.monitors[0] if len(self.monitors) == 1 else self.monitors,
            "maximize": self.maximise[0] if len(self.maximise) == 1 else self.maximise,
            "metric_constraints": list(metric_constraints or []), "random_state": random_state,
            "devices": list(devices) if devices is not None else None,
            "device_override": f"{DEVICES_KEY}=[{{device}}]",
            "constraint": constraint if isinstance(constraint, str) else None,
        }
        if pruner is not _DEFAULT_PRUNER:
            if pruner is not None and not isinstance(pruner, Mapping):
                raise SweeperConfigError(f"pruner={pruner!r}: must be a mapping of hydra.sweeper.pruner's keys "
                                         "({'rule': 'median', ...}), or None for no pruning")
            self.settings["pruner"] = dict(pruner) if pruner is not None else None
        self.sweep_dir = Path(sweep_dir if sweep_dir is not None else Path("multirun") / model.__name__).absolute()
        self.result: Dict[str, Any] = {}
        self.trials: List[Trial] = []
        self.front: List[Trial] = []
        self.report_path = self.sweep_dir / "report.html"

    def __call__(self) -> Union[Dict[str, Any], List[Dict[str, Any]]]:
        """Run the sweep (or resume it from ``sweep_dir``) and return the best params; with
        several monitors, the params of the Pareto front's trials.

        Raises
        ------
        SweeperConfigError
            A bad argument, named, before any trial.
        KeyboardInterrupt
            Ctrl-C: the finished trials are safe in ``sweep_dir``; the same call resumes.
        """
        from omegaconf import OmegaConf

        from .hydra import available_cpus, launcher_parallelism, multirun

        prune = self.settings.get("pruner", True) is not None and len(self.monitors) == 1
        parallel = launcher_parallelism(OmegaConf.create({"n_jobs": self.n_jobs}))
        # the CPUs shared among the trials that train at once, as torch would otherwise take all
        threads = self.threads or max(1, available_cpus() // min(parallel, self.settings.get("batch_size") or parallel))
        trial = LightningTrial(self.model, list(self.params), self.trainer_args, self.monitors,
                               "max" if self.maximise[0] else "min", prune=prune, threads=threads,
                               **self.loaders)
        hint = f"call the optimizer again (sweep_dir={self.sweep_dir}) to resume"
        config = {**{name: None for name in self.params}, DEVICES_KEY: None}
        try:
            with _in_door_words():
                multirun(_TASK_NAME, config, {**self.settings, "params": self.params}, trial, self.sweep_dir,
                         self.n_jobs, constraint=self.constraint, resume_hint=hint)
        except SweeperConfigError as error:
            raise SweeperConfigError(_door_words(str(error))) from None
        return self._read_results()

    def _read_results(self) -> Union[Dict[str, Any], List[Dict[str, Any]]]:
        from ..insight.sweep_record import load_sweep

        record = load_sweep(self.sweep_dir)
        self.trials = list(record.trials)
        self.result = dict(record.results)
        if record.several:
            self.front = list(record.front().solutions)
            return [dict(t.params) for t in self.front]
        return dict(self.result.get("best_params") or {})

    @property
    def best_params(self) -> Dict[str, Any]:
        """The best trial's params (one monitor), as the last call returned them."""
        return dict(self.result.get("best_params") or {})

    @property
    def best_value(self) -> Optional[float]:
        return self.result.get("best_value")


def _door_words(message: str) -> str:
    """A settings error in this door's argument names (``hydra.sweeper.n_calls`` -> ``n_calls``,
    ``hydra.sweeper.params.lr`` -> ``space.lr``, the launcher -> ``n_jobs``)."""
    return (message.replace("hydra.sweeper.params.", "space.").replace("hydra.sweeper.", "")
            .replace("hydra/launcher=joblib (JoblibLauncher)", "joblib's worker processes (n_jobs)"))


@contextmanager
def _in_door_words() -> Iterator[None]:
    """While it lasts, this package's log lines name this door's arguments (:func:`_door_words`):
    a line from the shared loop or settings check reads ``n_initial_points=10 is more than
    n_calls=4``, not the Hydra command line's ``hydra.sweeper.n_initial_points=10``."""
    make_record = logging.getLogRecordFactory()

    def door_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.name.startswith(_PACKAGE):
            record.msg, record.args = _door_words(record.getMessage()), ()
        return record

    logging.setLogRecordFactory(door_record)
    try:
        yield
    finally:
        logging.setLogRecordFactory(make_record)


def _monitors(monitor: Any) -> List[str]:
    names = [monitor] if isinstance(monitor, str) else list(monitor) if isinstance(monitor, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise SweeperConfigError(f"monitor={monitor!r}: must be the name of a logged metric, or a list of "
                                 "names for several objectives")
    return names


def _directions(maximise: Any, count: int) -> List[bool]:
    values = [maximise] * count if isinstance(maximise, bool) else list(maximise) if isinstance(maximise, (list, tuple)) else None
    if values is None or len(values) != count or not all(isinstance(v, bool) for v in values):
        raise SweeperConfigError(f"maximise={maximise!r}: must be a bool, or a list of {count} bools (one per "
                                 "monitor)")
    return values


def _space(space: Any) -> Dict[str, Any]:
    """The space as ``hydra.sweeper.params`` writes it: name -> grammar string, spec mapping
    or fixed value; scikit-optimize's dimensions become spec mappings."""
    from skopt.space import Categorical, Dimension, Integer, Real

    if isinstance(space, Mapping):
        params = {str(name): value for name, value in space.items()}
    elif isinstance(space, (list, tuple)) and space and all(isinstance(d, Dimension) for d in space):
        params = {}
        for index, dimension in enumerate(space):
            if not dimension.name:
                raise SweeperConfigError(f"space[{index}]={dimension!r}: has no name; give each dimension "
                                         "the keyword of the model it sets, e.g. Real(1e-4, 1e-2, name='lr')")
            if isinstance(dimension, Categorical):
                params[dimension.name] = {"type": "categorical", "choices": list(dimension.categories)}
            elif isinstance(dimension, (Real, Integer)):
                params[dimension.name] = {"type": "real" if isinstance(dimension, Real) else "int",
                                          "low": dimension.low, "high": dimension.high,
                                          "prior": dimension.prior}
            else:
                raise SweeperConfigError(f"space[{index}]={dimension!r}: must be a Real, Integer or Categorical")
    else:
        raise SweeperConfigError(f"space={space!r}: must be a list of skopt.space dimensions (Real, Integer, "
                                 "Categorical, each with a name) or a mapping name -> range, e.g. "
                                 "{'lr': 'tag(log, interval(1e-4, 1e-2))'}")
    for name in params:
        if not name.isidentifier() or name == DEVICES_KEY:
            raise SweeperConfigError(f"space: {name!r} is not a keyword argument name; each trial builds "
                                     "model(**params)")
    return params
