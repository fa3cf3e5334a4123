"""The sweeper's side of the ``forecast`` pruning rule: before each launch, a stop plan for the
trial from the model of every curve in the sweep dir.

:class:`StopPlanner` keeps the sweep's :class:`..search.curve_model.CurveModel`. Before a trial
is launched it reads every curve (completed, pruned and running trials', an earlier run's
included), refits the model's hyperparameters when the curves have grown by a quarter since
the last fit (else conditions on the new points only), and writes the trial's plan
(:mod:`..records.forecasts`): at each step of the model's grid from ``min_steps`` on, before
the last, the linear forecast of its final loss from its own curve and the limit above which
its chance to end below the best completed trial is under ``p_stop``. The trial applies the
plan at each report (:func:`..trial.pruning.forecast_stop`). Until ``min_trials`` trials have
completed no plan is written, and those trials are never stopped.

Freeze-thaw: a stopped trial whose app saved a checkpoint is paused, not ended.
:meth:`StopPlanner.resume_choice` picks, before a launch, the paused trial the model now gives
the best chance to end below the best completed trial, when that chance is at least
``p_resume``; the sweeper then launches a job with its params that continues it from its
checkpoint (its plan file says so), instead of a new point. A configuration's curve is the
whole of it, the paused trials' steps followed by its continuation's
(:func:`..records.curves.continued_curves`).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from scipy.stats import norm

from ..records.curves import Curve, full_steps, whole_curves
from ..records.forecasts import Check, Continuation, write_plan
from ..records.journal import Trial
from ..search.columns import ColumnLayout, Point
from ..search.curve_model import CurveModel, grid_steps, stop_plan
from ..settings import PrunerConf

log = logging.getLogger(__name__)

# the model's hyperparameters are refitted once the curves have grown by this factor
_REFIT_GROWTH = 1.25


class StopPlanner:
    """Writes each launched trial's stop plan; see the module docstring."""

    def __init__(self, sweep_dir: Path, layout: ColumnLayout, maximize: bool, *, random_state: int = 0,
                 min_steps: int = PrunerConf.min_steps, min_trials: int = PrunerConf.min_trials,
                 max_steps: Optional[int] = PrunerConf.max_steps, p_stop: float = PrunerConf.p_stop,
                 p_resume: Optional[float] = PrunerConf.p_resume, **_other_rules: object) -> None:
        self.sweep_dir = Path(sweep_dir)
        self.layout = layout
        self.maximize = maximize
        self.min_steps, self.min_trials, self.max_steps, self.p_stop = min_steps, min_trials, max_steps, p_stop
        self.p_resume = p_resume
        self.random_state = random_state
        self.model: Optional[CurveModel] = None  # fitted once min_trials completed
        self.fitted_on = 0  # how many curves the last fit saw
        self.best = math.inf  # the best completed trial's loss when the model was last brought up to date

    def _losses(self, curve: Curve) -> List[Tuple[int, float]]:
        return [(step, -value if self.maximize else value) for step, value in curve]

    def plan(self, launching: Sequence[Tuple[int, Point]], trials: Sequence[Trial], points: Mapping[int, Point],
             continuations: Mapping[int, Continuation]) -> None:
        """Write the plans of the trials about to launch (``(number, point)``); ``trials``: the
        sweep's returned trials, ``points``: every launched trial's point by number,
        ``continuations``: the launching jobs that continue a paused trial, and what they continue
        (written even with no plan: the job reads its checkpoint there)."""
        curves = self.read(trials, continuations)
        plans = self.plans(launching, curves, [t.number for t in trials if t.ok], points)
        for number, _ in launching:
            if number in plans or number in continuations:
                write_plan(self.sweep_dir, number, plans.get(number, []), continuations.get(number))

    def read(self, trials: Sequence[Trial], continuations: Mapping[int, Continuation]) -> Dict[int, Curve]:
        """Every configuration's whole curve from the sweep dir, under the number of the last
        trial that trained it (the journal's continuations and those about to launch)."""
        return whole_curves(self.sweep_dir, trials, {number: c.trial for number, c in continuations.items()})

    def _bring_up_to_date(self, curves: Mapping[int, Curve], completed: Sequence[int],
                          points: Mapping[int, Point]) -> Optional[int]:
        """Condition the model on every curve (refitting its hyperparameters once they have
        grown by a quarter) and note the best completed loss; the steps of a full trial, or
        None before ``min_trials`` completed with a curve."""
        completed = [n for n in completed if curves.get(n) and n in points]
        if len(completed) < self.min_trials:
            return None
        full = full_steps(curves, completed, self.max_steps)
        data: Dict[int, Tuple[Point, List[Tuple[int, float]]]] = {
            n: (points[n], self._losses(curve)) for n, curve in curves.items() if n in points}
        if self.model is None or self.model.max_steps != full or len(data) >= _REFIT_GROWTH * self.fitted_on:
            self.model = CurveModel(self.layout, full, self.random_state).fit(data)
            self.fitted_on = len(data)
        else:
            self.model.update(data)
        self.best = min(min(loss for _, loss in data[n][1]) for n in completed)
        return full

    def plans(self, launching: Sequence[Tuple[int, Point]], curves: Mapping[int, Curve],
              completed: Sequence[int], points: Mapping[int, Point]) -> Dict[int, List[Check]]:
        """The plans of the trials about to launch, from every configuration's whole curve so
        far (in the sweep's units, :meth:`read`) and the trials that completed; none until
        ``min_trials`` completed with a curve. A continuation's checks start after the steps
        its configuration already reported."""
        full = self._bring_up_to_date(curves, completed, points)
        if full is None:
            return {}
        assert self.model is not None
        z = float(norm.ppf(self.p_stop))
        plans = {}
        for number, point in launching:
            reached = curves[number][-1][0] if curves.get(number) else -1
            steps = [s for s in grid_steps(full) if max(self.min_steps, reached + 1) <= s < full - 1]
            plans[number] = stop_plan(self.model, point, steps, self.best, z)
        return plans

    def resume_choice(self, paused: Sequence[int], curves: Mapping[int, Curve], completed: Sequence[int],
                      points: Mapping[int, Point]) -> Optional[Tuple[int, float]]:
        """Of the ``paused`` trials (stopped with a checkpoint, not continued yet), the one the
        model now gives the best chance to end below the best completed trial, and that chance,
        when it is at least ``p_resume``; else None (and always None when ``p_resume`` is)."""
        paused = [n for n in paused if n in points and curves.get(n)]
        if self.p_resume is None or not paused or self._bring_up_to_date(curves, completed, points) is None:
            return None
        assert self.model is not None
        mean, sd = self.model.final([points[n] for n in paused])
        chances = norm.cdf((self.best - mean) / sd)
        best = int(chances.argmax())
        return (paused[best], float(chances[best])) if chances[best] >= self.p_resume else None
