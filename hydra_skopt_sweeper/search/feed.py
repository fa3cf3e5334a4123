"""What the model is told about each trial: the one rule for the running sweep, its resume,
warm start and the plots' refit.

* A completed trial tells its value as a loss (negated when the sweep maximises); with
  several objectives, its values as a vector of losses.
* A pruned trial tells its best value before it was stopped (an honest, pessimistic reading of
  where it was heading), or, when the forecast rule stopped it, the value the model of the
  curves forecast for its end, if better; one that reported no value tells nothing, and its
  point is excluded (never proposed again).
* A failed trial follows ``on_failure``: ``penalize`` tells the worst loss told so far (each
  objective's own worst, with several; before any value is known, it waits for the first
  one); ``skip`` and ``raise`` exclude its point.
* A trial that continues a paused one (the same point, trained further) replaces what the
  paused trial told; if it fails, what the paused trial told stands.
* Trials that returned together (one batch) are told together: their values first, then
  their failures, so a batch's failure is penalised with the batch's own worst value too.
* With ``metric_constraints``, a trial that measured its metrics also tells its slack on each
  (:mod:`..problem.metrics`), feasible or not; a penalised failure tells none.

A :class:`ModelFeed` applies the rule to a learner (the :class:`~.proposer.BatchProposer`, or
any object with ``tell(points, losses)`` and ``exclude(points)``); :func:`returned_together`
groups a journal's trials as they returned, so that a replay tells what the sweep told.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, List, Optional, Protocol, Sequence, Tuple, Union

from ..problem.metrics import MetricConstraints
from ..problem.objectives import Objectives, to_loss
from ..records.journal import Trial

Point = List[Any]
Loss = Union[float, List[float]]  # one objective's loss, or several objectives' losses


class Learner(Protocol):
    def tell(self, points: Sequence[Point], losses: Sequence[Any], *slacks: Any) -> None: ...

    def exclude(self, points: Sequence[Point]) -> None: ...

    def revise(self, points: Sequence[Point], losses: Sequence[Any], *slacks: Any) -> None: ...


def told_loss(trial: Trial, objectives: Objectives) -> Optional[Loss]:
    """The loss a trial tells the model by its own value (its values, with several
    objectives), or None (a failed trial, a pruned one that reported no value, or one whose
    values are not the sweep's objectives)."""
    if not (trial.ok or trial.pruned):
        return None
    if objectives.several:
        if trial.values is None or len(trial.values) != objectives.count:
            return None
        return objectives.losses(trial.values)
    if trial.value is not None and math.isfinite(trial.value):
        loss = to_loss(trial.value, objectives.maximize[0])
        if trial.pruned and trial.forecast is not None:  # a curve only falls: never above its best so far
            loss = min(loss, to_loss(trial.forecast, objectives.maximize[0]))
        return loss
    return None


def _worse(a: Loss, b: Loss) -> Loss:
    """The worse of two losses; of two loss vectors, each objective's worse."""
    if isinstance(a, list):
        return [max(x, y) for x, y in zip(a, b)]  # type: ignore[arg-type]
    return max(a, b)  # type: ignore[type-var]


class ModelFeed:
    """Tells a learner about trials, by the rule above; it remembers the worst loss told and
    the failures still waiting for one."""

    def __init__(self, learner: Learner, objectives: Objectives, on_failure: str,
                 constraints: Optional[MetricConstraints] = None) -> None:
        self.learner = learner
        self.objectives = objectives
        self.constraints = constraints or None
        self.penalize = on_failure == "penalize"
        self.worst: Optional[Loss] = None
        self._unpenalised: List[Point] = []

    def tell(self, points: Sequence[Point], losses: Sequence[Loss],
             metrics: Optional[Sequence[Optional[Dict[str, float]]]] = None) -> None:
        """Tell values, with the metrics each point measured when the sweep has constraints
        (then any failure that was waiting for a first value)."""
        self._send(self.learner.tell, points, losses, metrics)
        if self._unpenalised and self.worst is not None:
            waiting, self._unpenalised = self._unpenalised, []
            self.learner.tell(waiting, [self.worst] * len(waiting))

    def returned(self, told: Sequence[Tuple[Point, Trial]]) -> None:
        """Tell the model about trials that returned together, each at its point."""
        continued = [(point, trial) for point, trial in told if trial.continues is not None]
        told = [(point, trial) for point, trial in told if trial.continues is None]
        for point, trial in continued:
            loss = told_loss(trial, self.objectives)
            if loss is not None:  # a failed continuation: the paused trial's word stands
                self._send(self.learner.revise, [point], [loss], [trial.metrics])
        losses = [told_loss(trial, self.objectives) for _, trial in told]
        valued = [(point, loss, trial.metrics) for (point, trial), loss in zip(told, losses) if loss is not None]
        self.tell([v[0] for v in valued], [v[1] for v in valued], [v[2] for v in valued])
        for (point, trial), loss in zip(told, losses):
            if trial.failed:
                self._failed(point)
            elif loss is None:  # pruned before any value: nothing to learn
                self.learner.exclude([point])

    def _send(self, method: Callable[..., None], points: Sequence[Point], losses: Sequence[Loss],
              metrics: Optional[Sequence[Optional[Dict[str, float]]]]) -> None:
        """``learner.tell`` or ``learner.revise`` these losses, with each point's slacks when the
        sweep has constraints; the worst loss seen follows them."""
        for loss in losses:
            self.worst = loss if self.worst is None else _worse(self.worst, loss)
        if self.constraints is None:
            method(points, losses)
        else:
            measured = metrics if metrics is not None else [None] * len(points)
            method(points, losses, [self.constraints.slacks(m) for m in measured])

    def _failed(self, point: Point) -> None:
        if not self.penalize:
            self.learner.exclude([point])
        elif self.worst is None:
            self._unpenalised.append(point)
        else:
            self.learner.tell([point], [self.worst])


def returned_together(trials: Iterable[Trial]) -> List[List[Trial]]:
    """A journal's trials grouped as they returned: a batch's trials (same ``batch``, in a
    row) together, every other trial alone."""
    groups: List[List[Trial]] = []
    for trial in trials:
        if groups and trial.batch is not None and groups[-1][-1].batch == trial.batch:
            groups[-1].append(trial)
        else:
            groups.append([trial])
    return groups
