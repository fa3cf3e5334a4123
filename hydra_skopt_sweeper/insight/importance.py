"""Which parameters mattered: each parameter's share of the objective's variation, measured on
the sweep's own model refitted from its directory (:mod:`.surface`).

It owns :class:`Importance` and :func:`importance_of`. The pictures (:mod:`.pictures`), the
results file, ``skopt-report`` and the report page all read it; none computes its own.
It imports neither matplotlib nor skopt at import time, and never :mod:`..sweep.loop`.

What is measured: the Sobol indices of the model's mean over the search space, each parameter
drawn as the proposer draws a random point (uniform in skopt's transformed space: a log range
uniform in its log, each option of a categorical or grid equally often), in the units the
model is told the losses in (standardised, and log-warped when their upper tail is heavy). A
categorical is one parameter (all its one-hot columns move together).

* ``first``: the share of the variance the parameter explains alone (its main effect);
  ``total``: the share that goes away when only it is fixed (alone and in every interaction).
  Both are read from a Saltelli design (base rows A and B, and for each parameter A with that
  parameter's columns from B), with Saltelli's first-order and Jansen's total-effect
  estimators, clipped to [0, 1], the first-order at most the total (as it is in exact
  arithmetic; the estimators' own errors may invert them).
* ``first_sd``, ``total_sd``: the Monte Carlo error of the estimate (the bootstrap of the
  design's base rows) and, for a GP, how much the data leave the number open: the standard
  deviation of the same indices over joint draws of the GP's posterior at a smaller design of
  the same kind (it shrinks as trials accrue); the two added as independent errors. A forest
  (RF, ET) has no joint posterior: the Monte Carlo error alone.
* A conditional parameter (``when:``) is measured where its condition holds: its indices are
  the ones of the model restricted to the base rows where the condition holds (its total from
  the rows of A that meet it, its first-order from the pairs of rows of A and B that both meet
  it), over the variance there. Every other parameter is measured over the whole space. The
  model reads each row as the sweep tells it a point: every conditional parameter whose
  condition does not hold at its inactive value (:meth:`..problem.search_space.SearchSpace.canonical`),
  so a parameter that switches another on or off is credited with that.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..search.policy import IMPORTANCE_DRAW_SAMPLES, IMPORTANCE_DRAWS, IMPORTANCE_SAMPLES
from .sweep_record import SweepRecord

log = logging.getLogger(__name__)

# model rows x training points read at once: the kernel's temporaries stay bounded whatever the trials
_MEAN_CHUNK_ELEMENTS = 2_000_000
# the digits an index is written with
_DIGITS = 4


@dataclass(frozen=True)
class ParamImportance:
    """One parameter's share of the variance of the model's mean over the search space."""

    name: str
    first: float  # first-order index: the share it explains alone
    total: float  # total-effect index: alone and together with the others
    first_sd: float  # the uncertainty of each, from the model's own posterior
    total_sd: float


@dataclass(frozen=True)
class Importance:
    """The importance of every parameter for one objective, the largest total effect first."""

    objective: str  # the objective's label, with its direction
    params: Tuple[ParamImportance, ...]
    n_trials: int  # the trials the model was fitted on

    def to_dict(self) -> Dict[str, Any]:
        """``{param: {first, total, first_sd, total_sd}}``, largest total first, as the results
        file and the report page write it."""
        return {p.name: {"first": p.first, "total": p.total, "first_sd": p.first_sd, "total_sd": p.total_sd}
                for p in self.params}

    def describe(self, top: int = 3) -> str:
        """The ``top`` parameters for a log line: ``lr 0.81 ± 0.04, batch_size 0.12 ± 0.03``."""
        return ", ".join(f"{p.name} {p.total:.2f} ± {p.total_sd:.2f}" for p in self.params[:top])


def importance_of(record: SweepRecord, *, surface: Optional[Any] = None, n_samples: int = IMPORTANCE_SAMPLES,
                  n_draw_samples: int = IMPORTANCE_DRAW_SAMPLES, n_draws: int = IMPORTANCE_DRAWS,
                  seed: int = 0) -> List[Importance]:
    """One :class:`Importance` per objective of ``record``; empty while there are too few
    successful trials to fit the model (or the sweep dir has no search space yet).
    ``surface``: a :class:`.surface.Surface` of the one objective already fitted, to reuse.
    ``n_samples``: base rows of the design the mean is read on; ``n_draw_samples`` and
    ``n_draws``: of the design the posterior is drawn at, and how many draws (or bootstrap
    resamples); ``seed``: of the designs and the draws (the same seed, the same numbers)."""
    from .surface import fit_surface

    if record.space is None or not record.space.params:
        return []
    found = []
    for index in range(record.objectives.count):
        fitted = surface if surface is not None and not record.several else fit_surface(record, index)
        if fitted is None:
            return []
        found.append(measure(fitted, record.space, objective_label(record, index), n_samples=n_samples,
                             n_draw_samples=n_draw_samples, n_draws=n_draws, seed=seed))
    return found


def with_model(record: SweepRecord) -> Tuple[Optional[Any], List[Importance]]:
    """The one objective's refitted model (:func:`.surface.fit_surface`; None with several
    objectives or too few trials) and :func:`importance_of` measured on it: one fit for the
    pictures, the report page and ``skopt-report``."""
    from .surface import fit_surface

    one = record.space is not None and bool(record.space.params) and not record.several
    surface = fit_surface(record) if one else None
    if one and surface is None:
        return None, []  # too few trials for the model, and so for the importance
    return surface, importance_of(record, surface=surface)


def objective_label(record: SweepRecord, index: int) -> str:
    """How an :class:`Importance` names objective ``index``: its label and direction."""
    if record.several:
        return record.objectives.labelled(index)
    return f"{record.objective_name} ({'max' if record.maximize else 'min'})"


def results_entry(importances: Sequence[Importance]) -> Dict[str, Any]:
    """What the results file writes under ``importance:``: one objective's ``{param: {...}}``,
    or ``{objective label: {param: {...}}}`` with several."""
    if len(importances) == 1:
        return importances[0].to_dict()
    return {importance.objective: importance.to_dict() for importance in importances}


def measure(surface: Any, space: Any, label: str, *, n_samples: int = IMPORTANCE_SAMPLES,
            n_draw_samples: int = IMPORTANCE_DRAW_SAMPLES, n_draws: int = IMPORTANCE_DRAWS,
            seed: int = 0) -> Importance:
    """The importance of each parameter of ``space`` on ``surface``'s model (see the module's
    docstring for the method).

    Parameters
    ----------
    surface : surface.Surface
    space : search_space.SearchSpace
        The sweep's space, in the order of ``surface.tspace``'s dimensions.
    label : str
        The objective's label with its direction.
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    from ..search.columns import ColumnLayout
    from ..search.model import GPPosterior

    layout = ColumnLayout.of(surface.tspace)
    rng = np.random.RandomState(seed)
    # one BLAS thread, as the proposer's fits: threads spinning on a busy machine (trials
    # beside the sweeper) make a factorisation of this size many times slower, not faster
    with threadpool_limits(limits=1, user_api="blas"):
        design = SaltelliDesign.draw(layout, space, n_samples, rng)
        means = _means(surface, design.rows)[:, None]
        first, total = design.indices(means)
        resamples = rng.randint(0, n_samples, size=(n_draws, n_samples))
        first_mc, total_mc = design.indices(means, resamples)
        first_sd, total_sd = np.std(first_mc, axis=1), np.std(total_mc, axis=1)
        if isinstance(surface.model, GPPosterior):
            small = SaltelliDesign.draw(layout, space, n_draw_samples, rng)
            first_draws, total_draws = small.indices(posterior_draws(surface.model, small.rows, n_draws, rng))
            first_sd = np.hypot(first_sd, np.std(first_draws, axis=1))
            total_sd = np.hypot(total_sd, np.std(total_draws, axis=1))
    total = np.clip(total[:, 0], 0.0, 1.0)
    first = np.minimum(np.clip(first[:, 0], 0.0, 1.0), total)
    params = [ParamImportance(p.name, _rounded(first[i]), _rounded(total[i]), _rounded(first_sd[i]),
                              _rounded(total_sd[i]))
              for i, p in enumerate(space.params)]
    params.sort(key=lambda p: -p.total)  # stable: ties keep the space's order
    return Importance(label, tuple(params), len(surface.points))


