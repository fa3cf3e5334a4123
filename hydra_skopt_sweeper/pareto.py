"""Pareto fronts of loss vectors: which trials no other beats on every objective, the volume
they dominate, and the reference point that volume is measured against.

Every objective is a loss here (lower is better; a maximised objective is negated first, as
:func:`.objective.to_loss` does for one). A point *dominates* another when it is no worse on
every objective and better on at least one; the *front* is the set of points no other point
dominates (equal points are all on it). The *hypervolume* of a front is the volume of the
region that some front point dominates and that is bounded by the reference point; it grows
exactly when the front improves, which makes it the one number a multi-objective search is
judged by. Pure functions on numpy arrays, exact in any number of objectives (fast for the
two or three a sweep has).
"""
from __future__ import annotations

import numpy as np

# the reference point lies this fraction of each objective's worst value beyond it (Optuna's
# GPSampler's rule), so that the worst front points still add volume
_REFERENCE_MARGIN = 0.1
# the margin of an objective whose worst value is 0 (a relative margin would be none)
_ZERO_MARGIN = 1e-12


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether loss vector ``a`` dominates ``b``: no worse anywhere, better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(losses: np.ndarray) -> np.ndarray:
    """A boolean mask of the rows of ``losses`` (n points x m objectives) that no other row
    dominates."""
    losses = np.asarray(losses, dtype=float)
    n = len(losses)
    on_front = np.ones(n, dtype=bool)
    order = np.lexsort(losses.T[::-1])  # by the first objective, ties by the next
    kept: list = []
    for index in order:
        point = losses[index]
        if any(np.all(losses[k] <= point) and np.any(losses[k] < point) for k in kept):
            on_front[index] = False
        else:
            kept.append(index)
    return on_front


def reference_point(losses: np.ndarray) -> np.ndarray:
    """A reference point inferred from the data: each objective's worst loss, moved past
    itself by a tenth of its size."""
    worst = np.max(np.asarray(losses, dtype=float), axis=0)
    margin = np.maximum(np.abs(worst) * _REFERENCE_MARGIN, _ZERO_MARGIN)
    return worst + margin


def hypervolume(losses: np.ndarray, reference: np.ndarray) -> float:
    """The volume dominated by the rows of ``losses`` and bounded by ``reference``; rows not
    strictly better than the reference on every objective add nothing."""
    losses = np.asarray(losses, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if losses.size == 0:
        return 0.0
    inside = losses[np.all(losses < reference, axis=1)]
    if len(inside) == 0:
        return 0.0
    return _volume(inside[non_dominated(inside)], reference)


def _volume(front: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume by slicing the last objective: between two consecutive values of it, the
    slab's volume is its thickness times the (m-1)-objective volume of the points below."""
    m = front.shape[1]
    if m == 1:
        return float(reference[0] - front[:, 0].min())
    if m == 2:
        ordered = front[np.argsort(front[:, 0])]
        volume, ceiling = 0.0, reference[1]
        for x, y in ordered:
            if y < ceiling:
                volume += (reference[0] - x) * (ceiling - y)
                ceiling = y
        return float(volume)
    ordered = front[np.argsort(front[:, -1])]
    volume = 0.0
    for k in range(len(ordered)):
        top = ordered[k + 1, -1] if k + 1 < len(ordered) else reference[-1]
        thickness = top - ordered[k, -1]
        if thickness > 0:
            below = ordered[: k + 1, :-1]
            volume += thickness * _volume(below[non_dominated(below)], reference[:-1])
    return float(volume)


def hypervolume_improvement(losses: np.ndarray, candidates: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """How much each candidate loss vector (a row of ``candidates``) alone would add to the
    hypervolume of ``losses``."""
    base = hypervolume(losses, reference)
    losses = np.asarray(losses, dtype=float).reshape(-1, np.asarray(reference).size)
    return np.array([hypervolume(np.vstack([losses, candidate[None, :]]), reference) - base
                     for candidate in np.asarray(candidates, dtype=float)])


def non_dominated_boxes(front: np.ndarray, reference: np.ndarray) -> tuple:
    """Disjoint boxes that together make the region below ``reference`` that no row of
    ``front`` dominates (unbounded below): ``(lower, upper)``, each boxes x m, lower bounds
    ``-inf`` where the region is open.

    The first m - 1 objectives are cut into cells at the front's coordinates; over each cell
    the region reaches, on the last objective, up to the lowest last loss of the front points
    that dominate the cell's lower corner (or the reference). That makes ``(n + 1) ** (m - 1)``
    boxes for n front points: few for two objectives, fine for three.
    """
    reference = np.asarray(reference, dtype=float)
    front = np.asarray(front, dtype=float).reshape(-1, reference.size)
    front = front[np.all(front < reference, axis=1)]
    m = reference.size
    cuts = [np.concatenate([[-np.inf], np.unique(front[:, j]), [reference[j]]]) for j in range(m - 1)]
    grids = np.meshgrid(*[c[:-1] for c in cuts], indexing="ij")
    lower_cells = np.stack([g.ravel() for g in grids], axis=1)  # cells' lower corners
    grids = np.meshgrid(*[c[1:] for c in cuts], indexing="ij")
    upper_cells = np.stack([g.ravel() for g in grids], axis=1)
    if len(front):
        covers = np.all(front[None, :, : m - 1] <= lower_cells[:, None, :], axis=2)  # cells x front
        last = np.where(covers, front[None, :, m - 1], np.inf).min(axis=1)
        top = np.minimum(last, reference[m - 1])
    else:
        top = np.full(len(lower_cells), reference[m - 1])
    keep = top > -np.inf
    lower = np.column_stack([lower_cells[keep], np.full(keep.sum(), -np.inf)])
    upper = np.column_stack([upper_cells[keep], top[keep]])
    return lower, upper


def expected_improvement_in_boxes(mean: np.ndarray, std: np.ndarray, lower: np.ndarray,
                                  upper: np.ndarray) -> np.ndarray:
    """The expected hypervolume improvement of points whose losses are independent Gaussians
    (``mean`` and ``std``: points x m), given the non-dominated region as disjoint boxes
    (:func:`non_dominated_boxes`). Exact: the volume a point adds is the sum over the boxes
    of its overlap with each, and with independent objectives the expected overlap with a box
    is the product over objectives of ``psi(upper) - psi(lower)``, ``psi(a) = E[(a - Y)+]``."""
    mean = np.asarray(mean, dtype=float)[:, None, :]  # points x 1 x m
    std = np.maximum(np.asarray(std, dtype=float), 1e-12)[:, None, :]
    gain = _expected_shortfall(upper[None, :, :], mean, std) - _expected_shortfall(lower[None, :, :], mean, std)
    return np.sum(np.prod(np.maximum(gain, 0.0), axis=2), axis=1)


def _expected_shortfall(a: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``E[(a - Y)+]`` for ``Y ~ N(mean, std**2)``; 0 where ``a`` is ``-inf``."""
    from scipy.special import ndtr

    finite = np.isfinite(a)
    z = np.where(finite, (np.where(finite, a, 0.0) - mean) / std, 0.0)
    value = std * (z * ndtr(z) + np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))
    return np.where(finite, value, 0.0)


def chebyshev(losses: np.ndarray, weights: np.ndarray, *, augment: float) -> np.ndarray:
    """ParEGO's augmented Chebyshev scalarisation of loss rows (each objective already
    scaled to [0, 1]): the largest weighted loss plus ``augment`` times their sum."""
    weighted = np.asarray(losses, dtype=float) * np.asarray(weights, dtype=float)[None, :]
    return weighted.max(axis=1) + augment * weighted.sum(axis=1)
