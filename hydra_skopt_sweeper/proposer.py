"""The batch proposer: one ask/tell object that chooses the points of the next batch.

It owns the optimiser's side of a sweep and nothing of Hydra: points are lists of skopt
coordinates, values are losses (lower is better). It adds to scikit-optimize's ``Optimizer``

* a constrained, space-filling initial design (skopt's own sobol/lhs/halton/grid generators
  ignore ``space_constraint``, and telling such a point later raises);
* a guard that never hands skopt a non-finite value (``tell(x, nan)`` corrupts it);
* quiet warnings: skopt and scikit-learn warn on repeated points and on GP convergence, and
  Hydra's test helpers run the sweep with ``-Werror``.
"""
from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Callable, List, Optional, Sequence

import numpy as np
from skopt import Optimizer
from skopt.space import Dimension, Space
from skopt.utils import cook_initial_point_generator

from .errors import SweeperConfigError

log = logging.getLogger(__name__)

Point = List[Any]
PointFilter = Callable[[Point], bool]

ACQ_FUNCS = ("EI", "PI", "LCB", "gp_hedge")
ACQ_OPTIMIZERS = ("auto", "lbfgs", "sampling")
BASE_ESTIMATORS = ("GP", "RF", "ET")
BATCH_STRATEGIES = ("cl_min", "cl_mean", "cl_max")
INITIAL_POINT_GENERATORS = ("random", "sobol", "halton", "hammersly", "lhs", "grid")
# Rejection sampling gives up after this many draws per wanted point.
_DRAWS_PER_POINT = 2000


class BatchProposer:
    """Ask for batches of points, tell their losses.

    Parameters
    ----------
    dimensions : list of skopt Dimension
        The search space, in the order of the points.
    n_initial_points : int
        Points of the space-filling design asked before the surrogate model is used.
    initial_point_generator : str
        One of ``random, sobol, halton, hammersly, lhs, grid``.
    acq_func, acq_optimizer, base_estimator : str
        Passed to ``skopt.Optimizer``.
    batch_strategy : str
        Constant liar used for batches: ``cl_min``, ``cl_mean`` or ``cl_max``.
    is_allowed : callable, optional
        ``is_allowed(point) -> bool``; no point for which it is false is ever returned.
    random_state : int, optional
        Seed; the same seed and the same told values give the same points.
    """

    def __init__(
        self,
        dimensions: Sequence[Dimension],
        n_initial_points: int = 10,
        initial_point_generator: str = "sobol",
        acq_func: str = "gp_hedge",
        acq_optimizer: str = "auto",
        base_estimator: str = "GP",
        batch_strategy: str = "cl_min",
        is_allowed: Optional[PointFilter] = None,
        random_state: Optional[int] = None,
    ) -> None:
        _check_choice("initial_point_generator", initial_point_generator, INITIAL_POINT_GENERATORS)
        _check_choice("acq_func", acq_func, ACQ_FUNCS)
        _check_choice("acq_optimizer", acq_optimizer, ACQ_OPTIMIZERS)
        _check_choice("base_estimator", base_estimator, BASE_ESTIMATORS)
        _check_choice("batch_strategy", batch_strategy, BATCH_STRATEGIES)
        self.space = Space(list(dimensions))
        self.n_initial_points = n_initial_points
        self.batch_strategy = batch_strategy
        self.is_allowed = is_allowed
        self._rng = np.random.RandomState(random_state)
        self._design = _initial_design(
            self.space, n_initial_points, initial_point_generator, is_allowed, self._rng
        )
        with _quiet():
            self._optimizer = Optimizer(
                self.space.dimensions,
                base_estimator=base_estimator,
                n_initial_points=n_initial_points,
                initial_point_generator="random",
                acq_func=acq_func,
                acq_optimizer=acq_optimizer,
                random_state=self._rng.randint(2**31 - 1),
                model_queue_size=1,
                space_constraint=is_allowed,
            )
        self.n_told = 0

    @property
    def model_ready(self) -> bool:
        """True once the surrogate has been fit, i.e. proposals come from the model."""
        return bool(self._optimizer.models)

    def ask(self, n_points: int) -> List[Point]:
        """The next ``n_points`` distinct points, each allowed by the constraint."""
        points: List[Point] = []
        while self._design and len(points) < n_points and self.n_told + len(points) < self.n_initial_points:
            points.append(self._design.pop(0))
        remaining = n_points - len(points)
        if remaining > 0:
            with _quiet():
                if remaining == 1:
                    asked = [self._optimizer.ask()]
                else:
                    asked = self._optimizer.ask(n_points=remaining, strategy=self.batch_strategy)
            points.extend([_plain(x) for x in p] for p in asked)
        return points

    def tell(self, points: Sequence[Point], losses: Sequence[float]) -> None:
        """Record finished points; non-finite losses are refused, never passed to skopt."""
        if not points:
            return
        for loss in losses:
            if not math.isfinite(loss):
                raise ValueError(f"loss {loss} is not finite; the caller must filter it")
        with _quiet():
            self._optimizer.tell([list(p) for p in points], [float(v) for v in losses])
        self.n_told += len(points)


def _initial_design(
    space: Space,
    n_points: int,
    generator: str,
    is_allowed: Optional[PointFilter],
    rng: np.random.RandomState,
) -> List[Point]:
    """A space-filling design of allowed points: generated, filtered, topped up at random."""
    if n_points <= 0:
        return []
    design: List[Point] = []
    if generator != "random":
        sampler = cook_initial_point_generator(generator)
        # oversample so that filtering by the constraint still leaves n_points well spread
        n_generated = n_points if is_allowed is None else 4 * n_points
        with _quiet():
            generated = sampler.generate(space.dimensions, n_generated, random_state=rng.randint(2**31 - 1))
        for point in generated:
            point = [_plain(x) for x in point]
            if is_allowed is None or is_allowed(point):
                design.append(point)
            if len(design) == n_points:
                break
    if len(design) < n_points:
        design.extend(sample_allowed(space, n_points - len(design), is_allowed, rng))
    return design


def sample_allowed(
    space: Space, n_points: int, is_allowed: Optional[PointFilter], rng: np.random.RandomState
) -> List[Point]:
    """``n_points`` random points that pass ``is_allowed`` (rejection sampling)."""
    found: List[Point] = []
    budget = _DRAWS_PER_POINT * max(n_points, 1)
    while len(found) < n_points and budget > 0:
        draw = min(budget, max(256, 4 * (n_points - len(found))))
        budget -= draw
        for point in space.rvs(n_samples=draw, random_state=rng):
            point = [_plain(x) for x in point]
            if is_allowed is None or is_allowed(point):
                found.append(point)
                if len(found) == n_points:
                    break
    if len(found) < n_points:
        raise SweeperConfigError(
            f"hydra.sweeper.constraint: only {len(found)} of the {n_points} points wanted "
            f"satisfy it in {_DRAWS_PER_POINT * max(n_points, 1)} random draws; loosen it"
        )
    return found


def _check_choice(field: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        hint = ""
        if field == "base_estimator" and str(value).upper() in ("GBRT", "DUMMY"):
            hint = " (skopt's GBRT and dummy estimators are broken on current numpy/scikit-learn)"
        raise SweeperConfigError(
            f"hydra.sweeper.{field}={value!r}: must be one of {', '.join(allowed)}{hint}"
        )


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


class _quiet(warnings.catch_warnings):
    """Silence the optimiser's warnings (repeated points, GP convergence) inside the block."""

    def __enter__(self) -> Any:
        result = super().__enter__()
        warnings.simplefilter("ignore")
        return result
