"""The sweep's surrogate refitted from its directory, read in the user's values.

It owns :func:`fit_surface` (the proposer's own model told the journal's points by the loop's
rule), :class:`Surface` (its mean in the user's units), and the partial dependence computed
from it. :mod:`.pictures` draws from it, :mod:`.importance` measures it. It imports neither
matplotlib nor skopt at import time, and never :mod:`..sweep.loop`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

from .sweep_record import SweepRecord

# the largest value drawn: axis limits and contour levels are computed from differences of
# the values, which must stay within float range
DRAWN_LIMIT = sys.float_info.max / 16


def min_trials_for_objective(n_dims: int) -> int:
    """Successful trials needed before ``objective.png`` is drawn: a GP needs a few points."""
    return max(3, n_dims + 1)


def drawn(values: Sequence[float]) -> List[float]:
    """Values as drawn: within DRAWN_LIMIT, so that the axis can be scaled to them."""
    return [min(max(v, -DRAWN_LIMIT), DRAWN_LIMIT) for v in values]



@dataclass
class Surface:
    """The sweep's surrogate refitted on what the loop told it, read in the user's values.

    ``rows`` are points in skopt's normalised space (``tspace``), as :mod:`..search.model` sees
    them; ``points`` and ``losses`` are what was told (see :func:`told_points`), the losses
    as drawn (within :data:`DRAWN_LIMIT`).
    """

    tspace: Any  # skopt Space, normalised
    model: Any  # model.Surrogate, in scaled-loss units
    scale: Any  # policy.LossScale
    maximize: bool
    points: List[List[Any]]
    losses: List[float]
    kind: str  # "GP", "RF" or "ET"

    def __post_init__(self) -> None:
        self.losses = drawn(self.losses)

    def mean(self, rows: Any) -> Any:
        """The model's mean at ``rows``, in scaled-loss units."""
        from ..search.model import GPPosterior

        if isinstance(self.model, GPPosterior):
            return self.model.mean(rows)
        return self.model.predict(rows)[0]

    def values(self, scaled: Any) -> Any:
        """Scaled losses -> the user's values (the loss scale undone, the sign of a maximised
        objective restored), within :data:`DRAWN_LIMIT` so that axes and contour levels can
        be computed."""
        import numpy as np

        scaled = np.asarray(scaled, dtype=float)
        losses = np.array([self.scale.inverse(s) for s in scaled.ravel()]).reshape(scaled.shape)
        losses = np.clip(losses, -DRAWN_LIMIT, DRAWN_LIMIT)
        return -losses if self.maximize else losses

    def predict(self, rows: Any) -> Any:
        """The model's mean at ``rows`` in the user's values."""
        return self.values(self.mean(rows))


def told_points(record: SweepRecord, objective: int = 0) -> Tuple[List[List[Any]], List[float]]:
    """The points and losses the loop tells the proposer, read back from the journal by the
    same rule (:class:`..search.feed.ModelFeed`, with the sweep's ``on_failure``); points outside the
    space (a hand-edited journal) are skipped. With several objectives, the losses of the
    ``objective``-th (a failure penalised with that objective's worst loss)."""
    from ..problem.objectives import Objectives
    from ..search.feed import ModelFeed, returned_together

    told = _Told(objective if record.several else None)
    objectives = record.objectives if record.several else Objectives(maximize=(record.maximize,))
    feed = ModelFeed(told, objectives, str(record.sweeper.get("on_failure", "penalize")))
    for group in returned_together(record.trials):
        returned = []
        for trial in group:
            try:
                point = record.space.to_point(trial.params)
            except ValueError:
                continue
            returned.append((record.space.canonical(point) if record.space.conditional else point, trial))
        feed.returned(returned)
    return told.points, told.losses


@dataclass
class _Told:
    """A learner that only keeps what it is told (of loss vectors, the ``objective``-th)."""

    objective: Optional[int] = None
    points: List[List[Any]] = field(default_factory=list)
    losses: List[float] = field(default_factory=list)

    def tell(self, points: Sequence[List[Any]], losses: Sequence[Any]) -> None:
        self.points += points
        self.losses += losses if self.objective is None else [loss[self.objective] for loss in losses]

    def exclude(self, points: Sequence[List[Any]]) -> None:
        pass

    def revise(self, points: Sequence[List[Any]], losses: Sequence[Any]) -> None:
        """A continued trial's value replaces what its paused trial told at the same point."""
        for point, loss in zip(points, losses):
            value = loss if self.objective is None else loss[self.objective]
            if list(point) in self.points:
                self.losses[self.points.index(list(point))] = value
            else:
                self.tell([point], [loss])


