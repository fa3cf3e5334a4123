"""What a trial returned -> the value, or values, the optimiser minimises.

A trial may return a float or int, a numpy scalar, a 0-d tensor (anything ``float()``
accepts: torch is never imported here), or a mapping such as Lightning's
``trainer.callback_metrics``, read through ``monitor``. With several objectives
(:class:`Objectives`) it returns a sequence of numbers in their order (the Optuna sweeper's
contract) or a mapping holding every monitored key. Anything else, or a value that is not
finite, is a failed trial: :class:`TrialValueError` says why.

Job side, :class:`TimedTask` wraps the task function: it times the call and leaves the
job's outcome in the sweep's ``.outcomes/``. Sweeper side, :func:`trial_from` makes a job's
:class:`~.journal.Trial` from what the launcher returned, or from that outcome when the
launcher returned nothing.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from hydra.core.utils import JobReturn, JobStatus

from .errors import SweeperConfigError
from .journal import FAILED, OK, PRUNED, Trial
from .metrics import MetricConstraints
from .sweep_dir import atomic_write_text, outcome_file


class TrialValueError(ValueError):
    """The trial ran but its return value cannot be used as an objective."""


class TrialExit(RuntimeError):
    """The trial called ``sys.exit``: a failed trial, not the end of the sweep."""


@dataclass(frozen=True)
class Objectives:
    """What a sweep optimises: one objective, or several (a Pareto front).

    ``names``: the ``monitor`` key of each objective, or a single None (the value the task
    returns), or one None per objective (read by position from a returned sequence);
    ``maximize``: each objective's direction; ``metrics``: other keys of the returned mapping
    the sweep records (those its ``metric_constraints`` read).
    """

    names: Tuple[Optional[str], ...] = (None,)
    maximize: Tuple[bool, ...] = (False,)
    # the metric keys ``metric_constraints`` read from the returned mapping, recorded too
    metrics: Tuple[str, ...] = ()

    @classmethod
    def of_settings(cls, settings: Any, parameters: Sequence[str] = ()) -> Tuple["Objectives", MetricConstraints]:
        """The objectives ``hydra.sweeper`` declares, recording the metrics its
        ``metric_constraints`` read, and those constraints compiled (a constraint over one of
        ``parameters`` is refused)."""
        constraints = MetricConstraints(list(settings.metric_constraints or []), parameters)
        objectives = cls.of(settings.monitor, settings.maximize)
        return dataclasses.replace(objectives, metrics=constraints.names), constraints

    @classmethod
    def of(cls, monitor: Any = None, maximize: Any = None) -> "Objectives":
        """The objectives ``hydra.sweeper.monitor`` and ``hydra.sweeper.maximize`` declare:
        a key or a list of keys, a direction or a list of directions (null: minimise every
        one). A list of one is the single objective.

        Raises
        ------
        SweeperConfigError
            An entry of the wrong type, or lists of different lengths.
        """
        names = _entries("monitor", monitor, str, "a key of the mapping the task returns")
        directions = _entries("maximize", maximize, bool, "true or false")
        if names is None and directions is None:
            return cls()
        if names is not None and directions is not None and len(names) != len(directions):
            raise SweeperConfigError(
                f"hydra.sweeper.maximize={_listed(maximize)}: must have one entry per monitored key "
                f"(hydra.sweeper.monitor={_listed(monitor)} has {len(names)}); give both lists the same length")
        count = len(names if names is not None else directions)  # type: ignore[arg-type]
        if names is None:
            names = [None] * count
        if directions is None:
            directions = [False] * count
        return cls(tuple(names), tuple(directions))

    @property
    def several(self) -> bool:
        return len(self.maximize) > 1

    @property
    def count(self) -> int:
        return len(self.maximize)

    @property
    def monitor(self) -> Any:
        """``monitor`` as the space file keeps it: the key, or the list of keys (None when the
        values are read by position)."""
        if not self.several or all(name is None for name in self.names):
            return self.names[0]
        return list(self.names)

    @property
    def direction(self) -> Any:
        """``maximize`` as the space file keeps it: a bool, or a list of them."""
        return self.maximize[0] if not self.several else list(self.maximize)

    def label(self, index: int) -> str:
        """How the log and the pictures name objective ``index``."""
        name = self.names[index]
        return name if name is not None else (f"objective {index}" if self.several else "value")

    def labelled(self, index: int) -> str:
        """Objective ``index`` with its direction, as the log, an axis or a column names it."""
        return f"{self.label(index)} ({'max' if self.maximize[index] else 'min'})"

    def read(self, returned: Any) -> Union[float, List[float]]:
        """The value (one objective) or the values (several) a trial returned, not yet
        sign-flipped; raises :class:`TrialValueError`."""
        if not self.several:
            return read_value(returned, self.names[0])
        return read_values(returned, self)

    def measure(self, returned: Any) -> Optional[Dict[str, float]]:
        """The recorded metrics a trial returned (None when the sweep records none); raises
        :class:`TrialValueError` when one is missing or not a finite number."""
        if not self.metrics:
            return None
        if not isinstance(returned, Mapping):
            raise TrialValueError(
                f"hydra.sweeper.metric_constraints read {', '.join(map(repr, self.metrics))} from the "
                f"mapping a trial returns; this one returned {type(returned).__name__}: return a mapping "
                "(e.g. Lightning's trainer.callback_metrics) and set hydra.sweeper.monitor")
        measured = {}
        for name in self.metrics:
            try:
                measured[name] = read_value(_lookup(returned, name, "metric"))
            except TrialValueError as error:
                raise TrialValueError(f"metric_constraints: {error}") from None
        return measured

    def losses(self, values: Sequence[float]) -> List[float]:
        """Several objectives' values as the losses the optimiser minimises."""
        return [to_loss(value, maximize) for value, maximize in zip(values, self.maximize)]