def _rounded(value: Any) -> float:
    return round(float(value), _DIGITS)


@dataclass(frozen=True)
class SaltelliDesign:
    """Rows of the normalised space for the Sobol indices of k parameters, as the model reads
    them: base rows A and B (n each), then for each parameter A with its columns taken from B.

    ``active_a[i]`` and ``active_b[i]`` say where parameter i's condition holds in A and in B
    (everywhere for an unconditional one).
    """

    rows: Any  # ndarray, shape ((k + 2) n, n_columns)
    n: int
    active_a: Any  # ndarray of bool, shape (k, n)
    active_b: Any

    @classmethod
    def draw(cls, layout: Any, space: Any, n: int, rng: Any) -> "SaltelliDesign":
        """``n`` base rows each of A and B drawn as the proposer draws random points."""
        import numpy as np

        a, b = (layout.normalise(layout.tspace.rvs(n_samples=n, random_state=rng)) for _ in range(2))
        blocks = [a, b]
        for where in layout.slices:
            mixed = a.copy()
            mixed[:, where] = b[:, where]
            blocks.append(mixed)
        rows = np.vstack(blocks)
        active = np.ones((len(rows), len(space.params)), dtype=bool)
        if space.conditional:
            rows, active = canonical_rows(rows, layout, space)
        return cls(rows, n, active[:n].T.copy(), active[n:2 * n].T.copy())

    def indices(self, values: Any, resamples: Optional[Any] = None) -> Tuple[Any, Any]:
        """First-order and total indices of each parameter (rows) for each column of
        ``values`` (the function at :attr:`rows`, one column per function).

        ``resamples``: rows of base-row indices, each a bootstrap resample; then each column of
        the result is one resample of ``values``' single column."""
        import numpy as np

        n, k = self.n, len(self.active_a)
        f_a, f_b = values[:n], values[n:2 * n]
        f_mixed = values[2 * n:].reshape(k, n, values.shape[1])
        if resamples is not None:  # one column per resample
            f_a, f_b = f_a[resamples, 0].T, f_b[resamples, 0].T
            f_mixed = f_mixed[:, resamples, 0].transpose(0, 2, 1)
            take = lambda mask: mask[resamples].T  # noqa: E731 - the masks resampled alike
        else:
            take = lambda mask: np.broadcast_to(mask[:, None], f_a.shape)  # noqa: E731
        first = np.zeros((k, f_a.shape[1]))
        total = np.zeros((k, f_a.shape[1]))
        for i in range(k):
            in_a, in_b = take(self.active_a[i]), take(self.active_b[i])
            both = in_a & in_b
            variance = _masked_variance(np.concatenate([f_a, f_b]), np.concatenate([in_a, in_b]))
            usable = variance > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                total[i] = np.where(usable, 0.5 * _masked_mean((f_a - f_mixed[i]) ** 2, in_a) / variance, 0.0)
                first[i] = np.where(usable, _masked_mean(f_b * (f_mixed[i] - f_a), both) / variance, 0.0)
        return first, total


