"""What runs around the app's task function in a trial's process.

:class:`TimedTask` wraps the task function: it times the call, starts the trial's pruning
state (:mod:`.pruning`), reads what the task returned as the objective value(s)
(:mod:`..problem.objectives`) and leaves the job's outcome in the sweep's ``.outcomes/``
(:mod:`..records.outcomes`), so the sweeper can still read a trial whose launcher lost it.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from ..problem.objectives import Objectives, TrialValueError
from ..records.outcomes import TimedReturn, write_outcome
from . import pruning


class TrialExit(RuntimeError):
    """The trial called ``sys.exit``: a failed trial, not the end of the sweep."""


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
        write_outcome(Path(self.outcomes_dir), hydra_cfg.job.num, outcome)


def _after_interrupt(error: BaseException) -> bool:
    """Whether an exception was raised while a KeyboardInterrupt was being handled."""
    context = error.__context__
    while context is not None:
        if isinstance(context, KeyboardInterrupt):
            return True
        context = context.__context__
    return False
