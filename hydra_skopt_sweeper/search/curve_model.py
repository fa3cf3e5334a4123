"""A model of learning curves: what a configuration's monitored loss will be at the full budget,
learned from every reported point of every trial (completed, stopped or still running).

One Gaussian process over (configuration, step). A configuration enters as its normalised
columns (:class:`.columns.ColumnLayout`); a step as reported (from 0, as Lightning counts
epochs; a full trial's last step is ``max_steps - 1``) as ``s = log(step + 1) / log(max_steps)``
in [0, 1] (curves move most at the start). A trial's curve enters as its best-so-far loss (what a run
that keeps its best checkpoint is worth) at the steps of a geometric grid, plus its last step:
a handful of points per trial, so the model stays cheap at hundreds of trials. The kernel is a
Matern 5/2 with one length scale per column and one for the step, times a constant, plus white
noise; the step's length scale lets the model say how far early values predict late ones, the
columns' let a slow starter's finished neighbours speak for it. Hyperparameters are fitted by
:meth:`CurveModel.fit`; :meth:`CurveModel.update` conditions on new points without refitting.

What it answers: :meth:`CurveModel.final` (mean and sd of a configuration's loss at the full
budget, given the points seen so far, its own partial curve included), and :func:`stop_plan`
(the ``forecast`` rule's checks for a trial about to start, :mod:`..records.forecasts`).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from . import policy
from ..records.forecasts import Check
from .columns import ColumnLayout, Point

# (step, loss) pairs of one trial, steps as reported
Curve = Sequence[Tuple[int, float]]


def grid_steps(max_steps: int, count: int = policy.CURVE_GRID_POINTS) -> Tuple[int, ...]:
    """The steps (from 0) at which a curve enters the model: ``count`` steps spaced
    geometrically from the first to the last of ``max_steps``."""
    return tuple(sorted({int(round(s)) - 1 for s in np.geomspace(1, max_steps, count)}))


def best_so_far(curve: Curve) -> List[Tuple[int, float]]:
    """The running minimum of a curve, step by step, in step order."""
    out, best = [], math.inf
    for step, loss in sorted(curve):
        best = min(best, float(loss))
        out.append((int(step), best))
    return out


def sampled(curve: Curve, grid: Sequence[int]) -> List[Tuple[int, float]]:
    """The points of a curve's running minimum that the model sees: those on ``grid``, and the
    last one."""
    points = best_so_far(curve)
    if not points:
        return []
    keep = set(grid)
    chosen = [p for p in points[:-1] if p[0] in keep]
    return chosen + [points[-1]]


def _matern(n_columns: int, columns: bool, step: bool) -> Matern:
    """A Matern 5/2 over the configuration's columns, the step, or both (a part left out gets
    a length scale too long to matter)."""
    free, off = (1e-2, 1e2), (1e5, 1e6)
    bounds = [free if columns else off] * n_columns + [free if step else off]
    scales = [1.0 if columns else 1e5] * n_columns + [1.0 if step else 1e5]
    return Matern(scales, bounds, nu=2.5)


def _kernel(n_columns: int):
    """How much each configuration ends apart (columns), the shape all curves share (step),
    how each configuration's curve departs from that shape (both), and the epoch noise."""
    return (ConstantKernel(1.0, (1e-3, 1e3)) * _matern(n_columns, True, False)
            + ConstantKernel(1.0, (1e-3, 1e3)) * _matern(n_columns, False, True)
            + ConstantKernel(0.1, (1e-4, 1e3)) * _matern(n_columns, True, True)
            + WhiteKernel(1e-2, (1e-6, 1e0)))


def _lbfgs(objective, start: np.ndarray, bounds: np.ndarray):
    """sklearn's own optimiser (L-BFGS-B on the log marginal likelihood), its iterations capped."""
    from scipy.optimize import minimize

    result = minimize(objective, start, method="L-BFGS-B", jac=True, bounds=bounds,
                      options={"maxiter": policy.CURVE_FIT_ITERATIONS})
    return result.x, result.fun


