"""The feasibility model of ``metric_constraints``: how likely a candidate satisfies them.

One GP per constraint learns its slack (:mod:`..problem.metrics`: at most 0 where the inequality
holds) from the told points that measured it, on :func:`signed_log`'s scale when the slacks span
orders of magnitude (``warp_ratio``), then standardised (the slacks' mean and standard
deviation, so the threshold 0 keeps its place); the constraints are taken as independent, and
a candidate's log probability of feasibility is the sum over them of ``log Phi((t - mean) /
std)``. An acquisition weighs its own log value by it (:meth:`Feasibility.weigh`: log
constrained EI, as Optuna's GPSampler does, with the probability raised to a power), or
maximises it alone before any told point is feasible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy.special import log_ndtr

from .model import GPModel, GPPosterior

# a constraint learnt from fewer measured points than this is left out of the model
MIN_POINTS = 2
# a constraint's typical slack is read from at least this many of its first measured points
# (the initial design, or this many when the design is smaller or absent)
MIN_TYPICAL_ROWS = 5


@dataclass(frozen=True)
class Feasibility:
    """Fitted constraint models, each with its threshold (0, standardised), and the power the
    probability of feasibility is raised to where it weighs an improvement."""

    models: Tuple[GPPosterior, ...]
    thresholds: Tuple[float, ...]
    power: float = 1.0

    def log_probability(self, X: np.ndarray) -> np.ndarray:
        """The log probability that each row of ``X`` satisfies every constraint."""
        total = np.zeros(len(X))
        for model, threshold in zip(self.models, self.thresholds):
            mean, std = model.predict(X)
            total += log_ndtr((threshold - mean) / np.maximum(std, 1e-12))
        return total

    def draw(self, X: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` joint draws of whether each row of ``X`` satisfies every constraint (rows x n)."""
        feasible = np.ones((len(X), n), dtype=bool)
        for model, threshold in zip(self.models, self.thresholds):
            feasible &= model.outcomes(X, n, rng) <= threshold
        return feasible

    def weigh(self, X: np.ndarray, improvement: Optional[np.ndarray]) -> np.ndarray:
        """The constrained acquisition at each row of ``X``: ``improvement`` (an acquisition's
        log values there) plus ``power`` times the log probability of feasibility; the log
        probability alone where there is no improvement to weigh (no feasible point yet)."""
        log_probability = self.log_probability(X)
        if improvement is None:
            return log_probability
        return improvement + self.power * log_probability


def fit_feasibility(gps: Sequence[GPModel], X: np.ndarray, slacks: np.ndarray, *,
                    power: float = 1.0, warp_ratio: float = math.inf,
                    typical_rows: Optional[int] = None) -> Optional[Feasibility]:
    """The models of the slacks (``X`` rows x constraints, NaN where a point measured nothing;
    ``inf`` where its slack could not be computed, which is told as the worst one seen), or None
    when no constraint has enough measured points; ``power`` as :class:`Feasibility` has it.
    A constraint whose largest slack is more than ``warp_ratio`` times its typical one (the
    median size of its first ``typical_rows`` measured slacks: the initial design's, spread over
    the space, which trials gathering at the boundary later do not shrink; all when None) is
    modelled on :func:`signed_log`'s scale in that unit."""
    models: List[GPPosterior] = []
    thresholds: List[float] = []
    for column, gp in enumerate(gps):
        values = slacks[:, column]
        known = ~np.isnan(values)
        if known.sum() < MIN_POINTS:
            continue
        finite = values[known & np.isfinite(values)]
        worst = float(finite.max()) if len(finite) else 1.0
        y = np.where(np.isfinite(values[known]), values[known], max(worst, 0.0) + abs(worst) + 1.0)
        unit = float(np.median(np.abs(y[:typical_rows]))) or 1.0
        if np.abs(y).max() > warp_ratio * unit:
            y = signed_log(y, unit)
        centre, spread = float(np.mean(y)), float(np.std(y)) or 1.0
        models.append(gp.fit(X[known], (y - centre) / spread))
        thresholds.append(-centre / spread)
    return Feasibility(tuple(models), tuple(thresholds), power) if models else None


def signed_log(slacks: np.ndarray, unit: float) -> np.ndarray:
    """``sign(s) log1p(|s| / unit)``: linear within the typical slack, logarithmic beyond it,
    and 0 stays 0. Slacks measured in psi or litres span orders of magnitude, and standardised
    as they are, the few largest would leave the boundary's neighbourhood a flat sliver of the
    model's range."""
    return np.sign(slacks) * np.log1p(np.abs(slacks) / unit)
