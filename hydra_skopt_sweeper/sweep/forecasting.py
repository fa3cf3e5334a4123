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
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from scipy.stats import norm

from ..records.curves import Curve, full_steps, read_curves
from ..records.forecasts import Check, write_plan
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
                 **_other_rules: object) -> None:
        self.sweep_dir = Path(sweep_dir)
        self.layout = layout
        self.maximize = maximize
        self.min_steps, self.min_trials, self.max_steps, self.p_stop = min_steps, min_trials, max_steps, p_stop
        self.random_state = random_state
        self.model: Optional[CurveModel] = None  # fitted once min_trials completed
        self.fitted_on = 0  # how many curves the last fit saw

    def _losses(self, curve: Curve) -> List[Tuple[int, float]]:
        return [(step, -value if self.maximize else value) for step, value in curve]

    def plan(self, launching: Sequence[Tuple[int, Point]], trials: Sequence[Trial],
             points: Mapping[int, Point]) -> None:
        """Write the plans of the trials about to launch (``(number, point)``); ``trials``: the
        sweep's returned trials, ``points``: every launched trial's point by number."""
        curves = read_curves(self.sweep_dir)
        plans = self.plans(launching, curves, [t.number for t in trials if t.ok], points)
        for number, checks in plans.items():
            write_plan(self.sweep_dir, number, checks)

    def plans(self, launching: Sequence[Tuple[int, Point]], curves: Mapping[int, Curve],
              completed: Sequence[int], points: Mapping[int, Point]) -> Dict[int, List[Check]]:
        """The plans of the trials about to launch, from every curve so far (in the sweep's
        units) and the trials that completed; none until ``min_trials`` completed with a curve."""
        completed = [n for n in completed if curves.get(n) and n in points]
        if len(completed) < self.min_trials:
            return {}
        full = full_steps(curves, completed, self.max_steps)
        data: Dict[int, Tuple[Point, List[Tuple[int, float]]]] = {
            n: (points[n], self._losses(curve)) for n, curve in curves.items() if n in points}
        if self.model is None or self.model.max_steps != full or len(data) >= _REFIT_GROWTH * self.fitted_on:
            self.model = CurveModel(self.layout, full, self.random_state).fit(data)
            self.fitted_on = len(data)
        else:
            self.model.update(data)
        best = min(min(loss for _, loss in data[n][1]) for n in completed)
        steps = [s for s in grid_steps(full) if self.min_steps <= s < full - 1]
        z = float(norm.ppf(self.p_stop))
        return {number: stop_plan(self.model, point, steps, best, z) for number, point in launching}
