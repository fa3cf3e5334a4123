"""The benchmark problems: test functions, their search spaces and known optima.

This module owns every problem's definition. Each problem lists its parameters once (a tuple of
:class:`Param`); the Hydra sweep strings (for the sweepers, through ``bench/app``), the Optuna
sweeper's spelling, skopt dimensions (for plain ``gp_minimize`` and the proposer) and the
values of a point are all derived from that list. ``optimum`` is the known global minimum, so
simple regret = best found - optimum.

Two suites: the tuning problems (Branin, Hartmann6, the mixed space: the proposer's constants
were tuned on them) and the held-out problems (``held_out=True``, other families, never used
for tuning). A problem with ``noise_sd > 0`` returns its value plus Gaussian noise drawn from
a hash of (noise seed, params), so every method sees the same noise at the same point and a
run is reproducible; it is scored by the noise-free value (:attr:`Problem.evaluate`).

Imports only the standard library and numpy at module level (the Optuna 5 venv imports it too).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

REAL, INT, GRID, CATEGORICAL = "real", "int", "grid", "categorical"


@dataclass(frozen=True)
class Param:
    """One searched parameter, in the terms of Hydra's sweep syntax.

    Attributes
    ----------
    name : str
        The config key.
    kind : str
        ``real`` (``interval``), ``int`` (``int(interval)``, both ends included), ``grid``
        (Hydra's ``range(low, high, step)``, end excluded) or ``categorical`` (``choice``).
    low, high : float
        The bounds (for ``grid``: start and the excluded end).
    log : bool
        ``tag(log, ...)``: a log-uniform prior (reals only).
    step : int
        The grid's step.
    choices : tuple of str
        The categorical's options.
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: int = 1
    choices: Tuple[str, ...] = ()

    def grid(self) -> List[int]:
        """The values of a ``grid`` parameter, as Hydra's ``range`` yields them."""
        return list(range(int(self.low), int(self.high), self.step))

    def sweep(self, inclusive_range: bool = False) -> str:
        """The Hydra sweep string; ``inclusive_range``: the Optuna sweeper's ``range`` (end included)."""
        if self.kind == REAL:
            interval = f"interval({self.low!r}, {self.high!r})"
            return f"tag(log, {interval})" if self.log else interval
        if self.kind == INT:
            return f"int(interval({int(self.low)}, {int(self.high)}))"
        if self.kind == GRID:
            end = self.grid()[-1] if inclusive_range else int(self.high)
            return f"range({int(self.low)}, {end}, {self.step})"
        return f"choice({', '.join(self.choices)})"

    def dimension(self) -> Any:
        """The skopt dimension the sweeper searches (a grid with a step is searched as an index)."""
        from skopt.space import Categorical, Integer, Real

        if self.kind == REAL:
            return Real(self.low, self.high, prior="log-uniform" if self.log else "uniform", name=self.name)
        if self.kind == INT:
            return Integer(int(self.low), int(self.high), name=self.name)
        if self.kind == GRID:
            return Integer(0, len(self.grid()) - 1, name=self.name)
        return Categorical(list(self.choices), name=self.name)

    def value(self, coordinate: Any) -> Any:
        """A skopt coordinate -> the plain-Python value the app receives."""
        if self.kind == GRID:
            return self.grid()[int(coordinate)]
        return self.canonical(coordinate)

    def canonical(self, value: Any) -> Any:
        """``value`` as the plain Python type of this kind (numpy scalars and ints-as-floats out)."""
        if self.kind == REAL:
            return float(value)
        if self.kind in (INT, GRID):
            return int(value)
        return str(value)


def real(name: str, low: float, high: float, log: bool = False) -> Param:
    return Param(name, REAL, float(low), float(high), log=log)


def integer(name: str, low: int, high: int) -> Param:
    return Param(name, INT, low, high)


def grid(name: str, start: int, stop: int, step: int) -> Param:
    return Param(name, GRID, start, stop, step=step)


def choice(name: str, *choices: str) -> Param:
    return Param(name, CATEGORICAL, choices=tuple(choices))


@dataclass(frozen=True)
class Problem:
    """A benchmark problem: its space, budget, function and known minimum.

    Attributes
    ----------
    name : str
        The key in :data:`PROBLEMS` and the app's ``problem=``.
    budget : int
        Trials per run.
    params : tuple of Param
        The search space.
    optimum : float
        The known global minimum of :attr:`evaluate`.
    evaluate : callable
        params dict -> the noise-free value.
    held_out : bool
        Not used for tuning the proposer (reported on, never tuned on).
    noise_sd : float
        Standard deviation of the Gaussian noise :meth:`observe` adds.
    about : str
        One line for the report: the family and why the problem is there.
    """

    name: str
    budget: int
    params: Tuple[Param, ...]
    optimum: float
    evaluate: Callable[[Dict[str, Any]], float]
    held_out: bool = False
    noise_sd: float = 0.0
    about: str = field(default="", compare=False)

    @property
    def sweep(self) -> Dict[str, str]:
        """Hydra sweep syntax per param (what this sweeper gets)."""
        return {p.name: p.sweep() for p in self.params}

    @property
    def optuna_sweep(self) -> Dict[str, str]:
        """The Optuna sweeper's spelling: its ``range()`` includes the end."""
        return {p.name: p.sweep(inclusive_range=True) for p in self.params}

    def dimensions(self) -> list:
        """skopt dimensions equal to the sweep strings (for gp_minimize and the proposer)."""
        return [p.dimension() for p in self.params]

    def point_params(self, point: Sequence[Any]) -> Dict[str, Any]:
        """A skopt point -> the params dict the app would receive."""
        return {p.name: p.value(c) for p, c in zip(self.params, point)}

    def canonical(self, params: Dict[str, Any]) -> Dict[str, Any]:
        """This problem's params out of a config or trial dict, as plain Python values."""
        return {p.name: p.canonical(params[p.name]) for p in self.params}

    def observe(self, params: Dict[str, Any], noise_seed: int = 0) -> float:
        """What a trial returns: the value, plus noise reproducible per (noise_seed, params)."""
        value = self.evaluate(params)
        if self.noise_sd <= 0:
            return value
        key = json.dumps([int(noise_seed), list(self.canonical(params).values())]).encode()
        draw = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
        return value + self.noise_sd * float(np.random.default_rng(draw).standard_normal())


# --- the tuning problems -----------------------------------------------------------------

# Hartmann6 constants (Surjanovic & Bingham's library of test functions)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H_A = np.array([
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
])
_H_P = 1e-4 * np.array([
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
])
HARTMANN6_MIN = -3.322368011391339
BRANIN_MIN = 0.397887357729738


