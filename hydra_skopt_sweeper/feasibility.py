"""The feasibility model of ``metric_constraints``: how likely a candidate satisfies them.

One GP per constraint learns its slack (:mod:`.metrics`: at most 0 where the inequality
holds) from the told points that measured it, standardised (the slacks' mean and standard
deviation, so the threshold 0 keeps its place); the constraints are taken as independent, and
a candidate's log probability of feasibility is the sum over them of ``log Phi((t - mean) /
std)``. The acquisition adds it to its own log value (log constrained EI, as Optuna's
GPSampler does), or maximises it alone before any told point is feasible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy.special import log_ndtr

from .model import GPModel, GPPosterior

# a constraint learnt from fewer measured points than this is left out of the model
MIN_POINTS = 2


@dataclass(frozen=True)
class Feasibility:
    """Fitted constraint models, each with its threshold (0, standardised)."""

    models: Tuple[GPPosterior, ...]
    thresholds: Tuple[float, ...]

    def log_probability(self, X: np.ndarray) -> np.ndarray:
        """The log probability that each row of ``X`` satisfies every constraint."""
        total = np.zeros(len(X))
        for model, threshold in zip(self.models, self.thresholds):
            mean, std = model.predict(X)
            total += log_ndtr((threshold - mean) / np.maximum(std, 1e-12))
        return total


def fit_feasibility(gps: Sequence[GPModel], X: np.ndarray, slacks: np.ndarray) -> Optional[Feasibility]:
    """The models of the slacks (``X`` rows x constraints, NaN where a point measured nothing;
    ``inf`` where its slack could not be computed, which is told as the worst one seen), or None
    when no constraint has enough measured points."""
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
        centre, spread = float(np.mean(y)), float(np.std(y)) or 1.0
        models.append(gp.fit(X[known], (y - centre) / spread))
        thresholds.append(-centre / spread)
    return Feasibility(tuple(models), tuple(thresholds)) if models else None