def _entries(field: str, value: Any, kind: type, allowed: str) -> Optional[List[Any]]:
    """A setting that is one entry or a list of them, as a list (None when unset)."""
    if value is None:
        return None
    entries = list(value) if isinstance(value, (list, tuple)) else [value]
    if not entries:
        raise SweeperConfigError(f"hydra.sweeper.{field}=[]: must be {allowed}, or a list of them "
                                 "(one per objective); leave it out for the defaults")
    for entry in entries:
        if not isinstance(entry, kind):
            raise SweeperConfigError(f"hydra.sweeper.{field}={_listed(value)}: each entry must be "
                                     f"{allowed}, not {entry!r}")
    return entries


def _listed(value: Any) -> str:
    return repr(list(value)) if isinstance(value, (list, tuple)) else repr(value)


@dataclass
class TimedReturn:
    """A task function's return value and the seconds the call took, measured in the job;
    ``pruned_step``: the step at which ``pruning.report`` stopped the trial, if it did."""

    value: Any
    duration_s: float
    pruned_step: Optional[int] = None


class TimedTask:
    """Wraps the app's task function: times each trial and leaves its outcome on disk.

    The outcome (value read through ``monitor``, or the error, and the duration) is written to
    ``<outcomes_dir>/<job number>.json`` before the job returns, so the sweeper can still read
    the trials that finished when a launcher loses a batch (a worker killed, out of memory).
    A plain class, not a closure, so that every launcher can pickle it. ``on_dispatch``, when
    set in the sweeper's process, is called each time it is pickled to be sent to a job (and
    is not sent along): the async scheduling's sign that a launcher has handed a job over.
    """

    on_dispatch: Optional[Callable[[], None]] = None

    def __init__(
        self,
        task_function: Callable[[Any], Any],
        outcomes_dir: Optional[str] = None,
        objectives: Objectives = Objectives(),
    ) -> None:
        self.task_function = task_function
        self.outcomes_dir = outcomes_dir
        self.objectives = objectives

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        on_dispatch = state.pop("on_dispatch", None)
        if on_dispatch is not None:
            on_dispatch()
        return state

    def __call__(self, cfg: Any) -> TimedReturn:
        from . import pruning

        pruning.start_trial()
        started = time.perf_counter()
        try:
            value = self.task_function(cfg)
        except pruning.TrialPruned:
            value = None  # the app let report()'s TrialPruned through: its best so far stands
        except KeyboardInterrupt:
            raise  # interrupted, not finished: it leaves no outcome, so a resume runs it again
        except SystemExit as error:
            if _after_interrupt(error):  # Lightning exits after a Ctrl-C: an interrupt all the same
                raise KeyboardInterrupt(f"the trial exited after an interrupt: sys.exit({error.code!r})") from None
            # under the basic launcher the trial runs in the sweeper's process: its exit would
            # end the sweep; every launcher records it as the trial's failure instead
            message = (f"the trial called sys.exit({error.code!r}); a task function returns its "
                       "value or raises")
            self._leave_outcome({"error": f"SystemExit: {message}", "duration_s": time.perf_counter() - started})
            raise TrialExit(message) from None
        except BaseException as error:
            self._leave_outcome({"error": f"{type(error).__name__}: {error}",
                                 "duration_s": time.perf_counter() - started})
            raise
        timed = TimedReturn(value, time.perf_counter() - started, pruning.pruned_step())
        outcome: Dict[str, Any] = {}
        if timed.pruned_step is not None:
            outcome["pruned_step"] = timed.pruned_step
        try:
            outcome["values" if self.objectives.several else "value"] = self.objectives.read(value)
            metrics = self.objectives.measure(value)
            if metrics is not None:
                outcome["metrics"] = metrics
        except TrialValueError as error:
            outcome.pop("value", None)
            outcome.pop("values", None)
            if timed.pruned_step is None:
                outcome["error"] = str(error)
        self._leave_outcome({**outcome, "duration_s": timed.duration_s})
        return timed

    def _leave_outcome(self, outcome: Dict[str, Any]) -> None:
        if self.outcomes_dir is None:
            return
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return
        hydra_cfg = HydraConfig.get()
        outcome["job_dir"] = hydra_cfg.runtime.output_dir
        atomic_write_text(outcome_file(Path(self.outcomes_dir), hydra_cfg.job.num), json.dumps(outcome))


