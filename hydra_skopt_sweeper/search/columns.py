"""The normalised space's column layout: the one place that knows which columns of skopt's
normalised space each dimension has.

skopt's normalised copy of a space maps every Real and Integer dimension to one column in
[0, 1] and every categorical to its one-hot columns (a single 0/1 column for two options).
:class:`ColumnLayout` computes that layout once per space: each dimension's columns as a
slice, each categorical's one-hot group, the continuous columns (the ones a gradient may move)
and the numeric ones (all but the categoricals'); it converts points to rows and back.
Everything that reads the normalised space (:mod:`.proposer`, :mod:`.model`,
:mod:`.candidate_search`, :mod:`..insight.pictures`) reads its columns here.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

import numpy as np
from skopt.space import Categorical, Dimension, Real, Space
from skopt.utils import normalize_dimensions

from ..problem.search_space import to_plain

Point = List[Any]


@dataclass(frozen=True, eq=False)
class ColumnLayout:
    """Where each dimension of a space sits in its normalised rows (build with :meth:`of`).

    Attributes
    ----------
    tspace : Space
        skopt's normalised copy of the space; points are converted through it.
    slices : tuple of slice
        Each dimension's columns, in the order of the dimensions.
    choices : tuple of ndarray
        Each categorical's one-hot columns (int indices), in the order of the dimensions.
    continuous : ndarray of int
        The column of each Real dimension: the columns a gradient may move.
    numeric : ndarray of bool
        A mask over all columns: true for the columns of Real and Integer dimensions.
    """

    tspace: Space
    slices: Tuple[slice, ...]
    choices: Tuple[np.ndarray, ...]
    continuous: np.ndarray
    numeric: np.ndarray

    @classmethod
    def of(cls, space: Space) -> "ColumnLayout":
        """The layout of ``space`` (a user's space, or its normalised copy: normalising twice
        gives the same columns); ``space`` itself is left as it is."""
        # normalize_dimensions changes the dimensions it is given
        tspace = Space(normalize_dimensions(copy.deepcopy(space.dimensions)))
        slices, start = [], 0
        for dim in tspace.dimensions:
            slices.append(slice(start, start + dim.transformed_size))
            start += dim.transformed_size
        pairs = list(zip(tspace.dimensions, slices))
        choices = tuple(np.arange(s.start, s.stop) for dim, s in pairs if isinstance(dim, Categorical))
        continuous = np.array([s.start for dim, s in pairs if isinstance(dim, Real)], dtype=int)
        numeric = np.ones(start, dtype=bool)
        for group in choices:
            numeric[group] = False
        for array in (*choices, continuous, numeric):
            array.flags.writeable = False
        return cls(tspace, tuple(slices), choices, continuous, numeric)

    @property
    def dimensions(self) -> List[Dimension]:
        """The normalised dimensions, in the order of :attr:`slices`."""
        return self.tspace.dimensions

    @property
    def n_columns(self) -> int:
        return len(self.numeric)

    def normalise(self, points: Sequence[Point]) -> np.ndarray:
        """Points (lists of skopt coordinates) as rows of the normalised space."""
        return np.asarray(self.tspace.transform(points), dtype=float).reshape(len(points), -1)

    def denormalise(self, rows: np.ndarray) -> List[Point]:
        """Rows of the normalised space as points of plain Python values within the bounds."""
        if len(rows) == 0:
            return []
        points = self.tspace.inverse_transform(np.clip(rows, 0.0, 1.0))
        # the inverse of a log transform can land a hair outside the bounds: clip to them
        return [[clip(dim, to_plain(x)) for dim, x in zip(self.dimensions, p)] for p in points]


def clip(dim: Dimension, value: Any) -> Any:
    """A Real coordinate clipped to its dimension's bounds; any other value as it is."""
    if isinstance(dim, Real):
        return min(max(float(value), float(dim.low)), float(dim.high))
    return value


def row_key(row: np.ndarray) -> Tuple:
    """Rows this close in the normalised space count as the same point."""
    return tuple(np.round(row, 9).tolist())
