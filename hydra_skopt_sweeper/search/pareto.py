"""Pareto fronts of loss vectors: which trials no other beats on every objective, the volume
they dominate, and the reference point that volume is measured against.

Every objective is a loss here (lower is better; a maximised objective is negated first, as
:func:`..problem.objectives.to_loss` does for one). A point *dominates* another when it is no worse on
every objective and better on at least one; the *front* is the set of points no other point
dominates (equal points are all on it). The *hypervolume* of a front is the volume of the
region that some front point dominates and that is bounded by the reference point; it grows
exactly when the front improves, which makes it the one number a multi-objective search is
judged by. Pure functions on numpy arrays, exact in any number of objectives (fast for the
two or three a sweep has). :class:`RegionGrid` cuts the region no front point dominates into
boxes, which makes the expected improvement of the hypervolume exact and fast.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np
from scipy.special import ndtr

# the reference point lies this fraction of each objective's worst value beyond it (Optuna's
# GPSampler's rule), so that the worst front points still add volume
_REFERENCE_MARGIN = 0.1
# the margin of an objective whose worst value is 0 (a relative margin would be none)
_ZERO_MARGIN = 1e-12


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether loss vector ``a`` dominates ``b``: no worse anywhere, better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(losses: np.ndarray, *, chunk: int = 512) -> np.ndarray:
    """A boolean mask of the rows of ``losses`` (n points x m objectives) that no other row
    dominates."""
    losses = np.asarray(losses, dtype=float)
    on_front = np.ones(len(losses), dtype=bool)
    for start in range(0, len(losses), chunk):
        rows = losses[start:start + chunk]  # is any point of losses dominating each of these?
        no_worse = np.all(losses[None, :, :] <= rows[:, None, :], axis=2)
        better = np.any(losses[None, :, :] < rows[:, None, :], axis=2)
        on_front[start:start + chunk] = ~np.any(no_worse & better, axis=1)
    return on_front


# the most cells a hypervolume is computed on the front's grid with (else by slicing)
_GRID_CELLS = 2_000_000


def reference_point(losses: np.ndarray) -> np.ndarray:
    """A reference point inferred from the data: each objective's worst loss, moved past
    itself by a tenth of its size."""
    worst = np.max(np.asarray(losses, dtype=float), axis=0)
    margin = np.maximum(np.abs(worst) * _REFERENCE_MARGIN, _ZERO_MARGIN)
    with np.errstate(over="ignore"):
        return np.minimum(worst + margin, sys.float_info.max)  # finite even past 1e307


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
    if (len(front) + 1) ** (m - 1) <= _GRID_CELLS:
        return RegionGrid.of(front, reference).dominated_volume()
    ordered = front[np.argsort(front[:, -1])]
    volume = 0.0
    for k in range(len(ordered)):
        top = ordered[k + 1, -1] if k + 1 < len(ordered) else reference[-1]
        thickness = top - ordered[k, -1]
        if thickness > 0:
            below = ordered[: k + 1, :-1]
            volume += thickness * _volume(below[non_dominated(below)], reference[:-1])
    return float(volume)


@dataclass(frozen=True)
class RegionGrid:
    """The region below a reference point that no front point dominates (unbounded below),
    on the grid the front's coordinates draw.

    The first m - 1 objectives are cut at the front's coordinates (``cuts[j]``: ``-inf``, the
    sorted distinct coordinates, the reference's); over each cell of that grid the region
    reaches, on the last objective, from ``-inf`` up to ``tops[cell]``: the lowest last loss of
    the front points that dominate the cell's lower corner, or the reference's. The cells are
    disjoint boxes that make up the region, ``(n + 1) ** (m - 1)`` of them for n front points.
    """

    cuts: Tuple[np.ndarray, ...]
    tops: np.ndarray  # one per cell, shape (len(cuts[0]) - 1, ..., len(cuts[m - 2]) - 1)
    reference_top: float  # the reference's last loss

    @classmethod
    def of(cls, front: np.ndarray, reference: np.ndarray) -> "RegionGrid":
        reference = np.asarray(reference, dtype=float)
        m = reference.size
        front = np.asarray(front, dtype=float).reshape(-1, m)
        front = front[np.all(front < reference, axis=1)]
        cuts = tuple(np.concatenate([[-np.inf], np.unique(front[:, j]), [reference[j]]]) for j in range(m - 1))
        tops = np.full([len(c) - 1 for c in cuts], reference[m - 1])
        # a point dominates the cells whose lower corner is at or above it on the first m - 1:
        # its last loss is placed at its own corner and carried up every axis by a running min
        corner = tuple(np.searchsorted(cut[:-1], front[:, j]) for j, cut in enumerate(cuts))
        np.minimum.at(tops, corner, front[:, m - 1])
        for axis in range(m - 1):
            tops = np.minimum.accumulate(tops, axis=axis)
        return cls(cuts, tops, float(reference[m - 1]))

    def dominated_volume(self) -> float:
        """The hypervolume of the front: over each cell whose lower corner is finite, the
        front dominates the last objective from the cell's top up to the reference."""
        widths = np.ix_(*[np.diff(cut)[1:] for cut in self.cuts])  # the finite cells' widths
        volume = self.reference_top - self.tops[(slice(1, None),) * len(self.cuts)]
        for width in widths:
            volume = volume * width
        return float(np.sum(volume))

    def boxes(self) -> Tuple[np.ndarray, np.ndarray]:
        """The cells as boxes: ``(lower, upper)``, each cells x m."""
        lower = np.stack([g.ravel() for g in np.meshgrid(*[c[:-1] for c in self.cuts], indexing="ij")], axis=1)
        upper = np.stack([g.ravel() for g in np.meshgrid(*[c[1:] for c in self.cuts], indexing="ij")], axis=1)
        tops = self.tops.ravel()
        return (np.column_stack([lower, np.full(len(tops), -np.inf)]), np.column_stack([upper, tops]))

    def expected_improvement(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """The expected hypervolume improvement of points whose losses are independent
        Gaussians (``mean`` and ``std``: points x m); see :meth:`RegionStack.expected_improvement`."""
        mean = np.atleast_2d(np.asarray(mean, dtype=float))
        return RegionStack.of([self]).expected_improvement(mean[:, None, :], std)[:, 0]


@dataclass(frozen=True)
class RegionStack:
    """Several regions (one per fantasy) on one padded grid, to compute the expected
    hypervolume improvement in all of them at once (:meth:`expected_improvement`). Each
    region's cuts are padded with its reference (cells of no width), its tops with its last
    ones; ``levels`` are each region's distinct tops, ``level_index`` each cell's among them."""

    cuts: Tuple[np.ndarray, ...]  # per objective but the last: regions x cuts (the -inf left out)
    levels: np.ndarray  # regions x levels
    level_index: np.ndarray  # regions x cells (the cells in C order)

    @classmethod
    def of(cls, regions: Sequence[RegionGrid]) -> "RegionStack":
        m = len(regions[0].cuts) + 1
        cuts = []
        for j in range(m - 1):
            width = max(len(region.cuts[j]) for region in regions)
            cuts.append(np.array([np.pad(r.cuts[j][1:], (0, width - len(r.cuts[j])), mode="edge") for r in regions]))
        shape = tuple(c.shape[1] for c in cuts)
        levels, index = [], []
        for region in regions:
            padded = np.pad(region.tops, [(0, n - k) for n, k in zip(shape, region.tops.shape)], mode="edge")
            distinct, where = np.unique(padded, return_inverse=True)
            levels.append(distinct)
            index.append(where.reshape(-1))
        n_levels = max(len(level) for level in levels)
        return cls(tuple(cuts), np.array([np.pad(level, (0, n_levels - len(level)), mode="edge") for level in levels]),
                   np.array(index))

    def expected_improvement(self, mean: np.ndarray, std: np.ndarray, *, chunk: int = 16) -> np.ndarray:
        """The expected hypervolume improvement of points whose losses are independent
        Gaussians, in each region: ``mean`` is points x regions x m (each region's own
        means), ``std`` points x m; returns points x regions.

        Exact: the volume a point adds is the sum of its overlaps with the region's cells, and
        with independent objectives a cell's expected overlap is the product over objectives
        of ``psi(upper) - psi(lower)``, ``psi(a) = E[(a - Y)+]`` (0 at ``-inf``), evaluated once
        per cut and per distinct top.
        """
        mean = np.asarray(mean, dtype=float)
        std = np.maximum(np.atleast_2d(np.asarray(std, dtype=float)), 1e-12)
        m = mean.shape[2]
        spans = [np.diff(_expected_shortfall(cuts[None, :, :], mean[:, :, j:j + 1], std[:, None, j:j + 1]),
                         axis=2, prepend=0.0) for j, cuts in enumerate(self.cuts)]  # points x regions x cells
        shape = tuple(span.shape[2] for span in spans)
        last = _expected_shortfall(self.levels[None, :, :], mean[:, :, m - 1:], std[:, None, m - 1:])
        letters = "abcdefgh"[: m - 1]
        formula = ",".join(f"xs{c}" for c in letters) + f",xs{letters}->xs"
        regions = np.arange(len(self.levels))[:, None]
        result = np.empty(mean.shape[:2])
        for start in range(0, len(mean), chunk):
            rows = slice(start, start + chunk)
            tops = last[rows][:, regions, self.level_index]  # points x regions x cells
            result[rows] = np.einsum(formula, *[span[rows] for span in spans],
                                     tops.reshape(tops.shape[:2] + shape), optimize=True)
        return np.maximum(result, 0.0)


def _expected_shortfall(a: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``E[(a - Y)+]`` for ``Y ~ N(mean, std**2)`` and a finite ``a`` (broadcast)."""
    z = (a - mean) / std
    return std * (z * ndtr(z) + np.exp(-0.5 * z * z) * _INV_SQRT_2PI)


_INV_SQRT_2PI = 1.0 / math.sqrt(2 * math.pi)


def chebyshev(losses: np.ndarray, weights: np.ndarray, *, augment: float) -> np.ndarray:
    """ParEGO's augmented Chebyshev scalarisation of loss rows (each objective already
    scaled to [0, 1]): the largest weighted loss plus ``augment`` times their sum."""
    weighted = np.asarray(losses, dtype=float) * np.asarray(weights, dtype=float)[None, :]
    return weighted.max(axis=1) + augment * weighted.sum(axis=1)
