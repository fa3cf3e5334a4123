"""The multi-objective benchmark problems: spaces, loss vectors, reference points, true fronts.

This module owns every multi-objective problem's definition. A problem lists its parameters as
bench/problems.py does (:class:`problems.Param`, so skopt dimensions, Optuna distributions and
a point's values come from one list), returns a loss vector (lower is better on every
objective), and carries the fixed reference point its hypervolume is measured against and the
hypervolume of its true Pareto front (synthetic problems: the front computed densely from its
known Pareto set; the real model: None, its best-known front is the union of every run's
trials, see bench/multi_objective.py).

Two suites, as for one objective: the tuning problems (ZDT1, DTLZ2: the proposer may be tuned
on them) and the held-out problems (``held_out=True``: ZDT2, ZDT3, DTLZ7 and the MLP on
scikit-learn's digits, never tuned on).

Imports only the standard library and numpy at module level (the Optuna 5 venv imports it for
the spaces; only the MLP's evaluation needs scikit-learn, in the project venv).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from problems import Param, Problem, grid, integer, real

# points per axis of the dense samples of the synthetic fronts (their hypervolumes are exact to ~1e-4)
_FRONT_SAMPLES_2D = 200_001
_FRONT_SAMPLES_3D = 1_501


@dataclass(frozen=True)
class MOProblem:
    """A multi-objective benchmark problem.

    Attributes
    ----------
    name : str
        The key in :data:`MO_PROBLEMS`.
    budget : int
        Trials per run.
    params : tuple of Param
        The search space.
    n_objectives : int
        The length of each loss vector.
    evaluate : callable
        params dict -> the loss vector (a list of floats).
    reference : tuple of float
        The fixed reference point of the reported hypervolume.
    true_hypervolume : callable or None
        -> the hypervolume of the true front against ``reference``; None where the front is
        not known (the real model).
    held_out : bool
        Never used for tuning the proposer.
    about : str
        One line for the report.
    """

    name: str
    budget: int
    params: Tuple[Param, ...]
    n_objectives: int
    evaluate: Callable[[Dict[str, Any]], List[float]]
    reference: Tuple[float, ...]
    true_hypervolume: Optional[Callable[[], float]] = field(default=None, compare=False)
    held_out: bool = False
    about: str = field(default="", compare=False)

    # the space's helpers of a single-objective problem: they read only ``params``
    dimensions = Problem.dimensions
    point_params = Problem.point_params
    canonical = Problem.canonical


def _box(d: int) -> Tuple[Param, ...]:
    return tuple(real(f"x{i}", 0.0, 1.0) for i in range(d))


def _vector(params: Dict[str, Any], d: int) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(d)], dtype=float)


# --- ZDT (two objectives, x in [0, 1]^d, the front at x1..x(d-1) = 0) ------------------------

def _zdt_g(x: np.ndarray) -> float:
    return 1.0 + 9.0 * float(np.sum(x[1:])) / (len(x) - 1)


def zdt1(x: np.ndarray) -> List[float]:
    """Convex front f2 = 1 - sqrt(f1)."""
    g = _zdt_g(x)
    return [float(x[0]), g * (1.0 - math.sqrt(x[0] / g))]


def zdt2(x: np.ndarray) -> List[float]:
    """Concave front f2 = 1 - f1^2."""
    g = _zdt_g(x)
    return [float(x[0]), g * (1.0 - (x[0] / g) ** 2)]


def zdt3(x: np.ndarray) -> List[float]:
    """Disconnected front: five pieces of f2 = 1 - sqrt(f1) - f1 sin(10 pi f1)."""
    g = _zdt_g(x)
    ratio = x[0] / g
    return [float(x[0]), g * (1.0 - math.sqrt(ratio) - ratio * math.sin(10 * math.pi * x[0]))]


def _front_hypervolume_2d(front: Callable[[np.ndarray], np.ndarray], reference: Sequence[float]) -> float:
    """The hypervolume of the curve f2 = front(f1), f1 in [0, 1] (the ZDT fronts, g = 1): the
    staircase of the best f2 at any smaller f1, integrated up to the reference."""
    f1 = np.linspace(0.0, 1.0, _FRONT_SAMPLES_2D)
    ceiling = np.minimum.accumulate(front(f1))
    height = np.clip(reference[1] - ceiling, 0.0, None)
    inside = f1 < reference[0]
    return float(np.trapezoid(height[inside], f1[inside]) + height[inside][-1] * (reference[0] - f1[inside][-1]))


def _zdt1_front(f1: np.ndarray) -> np.ndarray:
    return 1.0 - np.sqrt(f1)


def _zdt2_front(f1: np.ndarray) -> np.ndarray:
    return 1.0 - f1**2


def _zdt3_front(f1: np.ndarray) -> np.ndarray:
    return 1.0 - np.sqrt(f1) - f1 * np.sin(10 * np.pi * f1)


# --- DTLZ (three objectives) -----------------------------------------------------------------

def dtlz2(x: np.ndarray) -> List[float]:
    """The unit sphere's positive octant; the last d - 2 variables at 0.5 on the front."""
    g = float(np.sum((x[2:] - 0.5) ** 2))
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b), (1 + g) * math.sin(a)]


