"""The proposer of a sweep of several objectives: one GP per objective, and points chosen to
grow the Pareto front's hypervolume.

:class:`ParetoProposer` is a :class:`~.proposer.BatchProposer` told a loss vector per point.
It keeps the batch proposer's initial design, bookkeeping (told, pending, excluded, never
proposed twice), constraint and candidate search, and changes what a candidate is worth:

* up to ``policy.ehvi_max_objectives`` objectives, the exact expected hypervolume improvement
  (:class:`HypervolumeImprovement`) of each objective's GP (fitted as the single-objective GP
  is, on its own :class:`~.policy.LossScale`), over the front of the GPs' means at the told
  points; points still pending (the batch's earlier points, the running trials of an async
  sweep) are accounted for by ``policy.n_fantasies`` joint draws of their outcomes, each draw
  joining the front, the improvement averaged over the draws (a Monte-Carlo q-EHVI);
* beyond that, ParEGO: each ask draws a random weight per objective, scalarises the losses
  (each scaled to [0, 1]) by the augmented Chebyshev function and asks the single-objective
  GP and EI for it, fantasies and the late local search included.

The reference point of the acquisition is ``reference_point`` (losses, as the sweep resolved
it) when given, else just past the worst scaled loss of each objective.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from scipy.special import logsumexp

from .feasibility import Feasibility
from .model import Fantasies, GPModel, GPPosterior, log_scale_columns
from .pareto import RegionGrid, RegionStack, chebyshev, non_dominated
from .policy import LossScale
from .proposer import BatchProposer, Point, _quiet

# the log of an improvement that underflows: far below any candidate with a real chance
_LOG_FLOOR = -1e4


@dataclass(frozen=True)
class HypervolumeImprovement:
    """The log expected hypervolume improvement of a candidate, to maximise over normalised
    rows: the GPs' posteriors (one per objective, scaled losses), and the region each
    fantasy's front leaves (:class:`.pareto.RegionStack`). ``model`` is the first objective's
    posterior, for the candidate search's distances.

    With ``screen`` set, more rows than that are first ranked in the first fantasy alone, and
    only the best ``screen`` of them are scored in all (the others are never picked): with
    three objectives a fantasy's region has (front size)**2 cells.
    """

    models: Tuple[Any, ...]  # one GPPosterior, or one Fantasies, per objective
    regions: Optional[RegionStack]  # one region per fantasy; None before a feasible point
    first: Optional[RegionStack] = None  # the first fantasy's region alone, to screen on
    screen: int = 0
    # metric constraints: the improvement weighed by the probability of satisfying them (that
    # probability alone, before any told point satisfied them)
    feasibility: Optional[Feasibility] = None

    @property
    def model(self) -> Any:
        return self.models[0]

    def score(self, X: np.ndarray) -> np.ndarray:
        if self.feasibility is None:
            return self._improvement(X)
        return self.feasibility.weigh(X, None if self.regions is None else self._improvement(X))

    def _improvement(self, X: np.ndarray) -> np.ndarray:
        assert self.regions is not None
        if self.screen and self.first is not None and len(X) > self.screen:
            ranked = np.argsort(-self._score(X, self.first, 1), kind="stable")[: self.screen]
            values = np.full(len(X), _LOG_FLOOR - 1.0)  # below every screened row
            values[ranked] = self._score(X[ranked], self.regions, len(self.regions.levels))
            return values
        return self._score(X, self.regions, len(self.regions.levels))

    def _score(self, X: np.ndarray, regions: RegionStack, n_regions: int) -> np.ndarray:
        means, stds = [], []
        for model in self.models:
            if isinstance(model, Fantasies):
                mean, std = model.predict_each(X)  # rows x draws
            else:
                mean, std = model.predict(X)
                mean = mean[:, None]
            means.append(mean[:, :n_regions])
            stds.append(std)
        mean, std = np.stack(means, axis=2), np.column_stack(stds)  # rows x draws x m, rows x m
        gains = regions.expected_improvement(mean, std)
        value = logsumexp(np.log(np.maximum(gains, 1e-300)), axis=1) - math.log(gains.shape[1])
        return np.maximum(value, _LOG_FLOOR)


class ParetoProposer(BatchProposer):
    """Ask for batches of points, tell their loss vectors (one loss per objective).

    Takes :class:`~.proposer.BatchProposer`'s arguments, and

    Parameters
    ----------
    n_objectives : int
        The length of each told loss vector (at least 2).
    reference_point : sequence of float, optional
        The losses the hypervolume is measured from; None: inferred from the told losses.
    """

    def __init__(self, dimensions: Sequence[Any], *, n_objectives: int,
                 reference_point: Optional[Sequence[float]] = None, **kwargs: Any) -> None:
        super().__init__(dimensions, **kwargs)
        if n_objectives < 2:
            raise ValueError(f"n_objectives={n_objectives}: a ParetoProposer has at least 2")
        self.n_objectives = n_objectives
        self.reference_point = None if reference_point is None else np.asarray(reference_point, dtype=float)
        self._losses: List[np.ndarray] = []
        self._gps = [self._gp] + [
            GPModel(self.columns, self._rng.randint(2**31 - 1), policy=self.policy,
                    warp_columns=log_scale_columns(self.columns, ratio=self.policy.log_scale_ratio))
            for _ in range(n_objectives - 1)]
        self._fits: Optional[Tuple[int, List[GPPosterior], List[LossScale]]] = None

    def tell(self, points: Sequence[Point], losses: Sequence[Any],
             slacks: Optional[Sequence[Optional[Sequence[float]]]] = None) -> None:
        """Record finished points and their loss vectors (and constraint slacks, as
        :meth:`.BatchProposer.tell`); a vector of another length, or with a value that is not
        finite, is refused."""
        vectors = [np.asarray(loss, dtype=float).reshape(-1) for loss in losses]
        for vector in vectors:
            if vector.size != self.n_objectives or not np.all(np.isfinite(vector)):
                raise ValueError(f"loss vector {vector.tolist()} must hold {self.n_objectives} finite losses")
        super().tell(points, [float(vector[0]) for vector in vectors], slacks)
        self._losses.extend(vectors)

    def recommend(self, points: Sequence[Point]) -> Tuple[int, float]:
        raise NotImplementedError("several objectives have a front, not one recommended point")

    # -- the model phase -------------------------------------------------------------------------

    def _ask_model(self, n_points: int) -> List[Point]:
        if self.n_objectives > self.policy.ehvi_max_objectives:
            return self._ask_scalarised(n_points)
        return self._ask_hypervolume(n_points)

    def _fit_all(self) -> Tuple[List[GPPosterior], List[LossScale]]:
        """Each objective's GP on its own scaled losses, fitted once per state of the data."""
        if self._fits is None or self._fits[0] != len(self._losses):
            X, losses = np.array(self._X), np.array(self._losses)
            scales = [LossScale.fit(losses[:, k], self.policy) for k in range(self.n_objectives)]
            with _quiet():
                models = [gp.fit(X, scale(losses[:, k])) for k, (gp, scale) in enumerate(zip(self._gps, scales))]
            self._fits = (len(self._losses), models, scales)
        return self._fits[1], self._fits[2]

    def _reference(self, scales: Sequence[LossScale], front: np.ndarray) -> np.ndarray:
        """The acquisition's reference point, in scaled losses."""
        if self.reference_point is not None:
            return np.array([float(scale(np.array([value]))[0]) for scale, value in zip(scales, self.reference_point)])
        scaled = np.column_stack([scale(np.array(self._losses)[:, k]) for k, scale in enumerate(scales)])
        worst, best = scaled.max(axis=0), np.minimum(scaled.min(axis=0), front.min(axis=0))
        return worst + self.policy.reference_margin * np.maximum(worst - best, 1e-9)

    def _ask_hypervolume(self, n_points: int) -> List[Point]:
        """One fit per objective, then each point of the batch in turn, on fantasies of every
        pending point's outcomes (the earlier points of the batch included)."""
        X = np.array(self._X)
        models, scales = self._fit_all()
        self._fitted = True
        fitted = np.column_stack([model.predict(X)[0] for model in models])
        feasibility, feasible = self._feasibility(X)
        if feasibility is None and not feasible.any():
            feasible[:] = True  # too few measured points to model the constraints: the losses alone
        on_front = np.zeros(len(X), dtype=bool)
        on_front[feasible] = non_dominated(fitted[feasible])  # the feasible front
        front = fitted[on_front]
        reference = self._reference(scales, front) if len(front) else None
        batch_rows: List[np.ndarray] = list(self._pending.values())
        acquisition = self._acquisition(models, front, reference, batch_rows, feasibility)
        centres = X[on_front] if on_front.any() else X[np.argsort(-feasibility.log_probability(X))] if feasibility else X
        candidates = self._candidates(centres[: self.policy.n_centres * 4])
        points: List[Point] = []
        for index in range(n_points):
            if len(candidates) == 0:
                candidates = self._fresh_random(n_points - index)
                if len(candidates) == 0:
                    break
            row, candidates = self._pick(acquisition, candidates, batch_rows, None, first=False)  # type: ignore[arg-type]
            batch_rows.append(row)
            point = self._denormalise(row[None, :])[0]
            points.append(point)
            self._mark_pending(point)
            if index + 1 < n_points:
                acquisition = self._acquisition(models, front, reference, batch_rows, feasibility)
        return points

    def _acquisition(self, models: Sequence[GPPosterior], front: np.ndarray, reference: Optional[np.ndarray],
                     pending: Sequence[np.ndarray], feasibility: Optional[Feasibility]) -> HypervolumeImprovement:
        """The improvement over ``front``, with ``pending`` rows' outcomes fantasised; with no
        feasible front yet (``reference`` None), the probability of feasibility alone."""
        if reference is None:
            return HypervolumeImprovement(tuple(models), None, feasibility=feasibility)
        if not pending or self.policy.n_fantasies <= 0:
            return HypervolumeImprovement(tuple(models), RegionStack.of([RegionGrid.of(front, reference)]),
                                          feasibility=feasibility)
        rows = np.array(pending)
        fantasies = [Fantasies(model, rows, self.policy.n_fantasies, self._rng) for model in models]
        counts = self._feasible_draws(feasibility, rows)  # a pending point joins a fantasy's front only if feasible there
        regions = []
        for draw in range(self.policy.n_fantasies):
            drawn = np.column_stack([f.outcomes[:, draw] for f in fantasies])
            joined = np.vstack([front, drawn if counts is None else drawn[counts[:, draw]]])
            regions.append(RegionGrid.of(joined[non_dominated(joined)], reference))
        screen = self.policy.pareto_screen if self.n_objectives > 2 else 0
        return HypervolumeImprovement(tuple(fantasies), RegionStack.of(regions),
                                      RegionStack.of(regions[:1]) if screen else None, screen, feasibility)

    def _ask_scalarised(self, n_points: int) -> List[Point]:
        """ParEGO: this ask's random weights scalarise the losses, then the single-objective
        model phase chooses the points."""
        losses = np.array(self._losses)
        low, high = losses.min(axis=0), losses.max(axis=0)
        unit = (losses - low) / np.where(high > low, high - low, 1.0)
        weights = self._rng.dirichlet(np.ones(self.n_objectives))
        self._y = list(chebyshev(unit, weights, augment=self.policy.chebyshev_augment))
        self._fit_cache = None  # the same points, other values
        return super()._ask_model(n_points)
