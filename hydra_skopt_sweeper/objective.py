"""What a trial returned -> the one float the optimiser minimises.

A trial may return a float or int, a numpy scalar, a 0-d tensor (anything ``float()``
accepts: torch is never imported here), or a mapping such as Lightning's
``trainer.callback_metrics``, read through ``monitor``. Anything else, or a value that is
not finite, is a failed trial: :class:`TrialValueError` says why.

Job side, :class:`TimedTask` wraps the task function: it times the call and leaves the
job's outcome in the sweep's ``.outcomes/``. Sweeper side, :func:`trial_from` makes a job's
:class:`~.journal.Trial` from what the launcher returned, or from that outcome when the
launcher returned nothing.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional

from hydra.core.utils import JobReturn, JobStatus

from .journal import FAILED, OK, PRUNED, Trial
from .sweep_dir import atomic_write_text, outcome_file


class TrialValueError(ValueError):
    """The trial ran but its return value cannot be used as an objective."""


class TrialExit(RuntimeError):
    """The trial called ``sys.exit``: a failed trial, not the end of the sweep."""


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
        monitor: Optional[str] = None,
    ) -> None:
        self.task_function = task_function
        self.outcomes_dir = outcomes_dir
        self.monitor = monitor

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
            outcome["value"] = read_value(value, self.monitor)
        except TrialValueError as error:
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


def to_loss(value: float, maximize: bool) -> float:
    """The value told to the optimiser, which always minimises."""
    return -value if maximize else value


def _lookup(mapping: Mapping[str, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    node: Any = mapping
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise TrialValueError(
                f"monitor={key!r} is not in the returned mapping; its keys are "
                f"{sorted(map(str, mapping))}"
            )
        node = node[part]
    return node


def trial_from(number: int, params: Dict[str, Any], ret: Optional[JobReturn], outcomes_dir: Path,
               monitor: Optional[str], lost: str) -> Trial:
    """The record of job ``number`` from what the launcher returned for it (``ret``), or, when
    it returned nothing (a lost batch, a dead worker), from the outcome the job left in
    ``outcomes_dir``; ``lost`` is the error of a job that left neither."""
    if ret is None:
        outcome = read_outcome(outcomes_dir, number)
        if outcome is None:
            return Trial(number, params, None, FAILED, lost)
        duration, job_dir = outcome.get("duration_s"), outcome.get("job_dir")
        if "pruned_step" in outcome:
            value = outcome.get("value")
            return Trial(number, params, None if value is None else float(value), PRUNED, None, duration, job_dir)
        if "value" in outcome:
            return Trial(number, params, float(outcome["value"]), OK, None, duration, job_dir)
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
    try:
        value: Optional[float] = read_value(returned, monitor)
    except TrialValueError as error:
        if pruned_step is None:
            return Trial(number, params, None, FAILED, str(error), duration, job_dir)
        value = None  # a pruned trial may return nothing: its curve says how far it got
    return Trial(number, params, value, OK if pruned_step is None else PRUNED, None, duration, job_dir)


def _job_dir(ret: JobReturn) -> Optional[str]:
    try:
        return str(ret.hydra_cfg.hydra.runtime.output_dir)
    except Exception:  # a launcher that fills no hydra_cfg: the record just has no job dir
        return None
