"""The batch proposer: one ask/tell object that chooses the points of the next batch.

It owns the optimiser's side of a sweep and nothing of Hydra: points are lists of skopt
coordinates (plain Python values), values are losses (lower is better). It owns

* a constrained, space-filling initial design (skopt's own sobol/lhs/halton/grid generators
  ignore ``space_constraint``, and telling such a point later raises);
* the bookkeeping of what was told, what is pending (asked, not told) and what is excluded
  (failed under ``on_failure=skip``), so that no point is proposed twice;
* batch selection: the surrogate (:mod:`.model`) is fitted once per batch, and each
  further point of the batch only conditions it on the earlier ones' unknown outcomes: by
  default on joint draws of them (fantasies, so that EI becomes the batch's joint EI), or on
  one lie each (``batch_strategy``); an async refill, asked with the other slots' points
  pending, is told a mild lie about them (``policy.refill_kb_stds``); in the last part of the
  budget all but the first point of a batch, and async refills, are looked for near the best
  point so far;
* the recommendation: the told point with the best posterior mean (:meth:`recommend`);
* a guard that never hands skopt or scikit-learn a non-finite value, and quiet warnings
  (Hydra's test helpers run the sweep with ``-Werror``).

Its constants are a :class:`.policy.Policy`, which it hands to the mechanism as keyword
arguments. The mechanism is split by concept: the normalised space's columns
(:mod:`.columns`), the surrogate models (:mod:`.model`), the acquisition functions and the
object that binds one to a model and its incumbent (:mod:`.acquisition`), and the search for
the acquisition's maximum (:mod:`.candidate_search`); the proposer passes one
:class:`.acquisition.Acquisition` down a batch's choice and keeps what is allowed and unseen.
"""
from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from skopt.space import Categorical, Dimension, Space
from skopt.utils import cook_initial_point_generator
from threadpoolctl import threadpool_limits

from ..errors import SweeperConfigError, SweepStoppedError
from ..problem.search_space import to_plain
from ..settings import AcqFunc, AcqOptimizer, BaseEstimator, BatchStrategy, InitialPointGenerator, choices
from .acquisition import Acquisition, Hedge
from .candidate_search import (
    allowed_random_rows,
    nearest_distances,
    perturb,
    reach_box,
    refine_best,
    within_reach,
)
from .columns import ColumnLayout, row_key
from .feasibility import MIN_TYPICAL_ROWS, Feasibility, fit_feasibility
from .model import Fantasies, ForestModel, GPModel, GPPosterior, Surrogate, log_scale_columns
from .policy import LossScale, Policy

log = logging.getLogger(__name__)

Point = List[Any]
PointFilter = Callable[[Point], bool]

ACQ_FUNCS = choices(AcqFunc)
ACQ_OPTIMIZERS = choices(AcqOptimizer)
BASE_ESTIMATORS = choices(BaseEstimator)
BATCH_STRATEGIES = choices(BatchStrategy)
INITIAL_POINT_GENERATORS = choices(InitialPointGenerator)
# Rejection sampling gives up after this many draws per wanted point.
_DRAWS_PER_POINT = 2000
# Stop drawing random candidates once this many pass the constraint (or the draws run out).
_MIN_ALLOWED = 256
_MAX_DRAWS = 40000


class SearchSpaceExhausted(SweepStoppedError):
    """No allowed point is left that was not told, asked or excluded already."""