def fit_surface(record: SweepRecord, objective: int = 0) -> Optional[Surface]:
    """The surrogate the sweep's proposer fits, refitted on the journal's trials; None with
    fewer than :func:`min_trials_for_objective` successful trials.

    A :class:`..search.proposer.BatchProposer` with the sweep's ``base_estimator`` is told the
    journal's points and its own fit is taken (:meth:`..search.proposer.BatchProposer.surrogate`):
    the same space, loss scale, kernel, priors and input warps, with the default
    :class:`..search.policy.Policy`. As close as the sweep dir allows, not bit for bit: the sweep's GP warm-starts its
    hyperparameters from its previous fit and settles its warps as the data grow, where this
    fit starts once from the defaults on all the data; RF and ET grow other trees than the
    sweep's (another seed). A sweep run with a non-default policy is drawn with the default.

    Parameters
    ----------
    record : SweepRecord
        The sweep dir as read by :func:`load_sweep`; ``record.sweeper`` gives the
        ``base_estimator`` and ``on_failure`` the sweep ran with.
    objective : int
        With several objectives, which one's model: a GP of its own, whatever the
        ``base_estimator``, as :class:`..search.pareto_proposer.ParetoProposer` fits them; ignored with one.

    Returns
    -------
    Surface or None
    """
    from ..search.proposer import BatchProposer

    if len(record.finished) < min_trials_for_objective(len(record.space.params)):
        return None
    points, losses = told_points(record, objective)
    if not points:
        return None
    kind = str(record.sweeper.get("base_estimator", "GP")).upper()
    kind = kind if kind in ("RF", "ET") and not record.several else "GP"
    proposer = BatchProposer(record.space.dimensions(), n_initial_points=0, base_estimator=kind, random_state=0)
    proposer.tell(points, losses)
    model, scale = proposer.surrogate()
    tspace = proposer.tspace
    maximize = record.objectives.maximize[objective] if record.several else record.maximize
    return Surface(tspace, model, scale, maximize, points, losses, kind)


def evenly_spaced(param: Any, dim: Any, n_points: int) -> Tuple[Any, Any]:
    """Up to ``n_points`` evenly spaced values of one parameter along its plot axis.

    Parameters
    ----------
    param : search_space.Param
        Real and integer ranges are spaced evenly on their axis (a log range geometrically);
        every option of a categorical or grid parameter is taken, thinned to ``n_points``.
    dim : skopt Dimension
        The parameter's dimension in the normalised space.
    n_points : int

    Returns
    -------
    xs : ndarray
        Coordinates on the axis: the value, or the index of a categorical or grid option.
    columns : ndarray, shape (len(xs), the dimension's number of normalised columns)
        The same values in the normalised space.
    """
    import numpy as np

    if param.kind in ("real", "int"):
        spaced = np.geomspace if param.log else np.linspace
        xs = spaced(param.low, param.high, n_points)
        if param.kind == "int":
            xs = np.unique(np.round(xs)).astype(int)
        columns = dim.transform(xs)
    else:
        count = len(param.labels)
        xs = np.unique(np.linspace(0, count - 1, min(count, n_points)).round().astype(int))
        columns = dim.transform([xs[k] if param.kind == "grid" else param.labels[xs[k]] for k in range(len(xs))])
    return xs, np.asarray(columns, dtype=float).reshape(len(xs), -1)


# Rows x training points per model call in the partial dependence: the GP's temporaries stay
# cache-sized whatever the number of trials.
_PREDICT_CHUNK_ELEMENTS = 50_000


def partial_dependence(surface: Surface, samples: Any, columns: Sequence[slice], grids: Sequence[Any]) -> Any:
    """The model's mean over ``samples`` with ``columns[k]`` set to each row of ``grids[k]``.

    Samples that agree outside ``columns`` give the same rows, so each distinct one is
    predicted once and weighted by its count.

    Parameters
    ----------
    surface : Surface
    samples : ndarray, shape (n_samples, n_columns)
        Rows of the normalised space the other parameters are averaged over.
    columns : sequence of slice
        The normalised columns of each parameter set.
    grids : sequence of ndarray
        For each, its values in those columns (``evenly_spaced``'s second result).

    Returns
    -------
    ndarray, one axis per grid
        The mean, in scaled-loss units (:meth:`Surface.values` reads them as the user's).
    """
    import numpy as np

    samples = np.asarray(samples, dtype=float)
    fixed = np.zeros(samples.shape[1], dtype=bool)
    for c in columns:
        fixed[c] = True
    _, first, counts = np.unique(samples[:, ~fixed], axis=0, return_index=True, return_counts=True)
    distinct, weights = samples[first], counts / counts.sum()
    shape = tuple(len(g) for g in grids)
    cells = np.array(np.unravel_index(np.arange(int(np.prod(shape))), shape)).T
    n_train = len(surface.points) or 1
    per_chunk = max(1, _PREDICT_CHUNK_ELEMENTS // (len(distinct) * n_train))
    means = []
    for start in range(0, len(cells), per_chunk):
        chunk = cells[start:start + per_chunk]
        rows = np.tile(distinct, (len(chunk), 1))
        for k, (c, grid) in enumerate(zip(columns, grids)):
            rows[:, c] = np.repeat(grid[chunk[:, k]], len(distinct), axis=0)
        means.append(surface.mean(rows).reshape(len(chunk), len(distinct)) @ weights)
    return np.concatenate(means).reshape(shape)

