"""The candidate search of the batch proposer: where the acquisition is maximised.

It owns the mechanism over rows of the normalised space (:mod:`.columns`): random candidates
that pass the constraint (:func:`allowed_random_rows`), candidates near the best points
(:func:`perturb`), distances between rows, the neighbourhood of a point in
the model's length scales (:func:`within_reach`), and the L-BFGS-B refinement of the best
candidates over the continuous columns (:func:`refine`, :func:`refine_best`). The
acquisition is maximised over a bounded candidate set followed by a few refinements, where
skopt's ``Optimizer`` runs an unbounded search that costs seconds per batch. Its settings are
keyword-only arguments that :mod:`.proposer` sets from the :class:`.policy.Policy`; which
points are allowed and unseen is the proposer's, passed in as ``accept``.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import minimize
from skopt.space import Categorical

from .acquisition import Acquisition
from .columns import ColumnLayout
from .model import Surrogate

Bounds = Tuple[np.ndarray, np.ndarray]


def allowed_random_rows(
    draw: Callable[[int], np.ndarray],
    allowed: Callable[[np.ndarray], np.ndarray],
    n_rows: int,
    *,
    min_allowed: int,
    max_draws: int,
) -> np.ndarray:
    """Random rows that pass ``allowed`` (a boolean mask per row), from ``draw(n)`` (n random
    rows): ``n_rows`` drawn, then four times that per round, until ``min(n_rows,
    min_allowed)`` pass or ``max_draws`` rows have been drawn."""
    found, draws = [], 0
    while draws < max_draws:
        size = n_rows if draws == 0 else 4 * n_rows
        draws += size
        rows = draw(size)
        found.append(rows[allowed(rows)])
        if sum(len(f) for f in found) >= min(n_rows, min_allowed):
            break
    return np.vstack(found)


def nearest_distances(rows: np.ndarray, others: Sequence[np.ndarray]) -> np.ndarray:
    """Each row's Euclidean distance to the nearest of ``others``."""
    return np.min(np.linalg.norm(rows[:, None, :] - np.array(others)[None, :, :], axis=2), axis=1)


def within_reach(
    model: Surrogate, rows: np.ndarray, centre: np.ndarray, columns: ColumnLayout, *, radius: float,
    max_switches: int,
) -> np.ndarray:
    """Rows whose numeric coordinates are within ``radius`` of the model's length scales of
    ``centre`` and which switch at most ``max_switches`` of its categoricals."""
    near = model.scaled_distances(rows, centre, columns.numeric) <= radius
    switches = np.zeros(len(rows), dtype=int)
    for group in columns.choices:
        switches += np.any(rows[:, group] != centre[group], axis=1)
    return near & (switches <= max_switches)


def reach_box(model: Surrogate, centre: np.ndarray, free: np.ndarray, *, radius: float) -> Bounds:
    """The box over the continuous columns ``free`` that :func:`within_reach` allows around
    ``centre`` on each axis alone (its corners reach further), within the unit cube."""
    reach = radius * model.length_scales(len(centre))[free]
    return np.clip(centre[free] - reach, 0.0, 1.0), np.clip(centre[free] + reach, 0.0, 1.0)


def refine_best(
    acquisition: Acquisition,
    candidates: np.ndarray,
    values: np.ndarray,
    free: np.ndarray,
    accept: Callable[[np.ndarray], Optional[np.ndarray]],
    *,
    n_refine: int,
    bounds: Optional[Bounds] = None,
) -> Tuple[np.ndarray, Optional[int]]:
    """The best candidate (by ``values``), or a better point found by refining the top
    ``n_refine`` (:func:`refine`, within ``bounds``). ``accept(row)`` gives a refined row as it
    may be proposed (on the grid, say), or None where it may not. Returns the winner and its
    index in ``candidates`` (None for a refined point)."""
    order = np.argsort(-values, kind="stable")
    top = int(order[0])
    winner, winner_value = candidates[top], float(values[top])
    chosen: Optional[int] = top
    for index in order[:n_refine]:
        row, value = refine(acquisition, candidates[index], free, bounds=bounds)
        if not value > winner_value:
            continue
        accepted = accept(row)
        if accepted is None:
            continue
        winner, winner_value, chosen = accepted, value, None
    return winner, chosen


def refine(
    acquisition: Acquisition,
    start: np.ndarray,
    free: np.ndarray,
    *,
    maxiter: int = 40,
    bounds: Optional[Tuple[np.ndarray, np.ndarray]] = None,
) -> Tuple[np.ndarray, float]:
    """L-BFGS-B on the acquisition over the continuous columns ``free``, the rest held fixed,
    within ``bounds`` (lower and upper arrays over ``free``; default: the unit cube).

    The gradient is a forward difference taken in one vectorised prediction, so each step
    costs one call of the model on ``len(free) + 1`` points.
    """
    step = 1e-6

    def negative(u: np.ndarray) -> Tuple[float, np.ndarray]:
        x = start.copy()
        x[free] = u
        rows = np.repeat(x[None, :], len(free) + 1, axis=0)
        rows[np.arange(1, len(free) + 1), free] += step
        values = acquisition.score(rows)
        if not np.all(np.isfinite(values)):
            return 1e25, np.zeros(len(free))
        return -float(values[0]), -(values[1:] - values[0]) / step

    lower, upper = (np.zeros(len(free)), np.ones(len(free))) if bounds is None else bounds
    box = [(float(lo), float(min(hi, 1.0 - step))) for lo, hi in zip(lower, upper)]
    result = minimize(negative, np.clip(start[free], lower, upper), jac=True, method="L-BFGS-B",
                      bounds=box, options={"maxiter": maxiter})
    x = start.copy()
    x[free] = np.clip(result.x, 0.0, 1.0)
    return x, -float(result.fun)


def perturb(
    columns: ColumnLayout,
    centres: np.ndarray,
    n_points: int,
    rng: np.random.RandomState,
    *,
    scales: Sequence[float] = (0.02, 0.08, 0.2),
) -> np.ndarray:
    """Rows near ``centres`` (normalised rows): Gaussian steps on the numeric columns and, now
    and then, another category. Integers are off their grid until the caller maps the rows
    through ``inverse_transform`` and ``transform``."""
    rows = centres[rng.randint(len(centres), size=n_points)].copy()
    sizes = np.array(scales)[rng.randint(len(scales), size=n_points)]
    n_dims = len(columns.dimensions)
    for dim, where in zip(columns.dimensions, columns.slices):
        if isinstance(dim, Categorical):
            switch = rng.rand(n_points) < max(0.1, 1.0 / n_dims)
            if switch.any():
                fresh = dim.rvs(n_samples=int(switch.sum()), random_state=rng)
                rows[switch, where] = np.reshape(dim.transform(fresh), (-1, where.stop - where.start))
        else:
            rows[:, where.start] = np.clip(rows[:, where.start] + sizes * rng.randn(n_points), 0.0, 1.0)
    return rows