def dtlz7(x: np.ndarray) -> List[float]:
    """Four disconnected pieces; the last d - 2 variables at 0 on the front."""
    g = 1.0 + 9.0 * float(np.mean(x[2:]))
    f1, f2 = float(x[0]), float(x[1])
    h = 3.0 - sum(f / (1 + g) * (1 + math.sin(3 * math.pi * f)) for f in (f1, f2))
    return [f1, f2, (1 + g) * h]


def _dtlz2_hypervolume(reference: Sequence[float]) -> float:
    """The reference box less the unit ball's octant (every reference coordinate >= 1)."""
    return float(np.prod(reference) - math.pi / 6)


def _dtlz7_hypervolume(reference: Sequence[float]) -> float:
    """Over a grid of (z1, z2): the height from the lowest f3 of the front points below them
    (f1 <= z1, f2 <= z2, g = 1) up to the reference, integrated."""
    axis = np.linspace(0.0, 1.0, _FRONT_SAMPLES_3D)
    f1, f2 = np.meshgrid(axis, axis, indexing="ij")
    f3 = 2.0 * (3.0 - sum(f / 2 * (1 + np.sin(3 * np.pi * f)) for f in (f1, f2)))
    lowest = np.minimum.accumulate(np.minimum.accumulate(f3, axis=0), axis=1)
    height = np.clip(reference[2] - lowest, 0.0, None)
    cell = (axis[1] - axis[0]) ** 2
    # each grid cell at its lower corner's height (a Monte-Carlo estimate agrees within 1%)
    inside = height[:-1, :-1].sum() * cell
    beyond = (reference[0] - 1.0) * np.trapezoid(height[-1, :], axis) + \
        (reference[1] - 1.0) * np.trapezoid(height[:, -1], axis) + \
        (reference[0] - 1.0) * (reference[1] - 1.0) * height[-1, -1]
    return float(inside + beyond)


# --- the real model: an MLP on scikit-learn's digits, error against size --------------------

_DIGITS_FEATURES, _DIGITS_CLASSES = 64, 10
MLP_EPOCHS = 20


def mlp_weights(width: int, depth: int) -> int:
    """Parameters (weights and biases) of the MLP."""
    sizes = [_DIGITS_FEATURES] + [width] * depth + [_DIGITS_CLASSES]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


@lru_cache(maxsize=1)
def _digits_split() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order] / 16.0, y[order]
    return X[:1000], y[:1000], X[1000:], y[1000:]


@lru_cache(maxsize=4096)
def _mlp(width: int, depth: int, alpha: float, lr: float) -> Tuple[float, float]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X_train, y_train, X_val, y_val = _digits_split()
    model = MLPClassifier(hidden_layer_sizes=(width,) * depth, alpha=alpha, learning_rate_init=lr,
                          max_iter=MLP_EPOCHS, batch_size=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    return 1.0 - float(model.score(X_val, y_val)), math.log10(mlp_weights(width, depth))


def mlp_digits(params: Dict[str, Any]) -> List[float]:
    """Validation error, log10 of the parameter count."""
    return list(_mlp(int(params["width"]), int(params["depth"]), float(params["alpha"]), float(params["lr"])))


_LIST = [
    MOProblem("zdt1", 50, _box(4), 2, lambda p: zdt1(_vector(p, 4)), (1.1, 1.1),
              lambda: _front_hypervolume_2d(_zdt1_front, (1.1, 1.1)),
              about="tuning: ZDT1, 4-d, convex front"),
    MOProblem("dtlz2", 50, _box(4), 3, lambda p: dtlz2(_vector(p, 4)), (1.1, 1.1, 1.1),
              lambda: _dtlz2_hypervolume((1.1, 1.1, 1.1)),
              about="tuning: DTLZ2, 4-d, 3 objectives, a spherical (concave) front"),
    MOProblem("zdt2", 50, _box(5), 2, lambda p: zdt2(_vector(p, 5)), (1.1, 1.1),
              lambda: _front_hypervolume_2d(_zdt2_front, (1.1, 1.1)), held_out=True,
              about="ZDT2, 5-d, concave front"),
    MOProblem("zdt3", 50, _box(5), 2, lambda p: zdt3(_vector(p, 5)), (1.1, 1.1),
              lambda: _front_hypervolume_2d(_zdt3_front, (1.1, 1.1)), held_out=True,
              about="ZDT3, 5-d, disconnected front (five pieces)"),
    MOProblem("dtlz7", 50, _box(6), 3, lambda p: dtlz7(_vector(p, 6)), (1.1, 1.1, 7.0),
              lambda: _dtlz7_hypervolume((1.1, 1.1, 7.0)), held_out=True,
              about="DTLZ7, 6-d, 3 objectives, disconnected front (four pieces)"),
    MOProblem("mlp_digits", 50,
              (grid("width", 8, 136, 8), integer("depth", 1, 3), real("alpha", 1e-6, 1e-1, log=True),
               real("lr", 1e-4, 1e-1, log=True)),
              2, mlp_digits, (0.25, 4.8), None, held_out=True,
              about=f"scikit-learn MLPClassifier on digits ({MLP_EPOCHS} epochs, 1000 train / 797 validation): "
                    "validation error vs log10(parameters), over width, depth, alpha, learning rate"),
]
MO_PROBLEMS: Dict[str, MOProblem] = {p.name: p for p in _LIST}
MO_TUNING = [p.name for p in _LIST if not p.held_out]
MO_HELD_OUT = [p.name for p in _LIST if p.held_out]