def _masked_mean(values: Any, mask: Any) -> Any:
    """Each column's mean over its rows where ``mask`` holds (0 where none does)."""
    import numpy as np

    count = mask.sum(axis=0)
    return np.where(count > 0, np.where(mask, values, 0.0).sum(axis=0) / np.maximum(count, 1), 0.0)


def _masked_variance(values: Any, mask: Any) -> Any:
    """Each column's variance over its rows where ``mask`` holds (0 with fewer than two)."""
    import numpy as np

    centred = values - _masked_mean(values, mask)
    return np.where(mask.sum(axis=0) > 1, _masked_mean(centred ** 2, mask), 0.0)


def canonical_rows(rows: Any, layout: Any, space: Any) -> Tuple[Any, Any]:
    """``rows`` with each conditional parameter whose condition does not hold set to its
    inactive value, and where each parameter is active (a bool per row and parameter)."""
    import numpy as np

    rows = np.array(rows, dtype=float)
    inactive = layout.normalise([[p.inactive_x() for p in space.params]])[0]
    active = np.ones((len(rows), len(space.params)), dtype=bool)
    conditional = [i for i, p in enumerate(space.params) if p.when is not None]
    for row, point in enumerate(layout.denormalise(rows)):
        given = space.to_params(point)
        for i in conditional:
            if space.params[i].name not in given:
                active[row, i] = False
                where = layout.slices[i]
                rows[row, where] = inactive[where]
    return rows, active


def _means(surface: Any, rows: Any) -> Any:
    """The model's mean at ``rows``, read a chunk at a time."""
    import numpy as np

    per_chunk = max(1, _MEAN_CHUNK_ELEMENTS // max(1, len(surface.points)))
    return np.concatenate([np.asarray(surface.mean(rows[start:start + per_chunk]), dtype=float)
                           for start in range(0, len(rows), per_chunk)])


def posterior_draws(model: Any, rows: Any, n_draws: int, rng: Any) -> Any:
    """``n_draws`` joint draws of a :class:`..search.model.GPPosterior`'s latent function at ``rows``,
    a column each; equal rows (a categorical's option drawn twice) get equal values."""
    import numpy as np

    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    mean, covariance = model.joint(distinct)
    draws = mean[:, None] + _square_root(covariance) @ rng.standard_normal((len(distinct), n_draws))
    return draws[np.ravel(inverse)]


def _square_root(covariance: Any) -> Any:
    """A factor F with F F^T = ``covariance`` (a posterior's, positive semi-definite): its
    Cholesky factor with a jitter of a millionth of its scale, else from its eigenvectors."""
    import numpy as np

    jitter = 1e-6 * max(float(np.mean(np.diag(covariance))), 1e-12)
    try:
        return np.linalg.cholesky(covariance + jitter * np.eye(len(covariance)))
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(covariance)
        return vectors * np.sqrt(np.maximum(values, 0.0))