@dataclass
class CurveModel:
    """The GP over (configuration, step) of one sweep; see the module docstring.

    Build it with the sweep's space layout and the full budget in steps; :meth:`fit` on the
    curves so far (``{trial: (point, curve)}``), then ask :meth:`final`.
    """

    layout: ColumnLayout
    max_steps: int
    random_state: int = 0
    _gp: GaussianProcessRegressor = field(init=False, repr=False, default=None)
    _rows: np.ndarray = field(init=False, repr=False, default=None)
    _losses: np.ndarray = field(init=False, repr=False, default=None)

    def _s(self, steps: np.ndarray) -> np.ndarray:
        return np.log(np.clip(np.asarray(steps, dtype=float) + 1, 1, self.max_steps)) / math.log(max(self.max_steps, 2))

    def _data(self, trials: Dict[int, Tuple[Point, Curve]]) -> Tuple[np.ndarray, np.ndarray]:
        grid = grid_steps(self.max_steps)
        # past CURVE_MAX_POINTS in all, each curve keeps its last point and fewer of its grid's
        per_trial = max(1, policy.CURVE_MAX_POINTS // max(1, len(trials)))
        kept = [(point, points) for point, curve in trials.values() for points in [sampled(curve, grid)] if points]
        if not kept:
            return np.zeros((0, self.layout.n_columns + 1)), np.zeros(0)
        columns = self.layout.normalise([point for point, _ in kept])  # one transform for all
        rows, losses = [], []
        for x, (_, points) in zip(columns, kept):
            if len(points) > per_trial:
                keep = np.unique(np.round(np.linspace(0, len(points) - 1, per_trial)).astype(int))
                points = [points[i] for i in keep]
            for step, loss in points:
                rows.append(np.append(x, self._s(step)))
                losses.append(loss)
        return np.array(rows).reshape(len(rows), self.layout.n_columns + 1), np.array(losses)

    def fit(self, trials: Dict[int, Tuple[Point, Curve]]) -> "CurveModel":
        """Fit the kernel's hyperparameters and condition on every trial's curve."""
        rows, losses = self._data(trials)
        self._gp = GaussianProcessRegressor(_kernel(self.layout.n_columns), normalize_y=True,
                                            optimizer=_lbfgs, random_state=self.random_state)
        self._fit(rows, losses)
        return self

    def update(self, trials: Dict[int, Tuple[Point, Curve]]) -> "CurveModel":
        """Condition on every trial's curve with the hyperparameters of the last :meth:`fit`."""
        rows, losses = self._data(trials)
        self._gp = GaussianProcessRegressor(self._gp.kernel_, normalize_y=True, optimizer=None)
        self._fit(rows, losses)
        return self

    def _fit(self, rows: np.ndarray, losses: np.ndarray) -> None:
        self._rows, self._losses = rows, losses
        if len(rows) < 2:
            return
        with warnings.catch_warnings():  # a length scale at its bound is a finding, not a fault
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._gp.fit(rows, losses)

    @property
    def n_points(self) -> int:
        """How many (configuration, step) points the model is conditioned on."""
        return 0 if self._rows is None else len(self._rows)

    def final(self, points: Sequence[Point]) -> Tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each point's loss at the full budget."""
        x = self.layout.normalise(list(points))
        rows = np.hstack([x, np.ones((len(x), 1))])
        if self.n_points < 2:
            centre = float(self._losses[0]) if self.n_points else 0.0
            return np.full(len(x), centre), np.full(len(x), math.inf)
        mean, sd = self._gp.predict(rows, return_std=True)
        return np.asarray(mean, dtype=float), np.maximum(np.asarray(sd, dtype=float), 1e-12)


def stop_plan(model: CurveModel, point: Point, steps: Sequence[int], best: float, z: float) -> List[Check]:
    """The checks a trial at ``point`` makes at ``steps`` (its grid steps, increasing): at each,
    the model's forecast of its final loss given its own curve up to there is a linear function
    of that curve (a Gaussian process conditioned on more data of its own), and it stops when
    that forecast lies above ``best`` by more than ``-z`` of its standard deviations
    (``z = Phi^-1(p)``: the chance of ending below ``best`` is under ``p``)."""
    if model.n_points < 2 or not steps:
        return []
    x = model.layout.normalise([point])[0]
    step_s = model._s(np.array(list(steps) + [model.max_steps - 1]))
    rows = np.hstack([np.tile(x, (len(step_s), 1)), step_s[:, None]])
    # the joint posterior of the trial's losses at its steps and at the end, observation noise included
    mean, cov = model._gp.predict(rows, return_cov=True)
    checks = []
    for k in range(1, len(steps) + 1):
        own = slice(0, k)
        weights = np.linalg.solve(cov[own, own] + 1e-10 * np.eye(k), cov[own, -1])
        intercept = float(mean[-1] - weights @ mean[own])
        variance = float(cov[-1, -1] - weights @ cov[own, -1])
        sd = math.sqrt(max(variance, 1e-24))
        checks.append(Check(int(steps[k - 1]), tuple(int(s) for s in steps[:k]),
                            tuple(float(w) for w in weights), intercept, best - z * sd, sd, model.max_steps - 1))
    return checks