class BatchProposer:
    """Ask for batches of points, tell their losses.

    Parameters
    ----------
    dimensions : list of skopt Dimension
        The search space, in the order of the points.
    n_initial_points : int
        Points of the space-filling design asked before the surrogate model is used.
    initial_point_generator : str
        One of ``random, sobol, halton, hammersly, lhs, grid``. A generated design's
        categoricals take each option equally often (``policy.balanced_choices``; a grid's
        are left as the grid has them).
    acq_func : str
        ``EI``, ``PI``, ``LCB`` or ``gp_hedge`` (skopt's meanings; a softmax over the gains
        of the three, updated once per batch).
    acq_optimizer : str
        ``sampling``: the best of the candidates; ``lbfgs``: then refine the best few with
        L-BFGS-B over the continuous dimensions; ``auto``: ``lbfgs`` for a GP with a
        continuous dimension, else ``sampling``.
    base_estimator : str
        ``GP`` (skopt's kernel, MAP hyperparameters), ``RF`` or ``ET`` (skopt's forests).
    batch_strategy : str
        How a batch's later points account for its earlier ones, whose losses are unknown:
        ``fantasies`` (the acquisition averaged over ``policy.n_fantasies`` joint draws of
        their outcomes from the GP, so EI becomes the batch's joint EI, q-EI; a forest is told
        kb_ucb's lies instead), or one lie per earlier point: ``kb_ucb`` (the model's upper
        confidence bound there, mean + ``policy.kb_stds`` std) or a constant liar told the
        lowest (``cl_min``), mean (``cl_mean``) or highest (``cl_max``) loss so far. An async
        refill is told kb_ucb's milder lie (``policy.refill_kb_stds``) about the running
        points under ``fantasies`` and ``kb_ucb``.
    is_allowed : callable, optional
        ``is_allowed(point) -> bool``; no point for which it is false is ever returned.
    random_state : int, optional
        Seed; the same seed and the same told values give the same points.
    n_calls : int, optional
        The sweep's budget in points. With it, all but the first point of a batch that reaches
        past ``policy.local_from`` of it are chosen near the best point (see :meth:`ask`);
        without it none are.
    policy : Policy, optional
        The proposer's constants (:mod:`.policy`); the defaults unless tuning.
    canonical : callable, optional
        ``canonical(point) -> point``: the one point that stands for all the points it equals
        (conditional parameters that do not apply at their fixed value); every point is seen
        through it, so no two proposals differ only where it does not matter.
    n_constraints : int
        Constraints on what a trial measures (:mod:`..problem.metrics`), whose slacks :meth:`tell` is
        given: a GP each (:mod:`.feasibility`) weighs the acquisition by the probability of
        satisfying them, raised to ``policy.feasibility_power``, and the incumbent is the best
        told point that satisfied them.
    """

    def __init__(
        self,
        dimensions: Sequence[Dimension],
        n_initial_points: int = 10,
        initial_point_generator: str = "sobol",
        acq_func: str = "EI",
        acq_optimizer: str = "auto",
        base_estimator: str = "GP",
        batch_strategy: str = "fantasies",
        is_allowed: Optional[PointFilter] = None,
        random_state: Optional[int] = None,
        n_calls: Optional[int] = None,
        policy: Policy = Policy(),
        canonical: Optional[Callable[[Point], Point]] = None,
        n_constraints: int = 0,
    ) -> None:
        _check_choice("initial_point_generator", initial_point_generator, INITIAL_POINT_GENERATORS)
        _check_choice("acq_func", acq_func, ACQ_FUNCS)
        _check_choice("acq_optimizer", acq_optimizer, ACQ_OPTIMIZERS)
        _check_choice("base_estimator", base_estimator, BASE_ESTIMATORS)
        _check_choice("batch_strategy", batch_strategy, BATCH_STRATEGIES)
        self.policy = policy
        self.canonical = canonical
        self.space = Space(list(dimensions))
        self.columns = ColumnLayout.of(self.space)
        self.n_initial_points = n_initial_points
        self.acq_func = acq_func
        self.base_estimator = base_estimator
        self.batch_strategy = batch_strategy
        self.is_allowed = is_allowed
        self.n_calls = n_calls
        self._rng = np.random.RandomState(random_state)
        self._design = _initial_design(
            self.space, n_initial_points, initial_point_generator, is_allowed, self._rng,
            policy.balanced_choices,
        )
        self._refine = (base_estimator == "GP" and acq_optimizer != "sampling"
                        and self.columns.continuous.size > 0)
        self._gp = (GPModel(self.columns, self._rng.randint(2**31 - 1), policy=policy,
                            warp_columns=log_scale_columns(self.columns, ratio=policy.log_scale_ratio))
                    if base_estimator == "GP" else None)
        self.n_constraints = n_constraints
        self._constraint_gps = [
            GPModel(self.columns, self._rng.randint(2**31 - 1), policy=policy) for _ in range(n_constraints)]
        self._slacks: List[np.ndarray] = []  # per told point, NaN where it measured nothing
        self._X: List[np.ndarray] = []  # told points, normalised
        self._y: List[float] = []  # their losses
        self._seen: Dict[Tuple, str] = {}  # key -> "told" | "pending" | "excluded"
        self._pending: Dict[Tuple, np.ndarray] = {}
        self._hedge = Hedge()
        self._fitted = False
        self._fit_cache: Optional[Tuple[Tuple[int, int], Surrogate, LossScale, np.ndarray]] = None
        self._revisions = 0  # told losses replaced by :meth:`revise`: the fit cache's state
        self.n_told = 0
        self._round: List[Tuple] = []  # keys of the points asked in this round (see _lied_about)

    @property
    def model_ready(self) -> bool:
        """True once the surrogate has been fit, i.e. proposals come from the model."""
        return self._fitted

    # -- ask / tell / exclude ------------------------------------------------------------------

    def ask(self, n_points: int) -> List[Point]:
        """The next ``n_points`` distinct points, each allowed by the constraint.

        Fewer come back only when fewer allowed points are left untried in a finite space;
        none left raises :class:`SearchSpaceExhausted`.

        Once the model is in use, all but the first point of a batch that reaches past
        ``policy.local_from`` of ``n_calls`` are chosen near the best point so far: their
        numeric coordinates within ``policy.local_radius`` of the model's length scales of
        it, and at most ``policy.late_switches`` of its categoricals switched.
        """
        points: List[Point] = []
        if len(self._round) >= len(self._pending) + n_points:
            self._round = []  # a round is as many points as run at once
        with _quiet():
            while self._design and len(points) < n_points and self.n_told + len(self._pending) < self.n_initial_points:
                point = self._design.pop(0)
                if row_key(self._normalise([point])[0]) not in self._seen:
                    points.append(point)
                    self._mark_pending(point)
            remaining = n_points - len(points)
            if remaining > 0:
                if len(self._y) >= 2:
                    points.extend(self._ask_model(remaining))
                else:
                    points.extend(self._ask_random(remaining))
        if not points:
            raise SearchSpaceExhausted(
                f"Every allowed point of the search space has been tried or excluded "
                f"({self.n_told} told); lower hydra.sweeper.n_calls or widen the space"
            )
        return points

    def tell(self, points: Sequence[Point], losses: Sequence[float],
             slacks: Optional[Sequence[Optional[Sequence[float]]]] = None) -> None:
        """Record finished points; non-finite losses are refused, never passed to the model.
        ``slacks``: with ``n_constraints``, each point's slack on each constraint (None for a
        point that measured nothing, a failed one told a penalty)."""
        if len(points) != len(losses):
            raise ValueError(f"{len(points)} points but {len(losses)} losses")

        if not points:
            return
        values = [_finite_loss(loss) for loss in losses]
        plain = [[to_plain(x) for x in p] for p in points]
        for point in plain:
            if point not in self.space:
                raise ValueError(f"point {point} is not within the search space")
        with _quiet():
            rows = self._normalise(plain)
        for row, value in zip(rows, values):
            key = row_key(row)
            self._pending.pop(key, None)
            self._seen[key] = "told"
            self._X.append(row)
            self._y.append(value)
        if self.n_constraints:
            unknown = np.full(self.n_constraints, np.nan)
            self._slacks.extend(unknown if s is None else np.asarray(s, dtype=float).reshape(self.n_constraints)
                                for s in (slacks if slacks is not None else [None] * len(plain)))
        self.n_told += len(plain)

    def revise(self, points: Sequence[Point], losses: Sequence[float],
               slacks: Optional[Sequence[Optional[Sequence[float]]]] = None) -> None:
        """Replace what told points told (a paused trial's forecast, once the trial that
        continued it returns its value); a point not told yet is told."""
        with _quiet():
            rows = self._normalise([[to_plain(x) for x in p] for p in points])
        index = {row_key(row): i for i, row in enumerate(self._X)}
        new = []
        for k, (row, loss) in enumerate(zip(rows, losses)):
            i = index.get(row_key(row))
            if i is None:
                new.append(k)
                continue
            self._y[i] = _finite_loss(loss)
            if self.n_constraints and slacks is not None and slacks[k] is not None:
                self._slacks[i] = np.asarray(slacks[k], dtype=float).reshape(self.n_constraints)
            self._revisions += 1
        if new:
            self.tell([points[k] for k in new], [losses[k] for k in new],
                      None if slacks is None else [slacks[k] for k in new])

    def exclude(self, points: Sequence[Point]) -> None:
        """Never propose these points again (e.g. trials that failed under ``on_failure=skip``)."""
        if not points:
            return
        with _quiet():
            rows = self._normalise([[to_plain(x) for x in p] for p in points])
        for row in rows:
            key = row_key(row)
            self._pending.pop(key, None)
            if self._seen.get(key) != "told":
                self._seen[key] = "excluded"

    # -- the model phase -------------------------------------------------------------------------

    def recommend(self, points: Sequence[Point]) -> Tuple[int, float]:
        """Which of ``points`` (told points) the model expects to be best, and its loss there.

        The lowest posterior mean discounts a lucky draw of a noisy objective, where the
        lowest observed loss does not. Returns ``(index into points, predicted loss)``.
        """
        if not points:
            raise ValueError("recommend() needs at least one told point")
        with _quiet():
            rows = self._normalise([[to_plain(x) for x in p] for p in points])
        if len(self._y) < 2:  # too little data for a model: the observed best
            losses = {row_key(row): y for row, y in zip(self._X, self._y)}
            # a point not told yet (an interrupt between its record and its tell) has no loss here
            observed = [losses.get(row_key(row), math.inf) for row in rows]
            index = int(np.argmin(observed))
            if not math.isfinite(observed[index]):
                raise ValueError("recommend() needs at least one told point among the points")
            return index, float(observed[index])
        model, scale, _ = self._fit()
        with _quiet():
            mean = model.predict(rows)[0]
        index = int(np.argmin(mean))
        return index, scale.inverse(float(mean[index]))

    def surrogate(self) -> Tuple[Surrogate, LossScale]:
        """The model fitted on every told point, as asking and recommending use it, and its
        loss scale; the model reads points in skopt's normalised space (:attr:`tspace`)."""
        model, scale, _ = self._fit()
        return model, scale

    @property
    def tspace(self) -> Space:
        """The normalised space the model works in."""
        return self.columns.tspace

    def _fit(self) -> Tuple[Surrogate, LossScale, np.ndarray]:
        """The surrogate fitted on every told point, its loss scale and the scaled losses;
        fitted once per state of the data (asking and recommending share it)."""
        if self._fit_cache is None or self._fit_cache[0] != (len(self._y), self._revisions):
            X, losses = np.array(self._X), np.array(self._y)
            scale = LossScale.fit(losses, self.policy)
            y = scale(losses)
            with _quiet():
                if self._gp is not None:
                    model: Surrogate = self._gp.fit(X, y)
                else:
                    model = ForestModel(self.base_estimator, self._rng.randint(2**31 - 1), X, y)
            self._fit_cache = ((len(self._y), self._revisions), model, scale, y)
        return self._fit_cache[1:]

    def _ask_model(self, n_points: int) -> List[Point]:
        """The model phase: one fit, then each point of the batch in turn, the model
        conditioned on fantasies or lies (see ``batch_strategy``) about every earlier one and
        about the points still pending from before."""
        X = np.array(self._X)
        model, _, y = self._fit()
        self._fitted = True
        kind = self._acquisition_kind(model)
        # the incumbent is the best posterior mean at a told point, not the best draw: on a
        # noisy objective the luckiest draw would make every honest point look hopeless
        fitted_mean = model.predict(X)[0]
        feasibility, feasible = self._feasibility(X)
        if feasibility is None and not feasible.any():
            feasible[:] = True  # too few measured points to model the constraints: the loss alone
        best: Optional[float] = None
        centre: Optional[np.ndarray] = None
        if feasible.any():
            ranked = np.where(feasible, fitted_mean, np.inf)
            best, centre = float(np.min(ranked)), X[np.argmin(ranked)]
        n_local = self._n_local(n_points)
        lied = self._lied_about(n_points, n_local)
        unknown = [self._pending[key] for key in lied]  # rows whose outcomes the model must guess
        fantasised, base = self._fantasised(model, n_points), model
        if unknown:
            model = self._account_for(model, np.array(unknown), y, n_points, fantasised, feasibility)
        acquisition = Acquisition(model, kind, best, feasibility)
        order = np.lexsort((fitted_mean, ~feasible)) if self.n_constraints else np.argsort(fitted_mean)
        centres = order[:self.policy.n_centres]  # the best feasible ones first
        candidates = self._candidates(X[centres])
        points: List[Point] = []
        # the points still pending (async refills) count as earlier points of this batch: a
        # confident model's lie there barely moves it, and a point a hair away would teach nothing
        batch_rows: List[np.ndarray] = list(self._pending.values())
        for index in range(n_points):
            if len(candidates) == 0:
                candidates = self._fresh_random(n_points - index)
                if len(candidates) == 0:
                    break
            local = centre if index >= n_points - n_local else None  # none before a feasible point
            row, candidates = self._pick(acquisition, candidates, batch_rows, local, first=index == 0)
            batch_rows.append(row)
            point = self._denormalise(row[None, :])[0]
            points.append(point)
            self._mark_pending(point)
            if index + 1 < n_points:
                unknown.append(row)
                latest = acquisition.model
                acquisition = acquisition.on(
                    self._fantasies(base, np.array(unknown), feasibility) if fantasised
                    else latest.with_liars(row[None, :], self._lies(latest, row[None, :], y)))
        return points

    def _fantasies(self, model: GPPosterior, pending: np.ndarray, feasibility: Optional[Feasibility]) -> Fantasies:
        """The model on fantasies of the ``pending`` rows' outcomes; with metric constraints, a
        draw sets its fantasy's incumbent only where its constraints are drawn satisfied."""
        return Fantasies(model, pending, self.policy.n_fantasies, self._rng,
                         counts=self._feasible_draws(feasibility, pending))

    def _feasible_draws(self, feasibility: Optional[Feasibility], pending: np.ndarray) -> Optional[np.ndarray]:
        """Which fantasised outcomes at the ``pending`` rows count (pending x fantasies): those
        whose constraints, drawn with them, hold (``policy.fantasise_feasibility``); None: all."""
        if feasibility is None or not self.policy.fantasise_feasibility:
            return None
        return feasibility.draw(pending, self.policy.n_fantasies, self._rng)

    def _feasibility(self, X: np.ndarray) -> Tuple[Optional[Feasibility], np.ndarray]:
        """The constraints' model (None without constraints, or too few measured points) and
        which told points satisfied them (all, without constraints)."""
        if not self.n_constraints:
            return None, np.ones(len(X), dtype=bool)
        slacks = np.array(self._slacks).reshape(len(X), self.n_constraints)
        with np.errstate(invalid="ignore"):
            feasible = np.all(slacks <= 0, axis=1)
        with _quiet():
            return fit_feasibility(self._constraint_gps, X, slacks, power=self.policy.feasibility_power,
                                   warp_ratio=self.policy.slack_warp_ratio,
                                   typical_rows=max(self.n_initial_points, MIN_TYPICAL_ROWS)), feasible

    def _fantasised(self, model: Surrogate, n_points: int) -> bool:
        """Whether a batch's later points are chosen on fantasies (see ``batch_strategy``):
        the strategy's, for a GP, for a batch; an async refill keeps its lies."""
        return (self.batch_strategy == "fantasies" and n_points > 1 and self.policy.n_fantasies > 0
                and isinstance(model, GPPosterior))

    def _account_for(self, model: Surrogate, pending: np.ndarray, y: np.ndarray, n_points: int,
                     fantasised: bool, feasibility: Optional[Feasibility]) -> Surrogate:
        """The model a batch starts from, given the points still pending from before."""
        if fantasised:
            return self._fantasies(model, pending, feasibility)
        stds = self.policy.refill_kb_stds if n_points == 1 else self.policy.kb_stds
        return model.with_liars(pending, self._lies(model, pending, y, stds))

    def _lied_about(self, n_points: int, n_local: int) -> List[Tuple]:
        """The pending points the model is told lies about before it chooses: all of them,
        except for a late async refill (looked for near the best point), which is told only
        about the running points of its own round (the last ``q`` points asked, ``q`` = the
        running points and the refill), as a late batch's later points are only about the
        batch's earlier ones: lies about the older ones would push it off the best region."""
        if n_points == 1 and n_local == 1:
            return [key for key in self._round if key in self._pending]
        return list(self._pending)

    def _n_local(self, n_points: int) -> int:
        """How many of a batch's points are looked for near the best point: late in the
        budget all but the first, so a batch of q catches up on the q - 1 model updates it
        misses; a single point asked while others are pending (an async refill) is looked for
        there too, for the same reason; a batch of 1 with nothing pending stays plain EI."""
        if self.n_calls is None:
            return 0
        late = self.n_told + len(self._pending) + n_points > self.policy.local_from * self.n_calls
        if not late:
            return 0
        return 1 if n_points == 1 and self._pending else n_points - 1

    def _pick(
        self,
        acquisition: Acquisition,
        candidates: np.ndarray,
        batch_rows: Sequence[np.ndarray],
        centre: Optional[np.ndarray],
        first: bool,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The next point of a batch, and the candidates left for the rest of it."""
        model = acquisition.model
        pool_mask = self._pool_mask(model, candidates, batch_rows, centre)
        if centre is not None and not pool_mask.any():
            centre = None  # nothing allowed and unseen near the best point: search everywhere
            pool_mask = self._pool_mask(model, candidates, batch_rows, None)
        pool = candidates[pool_mask]
        values = acquisition.score(pool)
        if self.acq_func == "gp_hedge" and first:
            self._hedge.remember_picks(acquisition, pool)
        row, chosen = self._best(acquisition, pool, values, batch_rows, centre)
        if chosen is not None:
            candidates = np.delete(candidates, int(np.flatnonzero(pool_mask)[chosen]), axis=0)
        return row, candidates

    def _pool_mask(
        self, model: Surrogate, candidates: np.ndarray, batch_rows: Sequence[np.ndarray],
        centre: Optional[np.ndarray],
    ) -> np.ndarray:
        """The candidates a point may be chosen from: near ``centre`` when given (see
        :meth:`_near`), and never closer than ``policy.min_gap`` to the batch's earlier
        points while any candidate allows."""
        mask = np.ones(len(candidates), dtype=bool)
        if centre is not None:
            mask &= self._near(model, candidates, centre)
        if batch_rows:
            # a confident model's lies barely move it: a second trial a hair from the first
            # would teach it nothing
            apart = mask & (nearest_distances(candidates, batch_rows) >= self.policy.min_gap)
            if apart.any():
                mask = apart
        return mask

    def _near(self, model: Surrogate, rows: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """Rows within ``policy.local_radius`` length scales of ``centre`` that switch at most
        ``policy.late_switches`` of its categoricals (:func:`.candidate_search.within_reach`)."""
        return within_reach(model, rows, centre, self.columns, radius=self.policy.local_radius,
                            max_switches=self.policy.late_switches)

    def _lies(self, model: Surrogate, rows: np.ndarray, y: np.ndarray, stds: Optional[float] = None) -> np.ndarray:
        """What the model is told about ``rows`` while their losses are unknown (kb_ucb, and
        fantasies where they do not apply: ``stds`` standard deviations above the mean,
        ``policy.kb_stds`` unless given)."""
        if self.batch_strategy in ("fantasies", "kb_ucb"):
            mean, std = model.predict(rows)
            return mean + (self.policy.kb_stds if stds is None else stds) * std
        value = {"cl_min": np.min(y), "cl_mean": np.mean(y), "cl_max": np.max(y)}[self.batch_strategy]
        return np.full(len(rows), value)

    def _acquisition_kind(self, model: Surrogate) -> str:
        """The function for this batch; gp_hedge first credits each function's last pick."""
        if self.acq_func != "gp_hedge":
            return self.acq_func
        return self._hedge.choose(model, self._rng)

    def _best(
        self,
        acquisition: Acquisition,
        candidates: np.ndarray,
        values: np.ndarray,
        batch_rows: Sequence[np.ndarray] = (),
        centre: Optional[np.ndarray] = None,
    ) -> Tuple[np.ndarray, Optional[int]]:
        """The best candidate, or a better allowed, unseen point found by refining the top ones
        (near ``centre`` when given, as :meth:`_near` measures it: the refinement is boxed by
        the radius on each continuous axis, and a corner of that box is refused; never closer
        than ``policy.min_gap`` to ``batch_rows``)."""
        if not self._refine:
            top = int(np.argsort(-values, kind="stable")[0])
            return candidates[top], top
        free = self.columns.continuous
        bounds = None
        if centre is not None:
            bounds = reach_box(acquisition.model, centre, free, radius=self.policy.local_radius)

        def accept(row: np.ndarray) -> Optional[np.ndarray]:
            row = self._normalise(self._denormalise(row[None, :]))[0]  # on the grid, exactly
            if row_key(row) in self._seen or not self._allowed(self._denormalise(row[None, :])[0]):
                return None  # a refined point that breaks the constraint is dropped
            if len(batch_rows) and nearest_distances(row[None, :], batch_rows)[0] < self.policy.min_gap:
                return None
            if centre is not None and not self._near(acquisition.model, row[None, :], centre)[0]:
                return None  # the box's corners reach past the radius
            return row

        return refine_best(acquisition, candidates, values, free, accept, n_refine=self.policy.n_refine,
                           bounds=bounds)

    # -- candidates ------------------------------------------------------------------------------

    def _candidates(self, centres: np.ndarray) -> np.ndarray:
        """Random allowed points plus points near the best ones, normalised, unseen, distinct."""
        rows = [self._random_rows(self.policy.n_random)]
        if len(centres):
            near = self._normalise(self._denormalise(perturb(self.columns, centres, self.policy.n_local, self._rng)))
            rows.append(near[self._allowed_rows(near)])
        return self._unseen(np.vstack(rows))

    def _random_rows(self, n_points: int) -> np.ndarray:
        return allowed_random_rows(self._draw_rows, self._allowed_rows, n_points, min_allowed=_MIN_ALLOWED,
                                   max_draws=_MAX_DRAWS)

    def _draw_rows(self, n_points: int) -> np.ndarray:
        """``n_points`` random points of the space, normalised."""
        return self._normalise([[to_plain(x) for x in p] for p in self.space.rvs(n_samples=n_points, random_state=self._rng)])

    def _fresh_random(self, n_points: int) -> np.ndarray:
        return self._unseen(self._random_rows(max(self.policy.n_random, n_points)))

    def _ask_random(self, n_points: int) -> List[Point]:
        """Before a model can be fitted: random allowed points not seen yet."""
        rows = self._fresh_random(n_points)[:n_points]
        points = self._denormalise(rows) if len(rows) else []
        for point in points:
            self._mark_pending(point)
        return points

    def _unseen(self, rows: np.ndarray) -> np.ndarray:
        keep, keys = [], set()
        for i, row in enumerate(rows):
            key = row_key(row)
            if key not in self._seen and key not in keys:
                keys.add(key)
                keep.append(i)
        return rows[keep]

    # -- helpers -------------------------------------------------------------------------------

    def _allowed(self, point: Point) -> bool:
        return self.is_allowed is None or bool(self.is_allowed(point))

    def _allowed_rows(self, rows: np.ndarray) -> np.ndarray:
        if self.is_allowed is None:
            return np.ones(len(rows), dtype=bool)
        return np.array([self._allowed(p) for p in self._denormalise(rows)], dtype=bool)

    def _normalise(self, points: Sequence[Point]) -> np.ndarray:
        if self.canonical is not None:
            points = [self.canonical(point) for point in points]
        return self.columns.normalise(points)

    def _denormalise(self, rows: np.ndarray) -> List[Point]:
        return self.columns.denormalise(rows)

    def _mark_pending(self, point: Point) -> None:
        row = self._normalise([point])[0]
        key = row_key(row)
        self._seen[key] = "pending"
        self._pending[key] = row
        self._round.append(key)

def _initial_design(
    space: Space,
    n_points: int,
    generator: str,
    is_allowed: Optional[PointFilter],
    rng: np.random.RandomState,
    balanced_choices: bool = False,
) -> List[Point]:
    """A space-filling design of allowed points: generated, filtered, topped up at random.
    With ``balanced_choices``, each categorical of a generated design other than the grid takes
    each option equally often (to within one), in an order shuffled apart from the other
    dimensions'; reassigning a grid's options would break its product into repeated points."""
    if n_points <= 0:
        return []
    design: List[Point] = []
    if generator != "random":
        sampler = cook_initial_point_generator(generator)
        # oversample so that filtering by the constraint still leaves n_points well spread
        n_generated = n_points if is_allowed is None else 4 * n_points
        with _quiet():
            generated = sampler.generate(space.dimensions, n_generated, random_state=rng.randint(2**31 - 1))
        if balanced_choices and generator != "grid":  # a grid is a product: balanced already
            _balance_choices(space, generated, rng)
        for point in generated:
            point = [to_plain(x) for x in point]
            if (is_allowed is None or is_allowed(point)) and point not in design:
                design.append(point)
            if len(design) == n_points:
                break
    if len(design) < n_points:
        design.extend(sample_allowed(space, n_points - len(design), is_allowed, rng))
    return design


def _balance_choices(space: Space, points: List[list], rng: np.random.RandomState) -> None:
    """Reassign each categorical of ``points`` (in place): every option equally often, to
    within one, shuffled. A low-discrepancy sequence maps a categorical's options onto
    intervals of one coordinate, which leaves them unevenly used and tied to the other
    dimensions' values in a short design."""
    for column, dim in enumerate(space.dimensions):
        if isinstance(dim, Categorical):
            options = list(dim.categories)
            order = rng.permutation(len(points))
            for rank, index in enumerate(order):
                points[index][column] = options[rank % len(options)]


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
            point = [to_plain(x) for x in point]
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


def _finite_loss(loss: Any) -> float:
    """A told loss as a float; a non-finite one is refused, never passed to the model."""
    value = float(loss)
    if not math.isfinite(value):
        raise ValueError(f"loss {loss} is not finite; the caller must filter it")
    return value


def _check_choice(field: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        hint = ""
        if field == "base_estimator" and str(value).upper() in ("GBRT", "DUMMY"):
            hint = " (skopt's GBRT and dummy estimators are broken on current numpy/scikit-learn)"
        raise SweeperConfigError(
            f"hydra.sweeper.{field}={value!r}: must be one of {', '.join(allowed)}{hint}"
        )


class _quiet(warnings.catch_warnings):
    """Silence the optimiser's warnings (repeated points, GP convergence) inside the block,
    and keep BLAS to one thread there: the matrices are small (a few hundred rows), where
    threads cost more than they give, and spinning BLAS threads starve trials running beside
    the sweeper on the same cores."""

    def __enter__(self) -> Any:
        result = super().__enter__()
        warnings.simplefilter("ignore")
        self._limits = threadpool_limits(limits=1, user_api="blas")
        return result

    def __exit__(self, *exc: Any) -> None:
        self._limits.restore_original_limits()
        super().__exit__(*exc)
