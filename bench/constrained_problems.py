"""The constrained benchmark problems: an objective, inequality constraints on what a trial
measures, and the known best FEASIBLE value.

This module owns every constrained problem's definition. A constraint is given as its slack
(at most 0 where it holds: ``g(x) <= c`` has slack ``g(x) - c``), the form the sweeper's
proposer and Optuna's ``constraints_func`` both take. ``optimum`` is the lowest objective
value over the feasible region, so regret = best feasible value found - optimum.

Two suites, as in bench/problems.py: the tuning problems (a proposer change may be tried on
them) and the held-out problems (``held_out=True``, reported on, never tuned on). The real
model, ``mlp_digits``, is a lookup table (bench/data/mlp_digits.json, every configuration of
its grid trained once; ``--build-mlp-table`` rebuilds it), so a trial costs nothing and its
optimum is known by enumeration.

``python bench/constrained_problems.py`` recomputes the optima the module states (multistart
SLSQP, or enumeration) and prints them beside the stated ones.

Imports only the standard library and numpy at module level (the Optuna 5 venv imports it too).
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from problems import Param, Problem, ackley, branin, grid, hartmann6, integer, real

Slacks = Callable[[Dict[str, Any]], Sequence[float]]
MLP_TABLE = Path(__file__).resolve().parent / "data" / "mlp_digits.json"


@dataclass(frozen=True)
class ConstrainedProblem(Problem):
    """A :class:`problems.Problem` with constraints on what a trial measures.

    Attributes
    ----------
    slacks : callable
        params dict -> one slack per constraint (<= 0: satisfied).
    constraints : tuple of str
        The constraints as a user would write them, for the report.
    """

    slacks: Optional[Slacks] = None
    constraints: Tuple[str, ...] = ()

    @property
    def n_constraints(self) -> int:
        return len(self.constraints)

    def measure(self, params: Dict[str, Any]) -> Tuple[float, List[float]]:
        """What a trial returns: its value and its slacks."""
        return float(self.evaluate(params)), [float(s) for s in self.slacks(params)]


def _xy(p: Dict[str, Any]) -> Tuple[float, float]:
    return p["x0"], p["x1"]


def _vector(p: Dict[str, Any], d: int) -> np.ndarray:
    return np.array([p[f"x{i}"] for i in range(d)], dtype=float)


def _box(d: int, low: float, high: float) -> Tuple[Param, ...]:
    return tuple(real(f"x{i}", low, high) for i in range(d))


# --- tuning: Branin in a disk that holds none of its three minima ----------------------------

def _branin_disk(p: Dict[str, Any]) -> List[float]:
    return [(p["x0"] - 2.5) ** 2 + (p["x1"] - 7.5) ** 2 - 20.0]


# --- tuning: Gardner et al. (2014), simulation 1: feasible bands ------------------------------

def _gardner1(p: Dict[str, Any]) -> float:
    x, y = _xy(p)
    return math.cos(2 * x) * math.cos(y) + math.sin(x)


def _gardner1_slack(p: Dict[str, Any]) -> List[float]:
    x, y = _xy(p)
    return [math.cos(x) * math.cos(y) - math.sin(x) * math.sin(y) + 0.5]


# --- tuning: Hartmann6 with its optimum cut off -----------------------------------------------

def _hartmann6_cut(p: Dict[str, Any]) -> List[float]:
    return [p["x4"] + p["x5"] - 0.8]


# --- tuning: Rosenbrock on a disk, and on a cubic and a line: the optimum (1, 1) on the boundary

def _rosenbrock(p: Dict[str, Any]) -> float:
    x, y = _xy(p)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosenbrock_disk(p: Dict[str, Any]) -> List[float]:
    x, y = _xy(p)
    return [x**2 + y**2 - 2.0]


def _rosenbrock_cubic(p: Dict[str, Any]) -> List[float]:
    x, y = _xy(p)
    return [(x - 1) ** 3 - y + 1, x + y - 2]


# --- tuning: Mishra's bird, multimodal, in a disk ---------------------------------------------

def _mishra_bird(p: Dict[str, Any]) -> float:
    x, y = _xy(p)
    return math.sin(y) * math.exp((1 - math.cos(x)) ** 2) + math.cos(x) * math.exp((1 - math.sin(y)) ** 2) \
        + (x - y) ** 2


def _mishra_disk(p: Dict[str, Any]) -> List[float]:
    x, y = _xy(p)
    return [(x + 5) ** 2 + (y + 5) ** 2 - 25.0]


# --- held-out: Townsend (modified), a feasible region bounded by a wavy closed curve ----------

def _townsend(p: Dict[str, Any]) -> float:
    x, y = _xy(p)
    return -math.cos((x - 0.1) * y) ** 2 - x * math.sin(3 * x + y)


def _townsend_slack(p: Dict[str, Any]) -> List[float]:
    x, y = _xy(p)
    t = math.atan2(x, y)
    radius = (2 * math.cos(t) - 0.5 * math.cos(2 * t) - 0.25 * math.cos(3 * t) - 0.125 * math.cos(4 * t)) ** 2 \
        + (2 * math.sin(t)) ** 2
    return [x**2 + y**2 - radius]


# --- held-out: Gardner et al. (2014), simulation 2: small disconnected islands ----------------

def _gardner2(p: Dict[str, Any]) -> float:
    x, y = _xy(p)
    return math.sin(x) + y


def _gardner2_slack(p: Dict[str, Any]) -> List[float]:
    x, y = _xy(p)
    return [math.sin(x) * math.sin(y) + 0.95]


# --- held-out: Simionescu, a star-shaped feasible region --------------------------------------

def _simionescu_slack(p: Dict[str, Any]) -> List[float]:
    x, y = _xy(p)
    angle = math.atan(x / y) if y != 0 else math.copysign(math.pi / 2, x)
    return [x**2 + y**2 - (1 + 0.2 * math.cos(8 * angle)) ** 2]


# --- held-out: Ackley 5-d with an active constraint (as in SCBO's Ackley benchmark) -----------

def _ackley_slacks(p: Dict[str, Any]) -> List[float]:
    x = _vector(p, 5)
    return [float(np.sum(x)), float(np.linalg.norm(x)) - 5.0]


# --- held-out: the tension/compression spring design, four constraints ------------------------

def _spring(p: Dict[str, Any]) -> float:
    return (p["coils"] + 2) * p["coil_d"] * p["wire_d"] ** 2


def _spring_slacks(p: Dict[str, Any]) -> List[float]:
    d, big_d, n = p["wire_d"], p["coil_d"], p["coils"]
    return [
        1 - big_d**3 * n / (71785 * d**4),
        (4 * big_d**2 - d * big_d) / (12566 * (big_d * d**3 - d**4)) + 1 / (5108 * d**2) - 1,
        1 - 140.45 * d / (big_d**2 * n),
        (d + big_d) / 1.5 - 1,
    ]


# --- tuning: the welded beam, constraints measured in psi, inches and pounds ------------------

_BEAM_PARAMS = (real("h", 0.1, 2.0), real("l", 0.1, 10.0), real("t", 0.1, 10.0), real("b", 0.1, 2.0))
_LOAD, _SPAN, _YOUNG, _SHEAR = 6000.0, 14.0, 30e6, 12e6


def _beam(p: Dict[str, Any]) -> float:
    return 1.10471 * p["h"] ** 2 * p["l"] + 0.04811 * p["t"] * p["b"] * (14.0 + p["l"])


def _beam_slacks(p: Dict[str, Any]) -> List[float]:
    h, l, t, b = p["h"], p["l"], p["t"], p["b"]
    primary = _LOAD / (math.sqrt(2) * h * l)
    moment = _LOAD * (_SPAN + l / 2)
    radius = math.sqrt(l**2 / 4 + ((h + t) / 2) ** 2)
    inertia = 2 * math.sqrt(2) * h * l * (l**2 / 12 + ((h + t) / 2) ** 2)
    secondary = moment * radius / inertia
    shear = math.sqrt(primary**2 + primary * secondary * l / radius + secondary**2)
    stress = 6 * _LOAD * _SPAN / (b * t**2)
    deflection = 4 * _LOAD * _SPAN**3 / (_YOUNG * t**3 * b)
    buckling = (4.013 * _YOUNG * math.sqrt(t**2 * b**6 / 36) / _SPAN**2
                * (1 - t / (2 * _SPAN) * math.sqrt(_YOUNG / (4 * _SHEAR))))
    return [shear - 13600, stress - 30000, h - b, 0.10471 * h**2 + 0.04811 * t * b * (14 + l) - 5,
            0.125 - h, deflection - 0.25, _LOAD - buckling]


# --- held-out: the pressure vessel, its two plate thicknesses integers ----------------------

PLATE = 0.0625  # plates come in sixteenths of an inch: thickness = PLATE x an integer
_VESSEL_PARAMS = (integer("shell", 1, 99), integer("head", 1, 99), real("radius", 10.0, 200.0),
                  real("length", 10.0, 200.0))


def _vessel(p: Dict[str, Any]) -> float:
    ts, th, r, length = PLATE * p["shell"], PLATE * p["head"], p["radius"], p["length"]
    return 0.6224 * ts * r * length + 1.7781 * th * r**2 + 3.1661 * ts**2 * length + 19.84 * ts**2 * r


def _vessel_slacks(p: Dict[str, Any]) -> List[float]:
    ts, th, r, length = PLATE * p["shell"], PLATE * p["head"], p["radius"], p["length"]
    return [0.0193 * r - ts, 0.00954 * r - th,
            1296000 - math.pi * r**2 * length - 4 / 3 * math.pi * r**3, length - 240]


def vessel_optimum() -> Tuple[float, Dict[str, Any]]:
    """The best feasible cost: for each pair of thicknesses the radius is as large as the
    thinner plate allows and the length what the volume then needs (the cost grows with both)."""
    best: Tuple[float, Dict[str, Any]] = (math.inf, {})
    for shell in range(1, 100):
        for head in range(1, 100):
            r = min(PLATE * shell / 0.0193, PLATE * head / 0.00954, 200.0)
            length = max((1296000 - 4 / 3 * math.pi * r**3) / (math.pi * r**2), 10.0)
            point = {"shell": shell, "head": head, "radius": r, "length": length}
            if length <= 200.0 and max(_vessel_slacks(point)) <= 1e-6 and _vessel(point) < best[0]:
                best = (_vessel(point), point)
    return best


# --- held-out: a real model under a size budget -----------------------------------------------

MLP_WEIGHT_BUDGET = 4000
_MLP_PARAMS = (integer("n_layers", 1, 3), grid("units", 16, 144, 16), integer("log10_alpha", -5, -1),
               integer("log10_lr", -4, -1))


def mlp_weights(n_layers: int, units: int) -> int:
    """Weights (no biases) of an MLP on the 64 pixels of a digit, with 10 outputs."""
    return 64 * units + (n_layers - 1) * units * units + units * 10


def _mlp_key(p: Dict[str, Any]) -> str:
    return f"{int(p['n_layers'])},{int(p['units'])},{int(p['log10_alpha'])},{int(p['log10_lr'])}"


_mlp_table: Dict[str, float] = {}


def _mlp_error(p: Dict[str, Any]) -> float:
    if not _mlp_table:
        _mlp_table.update(json.loads(MLP_TABLE.read_text())["validation_error"])
    return _mlp_table[_mlp_key(p)]


def _mlp_slack(p: Dict[str, Any]) -> List[float]:
    return [float(mlp_weights(int(p["n_layers"]), int(p["units"])) - MLP_WEIGHT_BUDGET)]


def train_mlp(p: Dict[str, Any]) -> float:
    """Validation error of scikit-learn's MLPClassifier on the digits (fixed split and seed)."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X / 16.0, y, test_size=0.33, stratify=y, random_state=0)
    model = MLPClassifier(hidden_layer_sizes=(int(p["units"]),) * int(p["n_layers"]),
                          alpha=10.0 ** p["log10_alpha"], learning_rate_init=10.0 ** p["log10_lr"],
                          max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    return float(1.0 - model.score(X_val, y_val))


def build_mlp_table(jobs: int) -> None:
    """Train every configuration of mlp_digits' grid once and write the table."""
    import itertools
    from concurrent.futures import ProcessPoolExecutor

    axes = [range(1, 4), range(16, 144, 16), range(-5, 0), range(-4, 0)]
    configs = [dict(zip(("n_layers", "units", "log10_alpha", "log10_lr"), c)) for c in itertools.product(*axes)]
    with ProcessPoolExecutor(jobs) as pool:
        errors = list(pool.map(train_mlp, configs, chunksize=8))
    MLP_TABLE.parent.mkdir(parents=True, exist_ok=True)
    MLP_TABLE.write_text(json.dumps({
        "what": "validation error of sklearn MLPClassifier(max_iter=40, random_state=0) on load_digits "
                "(X/16, 33% stratified validation split, random_state=0), per n_layers,units,log10_alpha,log10_lr",
        "validation_error": {_mlp_key(c): e for c, e in zip(configs, errors)},
    }, indent=0))


def _mlp_feasible_minimum() -> float:
    """By enumeration of the table (NaN before it is built)."""
    if not MLP_TABLE.exists():
        return math.nan
    table = json.loads(MLP_TABLE.read_text())["validation_error"]
    return min(e for key, e in table.items() if mlp_weights(*map(int, key.split(",")[:2])) <= MLP_WEIGHT_BUDGET)


def solve_optimum(problem: ConstrainedProblem, starts: int = 300, seed: int = 0) -> Tuple[float, Dict[str, Any]]:
    """The feasible minimum of a continuous problem by SLSQP from ``starts`` random points."""
    from scipy.optimize import minimize

    lows = np.array([p.low for p in problem.params])
    highs = np.array([p.high for p in problem.params])

    def params(x: np.ndarray) -> Dict[str, Any]:
        return {p.name: float(v) for p, v in zip(problem.params, np.clip(x, lows, highs))}

    best, best_x = math.inf, lows
    rng = np.random.default_rng(seed)
    for start in rng.uniform(lows, highs, size=(starts, len(lows))):
        result = minimize(lambda x: problem.evaluate(params(x)), start, method="SLSQP",
                          bounds=list(zip(lows, highs)),
                          constraints=[{"type": "ineq", "fun": lambda x: -np.array(problem.slacks(params(x)))}])
        if max(problem.slacks(params(result.x))) <= 1e-9 and result.fun < best:
            best, best_x = float(result.fun), result.x
    return best, params(best_x)


_PROBLEM_LIST = [
    ConstrainedProblem(
        "branin_disk", 40, (real("x0", -5.0, 10.0), real("x1", 0.0, 15.0)), 0.9394760453181394,
        lambda p: branin(p["x0"], p["x1"]), slacks=_branin_disk,
        constraints=("(x0 - 2.5)^2 + (x1 - 7.5)^2 <= 20",),
        about="tuning: Branin in a disk that holds none of its three minima (optimum on the boundary)"),
    ConstrainedProblem(
        "gardner1", 40, _box(2, 0.0, 6.0), -1.8887513615496894, _gardner1, slacks=_gardner1_slack,
        constraints=("cos(x0) cos(x1) - sin(x0) sin(x1) <= -0.5",),
        about="tuning: Gardner et al. (2014) sim. 1, feasible diagonal bands (about a third of the box)"),
    ConstrainedProblem(
        "hartmann6_cut", 60, _box(6, 0.0, 1.0), -3.203161918332755, lambda p: hartmann6(list(_vector(p, 6))),
        slacks=_hartmann6_cut, constraints=("x4 + x5 <= 0.8",),
        about="tuning: Hartmann6 with its global minimum cut off: the optimum is its second well (a third "
              "of the box feasible)"),
    ConstrainedProblem(
        "rosenbrock_disk", 40, _box(2, -1.5, 1.5), 0.0, _rosenbrock, slacks=_rosenbrock_disk,
        constraints=("x0^2 + x1^2 <= 2",),
        about="tuning: Rosenbrock in a disk (70% of the box), optimum (1, 1) on its boundary"),
    ConstrainedProblem(
        "rosenbrock_cubic", 40, (real("x0", -1.5, 1.5), real("x1", -0.5, 2.5)), 0.0, _rosenbrock,
        slacks=_rosenbrock_cubic, constraints=("(x0 - 1)^3 - x1 + 1 <= 0", "x0 + x1 <= 2"),
        about="tuning: Rosenbrock under a cubic and a line, optimum (1, 1) where both boundaries meet"),
    ConstrainedProblem(
        "mishra_bird", 40, (real("x0", -10.0, 0.0), real("x1", -6.5, 0.0)), -106.76453674926464, _mishra_bird,
        slacks=_mishra_disk, constraints=("(x0 + 5)^2 + (x1 + 5)^2 <= 25",),
        about="tuning: Mishra's bird in a disk (83% of the box), multimodal, optimum inside"),
    ConstrainedProblem(
        "welded_beam", 40, _BEAM_PARAMS, 1.7248523085973246, _beam, slacks=_beam_slacks,
        constraints=("shear stress <= 13600", "bending stress <= 30000", "h <= b", "cost <= 5", "h >= 0.125",
                     "deflection <= 0.25", "buckling load >= 6000"),
        about="tuning: the welded beam's cost (Coello 2000), 4 reals, seven constraints measured in psi, "
              "inches and pounds (slacks from -1e6 to 1e6)"),
    ConstrainedProblem(
        "townsend", 40, (real("x0", -2.25, 2.25), real("x1", -2.5, 1.75)), -2.0239883632845794, _townsend,
        slacks=_townsend_slack, held_out=True,
        constraints=("x0^2 + x1^2 <= r(atan2(x0, x1))^2 (a wavy closed curve)",),
        about="held-out: Townsend (modified), multimodal, optimum on the curved boundary"),
    ConstrainedProblem(
        "gardner2", 40, _box(2, 0.0, 6.0), -1.0 + math.asin(0.95), _gardner2, slacks=_gardner2_slack,
        held_out=True, constraints=("sin(x0) sin(x1) <= -0.95",),
        about="held-out: Gardner et al. (2014) sim. 2, two small disconnected islands (~4% of the box)"),
    ConstrainedProblem(
        "simionescu", 40, _box(2, -1.25, 1.25), -0.072, lambda p: 0.1 * p["x0"] * p["x1"],
        slacks=_simionescu_slack, held_out=True,
        constraints=("x0^2 + x1^2 <= (1 + 0.2 cos(8 atan(x0 / x1)))^2",),
        about="held-out: Simionescu, a star-shaped region; two optima on its tips"),
    ConstrainedProblem(
        "ackley5", 50, _box(5, -5.0, 10.0), 0.0, lambda p: ackley(_vector(p, 5)), slacks=_ackley_slacks,
        held_out=True, constraints=("sum(x) <= 0", "||x|| <= 5"),
        about="held-out: Ackley 5-d on [-5, 10]^5, optimum at 0 on the boundary of sum(x) <= 0"),
    ConstrainedProblem(
        "spring", 40, (real("wire_d", 0.05, 2.0), real("coil_d", 0.25, 1.3), real("coils", 2.0, 15.0)),
        0.012665232780841956, _spring, slacks=_spring_slacks, held_out=True,
        constraints=("deflection", "shear stress", "surge frequency", "outer diameter"),
        about="held-out: tension/compression spring design, 3-d, four constraints, optimum where they meet"),
    ConstrainedProblem(
        "pressure_vessel", 40, _VESSEL_PARAMS, 6059.714335048436, _vessel, slacks=_vessel_slacks, held_out=True,
        constraints=("shell >= 0.0193 radius", "head >= 0.00954 radius", "volume >= 1296000", "length <= 240"),
        about="held-out: the pressure vessel's cost (Sandgren 1990), its shell and head thicknesses integers "
              "(sixteenths of an inch, 1-99), radius and length 10-200; optimum where three constraints meet"),
    ConstrainedProblem(
        "mlp_digits", 40, _MLP_PARAMS, _mlp_feasible_minimum(), _mlp_error, slacks=_mlp_slack, held_out=True,
        constraints=(f"n_weights <= {MLP_WEIGHT_BUDGET}",),
        about="held-out, real model: MLPClassifier on load_digits, validation error, 1-3 layers of 16-128 "
              f"units, log10 alpha -5..-1, log10 lr -4..-1; n_weights <= {MLP_WEIGHT_BUDGET} excludes the best"),
]

PROBLEMS: Dict[str, ConstrainedProblem] = {p.name: p for p in _PROBLEM_LIST}
TUNING = [p.name for p in _PROBLEM_LIST if not p.held_out]
HELD_OUT = [p.name for p in _PROBLEM_LIST if p.held_out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-mlp-table", action="store_true", help="train mlp_digits' grid (minutes)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.build_mlp_table:
        build_mlp_table(args.jobs)
    for problem in _PROBLEM_LIST:
        if problem.name == "pressure_vessel":
            print(f"{problem.name}: stated {problem.optimum!r}, enumerated {vessel_optimum()!r}")
            continue
        if problem.name == "mlp_digits":
            print(f"{problem.name}: stated {problem.optimum!r}, enumerated {_mlp_feasible_minimum()!r}")
            continue
        value, params = solve_optimum(problem)
        print(f"{problem.name}: stated {problem.optimum!r}, SLSQP {value!r} at {params}", flush=True)


if __name__ == "__main__":
    main()
