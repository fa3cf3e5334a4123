"""The benchmark problems: test functions, their search spaces and known optima.

Each problem is described once, in three forms: Hydra sweep strings (for the sweepers, through
``bench/app``), skopt dimensions (for plain ``gp_minimize`` and the proposer) and a function of a
params dict. ``optimum`` is the known global minimum, so simple regret = best found - optimum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import numpy as np

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


@dataclass(frozen=True)
class Problem:
    name: str
    budget: int  # trials
    sweep: Dict[str, str]  # Hydra sweep syntax per param (what the sweepers get)
    optimum: float
    evaluate: Callable[[Dict[str, Any]], float]
    # the Optuna sweeper's spelling where it differs: its range() includes the end
    optuna_sweep: Optional[Dict[str, str]] = None

    def dimensions(self) -> list:
        """skopt dimensions equal to the sweep strings (for gp_minimize and the proposer)."""
        from skopt.space import Categorical, Integer, Real

        if self.name == "branin":
            return [Real(-5.0, 10.0, name="x1"), Real(0.0, 15.0, name="x2")]
        if self.name == "hartmann6":
            return [Real(0.0, 1.0, name=f"x{i}") for i in range(6)]
        # range(16, 272, 16) is a 16-point grid searched as an index, like the sweeper does
        return [Real(1e-5, 1e-1, prior="log-uniform", name="lr"), Integer(0, 15, name="units"),
                Categorical(["adam", "sgd", "rmsprop"], name="optimizer")]

    def point_params(self, point: List[Any]) -> Dict[str, Any]:
        names = [d.name for d in self.dimensions()]
        params = dict(zip(names, point))
        if self.name == "mixed":
            params["units"] = 16 + 16 * int(params["units"])
        return params


PROBLEMS: Dict[str, Problem] = {
    "branin": Problem(
        "branin", 40, {"x1": "interval(-5.0, 10.0)", "x2": "interval(0.0, 15.0)"}, 0.397887357729738,
        lambda p: branin(p["x1"], p["x2"])),
    "hartmann6": Problem(
        "hartmann6", 60, {f"x{i}": "interval(0.0, 1.0)" for i in range(6)}, HARTMANN6_MIN,
        lambda p: hartmann6([p[f"x{i}"] for i in range(6)])),
    "mixed": Problem(
        "mixed", 40,
        {"lr": "tag(log, interval(1e-5, 1e-1))", "units": "range(16, 272, 16)",
         "optimizer": "choice(adam, sgd, rmsprop)"},
        0.0,
        lambda p: mixed(p["lr"], p["units"], p["optimizer"]),
        {"lr": "tag(log, interval(1e-5, 1e-1))", "units": "range(16, 256, 16)",
         "optimizer": "choice(adam, sgd, rmsprop)"}),
}