def _after_interrupt(error: BaseException) -> bool:
    """Whether an exception was raised while a KeyboardInterrupt was being handled."""
    context = error.__context__
    while context is not None:
        if isinstance(context, KeyboardInterrupt):
            return True
        context = context.__context__
    return False


def read_outcome(outcomes_dir: Path, job_number: int) -> Optional[Dict[str, Any]]:
    """The outcome a job left with :class:`TimedTask`, or None when it left none."""
    path = outcome_file(outcomes_dir, job_number)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_value(returned: Any, monitor: Optional[str] = None) -> float:
    """The objective value a trial returned, as a finite float (not yet sign-flipped).

    Parameters
    ----------
    returned : object
        The task function's return value.
    monitor : str, optional
        Key to read when ``returned`` is a mapping; dotted keys (``val.loss``) also walk
        nested mappings when the flat key is absent.

    Raises
    ------
    TrialValueError
        When there is no value, the key is missing, or the value is not a finite number.
    """
    if returned is None:
        raise TrialValueError("the task function returned None; return the metric to optimise")
    value = returned
    if isinstance(returned, Mapping):
        if monitor is None:
            raise TrialValueError(
                f"the task function returned a mapping with keys {sorted(map(str, returned))}; "
                "set hydra.sweeper.monitor to the key to optimise"
            )
        value = _lookup(returned, monitor)
    if isinstance(value, (str, bytes, bool)):
        raise TrialValueError(f"the returned value {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise TrialValueError(
            f"cannot read a number from the returned {type(value).__name__}: {error}"
        ) from None
    if not math.isfinite(number):
        raise TrialValueError(f"the returned value is {number}, not a finite number")
    return number


def read_values(returned: Any, objectives: Objectives) -> List[float]:
    """Several objectives' values a trial returned, in their order (not yet sign-flipped): a
    sequence of numbers, or a mapping read through each objective's ``monitor`` key.

    Raises
    ------
    TrialValueError
        The wrong number of values, a missing key, or a value that is not a finite number.
    """
    count = objectives.count
    if returned is None:
        raise TrialValueError(f"the task function returned None; return the {count} objectives' values")
    if isinstance(returned, Mapping):
        if any(name is None for name in objectives.names):
            raise TrialValueError(
                f"the task function returned a mapping with keys {sorted(map(str, returned))}; "
                f"set hydra.sweeper.monitor to the list of the {count} keys to optimise")
        items = [_lookup(returned, name) for name in objectives.names]  # type: ignore[arg-type]
    elif isinstance(returned, (str, bytes)) or not isinstance(returned, Sequence) and not _is_array(returned):
        raise TrialValueError(
            f"the task function returned {type(returned).__name__} {returned!r:.80}; with {count} "
            f"objectives it returns a list or tuple of {count} numbers (or a mapping and "
            "hydra.sweeper.monitor names the keys)")
    else:
        items = list(returned)
        if len(items) != count:
            raise TrialValueError(
                f"the task function returned {len(items)} value(s), but the sweep has {count} "
                f"objectives ({', '.join(objectives.label(i) for i in range(count))}); return "
                f"one value per objective, in that order")
    values = []
    for index, item in enumerate(items):
        try:
            values.append(read_value(item))
        except TrialValueError as error:
            raise TrialValueError(f"{objectives.label(index)}: {error}") from None
    return values