def branin(x1: float, x2: float) -> float:
    return ((x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)


def hartmann6(x: List[float]) -> float:
    x = np.asarray(x, dtype=float)
    inner = np.sum(_H_A * (x - _H_P) ** 2, axis=1)
    return float(-np.sum(_H_ALPHA * np.exp(-inner)))


_OPTIMIZER_PENALTY = {"adam": 0.0, "sgd": 0.5, "rmsprop": 0.25}


def mixed(lr: float, units: int, optimizer: str) -> float:
    """A mixed space like a training run's: a log-scaled real, a stepped integer, a categorical.

    Smooth in log10(lr) (best at 10^-2.5) and in units (best at 96); minimum 0 at
    lr = 10^-2.5, units = 96, optimizer = adam.
    """
    u = math.log10(lr)
    return (u + 2.5) ** 2 + 0.5 * math.sin(3 * (u + 2.5)) ** 2 + ((units - 96) / 64) ** 2 + _OPTIMIZER_PENALTY[optimizer]


# --- the held-out problems ---------------------------------------------------------------

def _vector(params: Dict[str, Any], d: int) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(d)], dtype=float)


def ackley(x: np.ndarray) -> float:
    """Ackley: a near-flat outer region full of shallow local minima, one deep funnel at 0."""
    d = len(x)
    return float(-20 * math.exp(-0.2 * math.sqrt(np.sum(x**2) / d))
                 - math.exp(np.sum(np.cos(2 * math.pi * x)) / d) + 20 + math.e)


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock: a curved, narrow valley (ill-conditioned); minimum 0 at (1, ..., 1)."""
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def styblinski_tang(x: np.ndarray) -> float:
    """Styblinski-Tang: separable, 2^d local minima; global one at x_i = -2.9035."""
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


# the global minimiser of one coordinate's term: the smallest root of 4x^3 - 32x + 5
_ST_X = float(min(np.roots([4, 0, -32, 5]).real))
_ST_MIN_1D = 0.5 * (_ST_X**4 - 16 * _ST_X**2 + 5 * _ST_X)


def int_heavy(k1: int, k2: int, k3: int, k4: int, ratio: float, mode: str) -> float:
    """Four integers (32, 20, 21 and 16 values), a real and a 2-way categorical, coupled.

    A positive-definite quadratic in the normalised offsets from (23, 6, -3, 72, 0.35) (the
    sums and differences couple every pair of neighbours), plus a ripple in k1 whose depth
    depends on k2. ``mode=slow`` moves k1's best value to 9 and adds 0.15. Minimum 0 at
    k1=23, k2=6, k3=-3, k4=72, ratio=0.35, mode=fast.
    """
    u1 = (k1 - (23 if mode == "fast" else 9)) / 31
    u2, u3, u4, u5 = (k2 - 6) / 19, (k3 + 3) / 20, (k4 - 72) / 120, ratio - 0.35
    quadratic = (u1 + u2) ** 2 + (u2 - u3) ** 2 + (u3 + u4 - u5) ** 2 + (u1 + u4) ** 2 + 0.5 * u5**2
    ripple = 0.3 * (1 - math.cos(3 * math.pi * u1)) * (1 + u2**2)
    return 4 * quadratic + ripple + (0.0 if mode == "fast" else 0.15)


def int_tuning(k1: int, k2: int, k3: int, k4: int, ratio: float, kind: str) -> float:
    """int_heavy's tuning twin: four integers (25, 30, 17 and 15 values), a real and a 2-way
    categorical, coupled otherwise.

    A positive-definite quadratic in the normalised offsets from (17, 8, 2, 44, 0.6), plus a
    ripple in k2 whose depth depends on k3. ``kind=b`` moves k2's best value to 22 and adds
    0.1. Minimum 0 at k1=17, k2=8, k3=2, k4=44, ratio=0.6, kind=a.
    """
    u2 = (k2 - (8 if kind == "a" else 22)) / 29
    u1, u3, u4, u5 = (k1 - 17) / 24, (k3 - 2) / 16, (k4 - 44) / 60, ratio - 0.6
    quadratic = (u1 - u3) ** 2 + (u2 + u4) ** 2 + (u1 + u2 - u5) ** 2 + (u3 + u4) ** 2 + 0.5 * u5**2
    ripple = 0.25 * (1 - math.cos(3 * math.pi * u2)) * (1 + u3**2)
    return 4 * quadratic + ripple + (0.0 if kind == "a" else 0.1)


@dataclass(frozen=True)
class CategoricalCost:
    """Main effects per categorical plus a fixed, non-separable pairwise term: for each pair of
    categoricals a < b with options i and j, ``weight * ((ci*i + cj*j + ca*a + cb*b) % modulus)
    / (modulus - 1)``."""

    choices: Dict[str, Tuple[str, ...]]
    main: Dict[str, Tuple[float, ...]]
    weight: float
    coefficients: Tuple[int, int, int, int]
    modulus: int

    def index(self, params: Dict[str, Any]) -> List[int]:
        return [self.choices[k].index(params[k]) for k in self.choices]

    def __call__(self, index: Sequence[int]) -> float:
        ci, cj, ca, cb = self.coefficients
        cost = sum(self.main[k][i] for k, i in zip(self.choices, index))
        for (a, i), (b, j) in itertools.combinations(enumerate(index), 2):
            cost += self.weight * ((ci * i + cj * j + ca * a + cb * b) % self.modulus) / (self.modulus - 1)
        return cost

    def minimum(self) -> float:
        """By enumeration of every combination."""
        return min(self(ix) for ix in itertools.product(*(range(len(c)) for c in self.choices.values())))


_CAT = CategoricalCost(
    choices={
        "optimizer": ("adam", "sgd", "rmsprop", "adagrad"),
        "activation": ("relu", "tanh", "gelu"),
        "norm": ("none", "batch", "layer"),
        "init": ("xavier", "kaiming", "normal", "uniform", "orthogonal"),
        "schedule": ("constant", "cosine", "step"),
    },
    main={
        "optimizer": (0.0, 0.6, 0.3, 0.8),
        "activation": (0.2, 0.5, 0.0),
        "norm": (0.6, 0.0, 0.2),
        "init": (0.1, 0.0, 0.7, 0.5, 0.3),
        "schedule": (0.4, 0.0, 0.2),
    },
    weight=0.35, coefficients=(3, 5, 7, 11), modulus=7,
)


def cat_heavy(params: Dict[str, Any]) -> float:
    """Five categoricals (4, 3, 3, 5, 3 options) and dropout, whose best value depends on two of them."""
    index = _CAT.index(params)
    best_dropout = 0.1 + 0.1 * index[2] + 0.05 * index[1]
    return _CAT(index) + 8 * (params["dropout"] - best_dropout) ** 2


# cat_heavy's tuning twin: other options, effects and pairwise term, a real coupled to two of them
_CAT_TUNING = CategoricalCost(
    choices={
        "optimizer": ("sgd", "adam", "adamw"),
        "activation": ("relu", "gelu", "silu", "tanh", "elu"),
        "norm": ("none", "batch", "layer", "group"),
        "init": ("xavier", "kaiming", "normal"),
        "schedule": ("constant", "cosine", "step", "linear"),
    },
    main={
        "optimizer": (0.5, 0.0, 0.1),
        "activation": (0.3, 0.0, 0.1, 0.7, 0.4),
        "norm": (0.8, 0.1, 0.0, 0.3),
        "init": (0.0, 0.2, 0.6),
        "schedule": (0.5, 0.0, 0.3, 0.2),
    },
    weight=0.3, coefficients=(2, 3, 5, 13), modulus=5,
)


def cat_tuning(params: Dict[str, Any]) -> float:
    """Five categoricals (3, 5, 4, 3, 4 options: 720 combinations) and ratio, whose best value
    depends on two of them."""
    index = _CAT_TUNING.index(params)
    best_ratio = 0.2 + 0.15 * index[0] + 0.1 * index[3]
    return _CAT_TUNING(index) + 6 * (params["ratio"] - best_ratio) ** 2


# a second tuning twin, of cat_heavy's shape (4, 3, 3, 5, 3 options: 540 combinations) with
# other names, effects and pairwise term, a real coupled to two of them
_CAT_SHAPE = CategoricalCost(
    choices={
        "loss": ("mse", "huber", "l1", "logcosh"),
        "pooling": ("mean", "max", "attn"),
        "residual": ("off", "pre", "post"),
        "width": ("w1", "w2", "w3", "w4", "w5"),
        "warmup": ("none", "short", "long"),
    },
    main={
        "loss": (0.4, 0.0, 0.7, 0.2),
        "pooling": (0.0, 0.3, 0.5),
        "residual": (0.5, 0.1, 0.0),
        "width": (0.6, 0.2, 0.0, 0.1, 0.4),
        "warmup": (0.3, 0.0, 0.1),
    },
    weight=0.35, coefficients=(5, 3, 11, 7), modulus=7,
)


def cat_shape(params: Dict[str, Any]) -> float:
    """Five categoricals (4, 3, 3, 5, 3 options: 540 combinations) and scale, whose best value
    depends on two of them."""
    index = _CAT_SHAPE.index(params)
    best_scale = 0.15 + 0.1 * index[1] + 0.05 * index[4]
    return _CAT_SHAPE(index) + 8 * (params["scale"] - best_scale) ** 2


def scale_lr(lr: float, units: int, dropout: float) -> float:
    """linear_lr's tuning twin: smooth in log10(lr) (best at 10^-2.2), separable; minimum 0 at
    lr=10^-2.2, units=128, dropout=0.1."""
    return (math.log10(lr) + 2.2) ** 2 + 0.3 * ((units - 128) / 128) ** 2 + 0.5 * (dropout - 0.1) ** 2


def linear_lr(lr: float, n_layers: int, dropout: float) -> float:
    """A training-run-like loss over a LINEAR lr interval: smooth in log10(lr), best at 10^-2.2.

    The best lr (0.0063) lies 6% of the way up interval(0.0001, 0.1); lr is coupled to dropout
    and n_layers (a positive-definite quadratic). Minimum 0 at lr=10^-2.2, n_layers=3, dropout=0.2.
    """
    a, b, c = math.log10(lr) + 2.2, (dropout - 0.2) / 0.3, (n_layers - 3) / 2
    return a**2 + b**2 + c**2 + 0.8 * a * b + 0.5 * a * c


def six_hump_camel(x: float, y: float) -> float:
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


CAMEL_MIN = -1.031628453489877


def matyas(x: float, y: float) -> float:
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def _box(d: int, low: float, high: float) -> Tuple[Param, ...]:
    return tuple(real(f"x{i}", low, high) for i in range(d))


_BRANIN_SPACE = (real("x1", -5.0, 10.0), real("x2", 0.0, 15.0))


def _branin(p: Dict[str, Any]) -> float:
    return branin(p["x1"], p["x2"])


def _hartmann6(p: Dict[str, Any]) -> float:
    return hartmann6(list(_vector(p, 6)))


_PROBLEM_LIST = [
    Problem("branin", 40, _BRANIN_SPACE, BRANIN_MIN, _branin, about="tuning: 2-d, three global minima"),
    Problem("hartmann6", 60, _box(6, 0.0, 1.0), HARTMANN6_MIN, _hartmann6,
            about="tuning: 6-d, flat with a few deep wells"),
    Problem("mixed", 40,
            (real("lr", 1e-5, 1e-1, log=True), grid("units", 16, 272, 16),
             choice("optimizer", "adam", "sgd", "rmsprop")),
            0.0, lambda p: mixed(p["lr"], p["units"], p["optimizer"]),
            about="tuning: log real, stepped integer, categorical"),
    Problem("scale_lr", 30,
            (real("lr", 0.0001, 0.1), integer("units", 16, 256), real("dropout", 0.0, 0.5)),
            0.0, lambda p: scale_lr(p["lr"], p["units"], p["dropout"]),
            about="tuning: lr on a LINEAR interval(0.0001, 0.1), separable; the log-scale warp was designed on it"),
    Problem("camel_noisy", 40, (real("x0", -3.0, 3.0), real("x1", -2.0, 2.0)), CAMEL_MIN,
            lambda p: six_hump_camel(p["x0"], p["x1"]), noise_sd=0.5,
            about="tuning: noisy, six-hump camel + N(0, 0.5^2), values -1 to 160 (Branin's family of "
                  "heavy upper tails); scored by the true value of the recommended point"),
    Problem("matyas_noisy", 40, _box(2, -10.0, 10.0), 0.0,
            lambda p: matyas(p["x0"], p["x1"]), noise_sd=1.0,
            about="tuning: noisy, Matyas + N(0, 1), a flat bowl (values 0 to 100) whose floor the noise "
                  "hides; scored by the true value of the recommended point"),
    Problem("cat_tuning", 40,
            tuple(choice(k, *c) for k, c in _CAT_TUNING.choices.items()) + (real("ratio", 0.0, 1.0),),
            _CAT_TUNING.minimum(), cat_tuning,
            about="tuning: categorical-heavy, cat_heavy's twin (5 categoricals, 3-5 options, pairwise "
                  "interactions, 1 real), for choosing the categorical handling"),
    Problem("cat_shape", 40,
            tuple(choice(k, *c) for k, c in _CAT_SHAPE.choices.items()) + (real("scale", 0.0, 0.5),),
            _CAT_SHAPE.minimum(), cat_shape,
            about="tuning: categorical-heavy, of cat_heavy's shape (5 categoricals of 4, 3, 3, 5, 3 "
                  "options, pairwise interactions, 1 real) with other effects"),
    Problem("int_tuning", 45,
            (integer("k1", 0, 24), integer("k2", 1, 30), integer("k3", -8, 8), grid("k4", 4, 64, 4),
             real("ratio", 0.0, 1.0), choice("kind", "a", "b")),
            0.0, lambda p: int_tuning(p["k1"], p["k2"], p["k3"], p["k4"], p["ratio"], p["kind"]),
            about="tuning: integer-heavy, int_heavy's twin (4 coupled integers of 15-30 values, a real, "
                  "a 2-way categorical), for choosing the integer handling"),
    Problem("ackley5", 60, _box(5, -5.0, 10.0), 0.0, lambda p: ackley(_vector(p, 5)), held_out=True,
            about="multimodal: Ackley 5-d on [-5, 10]^5 (the funnel off the box's centre)"),
    Problem("rosenbrock4", 50, _box(4, -2.048, 2.048), 0.0, lambda p: rosenbrock(_vector(p, 4)), held_out=True,
            about="ill-conditioned: Rosenbrock 4-d, a curved narrow valley"),
    Problem("styblinski_tang8", 80, _box(8, -5.0, 5.0), 8 * _ST_MIN_1D,
            lambda p: styblinski_tang(_vector(p, 8)), held_out=True,
            about="8-d: Styblinski-Tang, 256 local minima"),
    Problem("int_heavy", 45,
            (integer("k1", 1, 32), integer("k2", 0, 19), integer("k3", -10, 10), grid("k4", 8, 136, 8),
             real("ratio", 0.0, 1.0), choice("mode", "fast", "slow")),
            0.0, lambda p: int_heavy(p["k1"], p["k2"], p["k3"], p["k4"], p["ratio"], p["mode"]), held_out=True,
            about="integer-heavy: 4 coupled integers (16-32 values), a real, a 2-way categorical"),
    Problem("cat_heavy", 40,
            tuple(choice(k, *c) for k, c in _CAT.choices.items()) + (real("dropout", 0.0, 0.5),),
            _CAT.minimum(), cat_heavy, held_out=True,
            about="categorical-heavy: 5 categoricals (3-5 options) with pairwise interactions, 1 real"),
    Problem("linear_lr", 30,
            (real("lr", 0.0001, 0.1), integer("n_layers", 1, 6), real("dropout", 0.0, 0.5)),
            0.0, lambda p: linear_lr(p["lr"], p["n_layers"], p["dropout"]), held_out=True,
            about="lightning-hydra-template's space: lr on a LINEAR interval(0.0001, 0.1), best near 0.0063"),
    Problem("branin_noisy", 40, _BRANIN_SPACE, BRANIN_MIN, _branin, held_out=True, noise_sd=1.0,
            about="noisy: Branin + N(0, 1); scored by the true value of the recommended point"),
    Problem("hartmann6_noisy", 60, _box(6, 0.0, 1.0), HARTMANN6_MIN, _hartmann6, held_out=True, noise_sd=0.1,
            about="noisy: Hartmann6 + N(0, 0.1^2); scored by the true value of the recommended point"),
]
PROBLEMS: Dict[str, Problem] = {p.name: p for p in _PROBLEM_LIST}
TUNING = [p.name for p in _PROBLEM_LIST if not p.held_out]
HELD_OUT = [p.name for p in _PROBLEM_LIST if p.held_out]