def _is_array(value: Any) -> bool:
    """A numpy array or a tensor with one axis (read without importing either)."""
    return getattr(value, "ndim", None) == 1 and hasattr(value, "__len__")


def to_loss(value: float, maximize: bool) -> float:
    """The value told to the optimiser, which always minimises."""
    return -value if maximize else value


def _lookup(mapping: Mapping[str, Any], key: str, field: str = "monitor") -> Any:
    if key in mapping:
        return mapping[key]
    node: Any = mapping
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise TrialValueError(
                f"{field}={key!r} is not in the returned mapping; its keys are "
                f"{sorted(map(str, mapping))}"
            )
        node = node[part]
    return node


def trial_from(number: int, params: Dict[str, Any], ret: Optional[JobReturn], outcomes_dir: Path,
               objectives: Union[Objectives, str, None], lost: str) -> Trial:
    """The record of job ``number`` from what the launcher returned for it (``ret``), or, when
    it returned nothing (a lost batch, a dead worker), from the outcome the job left in
    ``outcomes_dir``; ``lost`` is the error of a job that left neither. ``objectives`` may be
    a single ``monitor`` key (or None)."""
    if not isinstance(objectives, Objectives):
        objectives = Objectives((objectives,))
    if ret is None:
        outcome = read_outcome(outcomes_dir, number)
        if outcome is None:
            return Trial(number, params, None, FAILED, lost)
        duration, job_dir = outcome.get("duration_s"), outcome.get("job_dir")
        if "pruned_step" in outcome:
            value = outcome.get("value")
            return Trial(number, params, None if value is None else float(value), PRUNED, None, duration, job_dir)
        metrics = outcome.get("metrics")
        metrics = {str(k): float(v) for k, v in metrics.items()} if isinstance(metrics, dict) else None
        if objectives.metrics and metrics is None and ("value" in outcome or "values" in outcome):
            return Trial(number, params, None, FAILED, "metric_constraints: the outcome holds no metrics",
                         duration, job_dir)
        if "value" in outcome:
            return Trial(number, params, float(outcome["value"]), OK, None, duration, job_dir, metrics=metrics)
        if "values" in outcome:
            return Trial(number, params, None, OK, None, duration, job_dir, values=[float(v) for v in outcome["values"]],
                         metrics=metrics)
        return Trial(number, params, None, FAILED, outcome.get("error"), duration, job_dir)
    job_dir = _job_dir(ret)
    if ret.status != JobStatus.COMPLETED:
        error = getattr(ret, "_return_value", None)
        message = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else "the trial did not complete"
        outcome = read_outcome(outcomes_dir, number) or {}
        return Trial(number, params, None, FAILED, message, outcome.get("duration_s"), job_dir)
    returned, duration, pruned_step = ret.return_value, None, None
    if isinstance(returned, TimedReturn):
        returned, duration, pruned_step = returned.value, returned.duration_s, returned.pruned_step
    metrics = None
    try:
        read = objectives.read(returned)
        metrics = objectives.measure(returned)
    except TrialValueError as error:
        if pruned_step is None:
            return Trial(number, params, None, FAILED, str(error), duration, job_dir)
        read = None  # a pruned trial may return nothing: its curve says how far it got
    status = OK if pruned_step is None else PRUNED
    if isinstance(read, list):
        return Trial(number, params, None, status, None, duration, job_dir, values=read, metrics=metrics)
    return Trial(number, params, read, status, None, duration, job_dir, metrics=metrics)


def _job_dir(ret: JobReturn) -> Optional[str]:
    try:
        return str(ret.hydra_cfg.hydra.runtime.output_dir)
    except Exception:  # a launcher that fills no hydra_cfg: the record just has no job dir
        return None
