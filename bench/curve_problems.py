"""Learning-curve problems: what a configuration's training reports at each epoch, and the value
it ends at, known exactly, for benchmarks counted in epochs.

A problem is a search space (:class:`problems.Param`), ``T`` epochs per full trial, and, per
configuration, a noise-free curve over those epochs (:meth:`CurveProblem.clean`). A trial
returns its best epoch, as a Lightning app that checkpoints its best epoch does, so the value a
configuration is worth, trained to the full budget, is the minimum of its noise-free curve
(:meth:`CurveProblem.truth`); regret = truth of the configuration a method picks - the best
truth in the space (found by random sampling plus a local polish, :attr:`CurveProblem.optimum`).

Every curve has the same shape, chosen per configuration by four numbers:

    clean_t = f + a (exp(-(t + 1) / tau) - exp(-T / tau)) / (1 - exp(-T / tau))
              + o max(0, t + 1 - T / 3) / T,          t = 0 .. T-1

it starts near ``f + a`` and decays with time constant ``tau`` towards ``f``; ``o > 0`` makes
it rise again after the first third (overfitting: its best epoch then comes early). Each epoch
adds N(0, sd^2) noise, drawn from the trial's own random stream.

The families, each shaped like something real training does:

* ``crossing`` (tuning): Branin's landscape with its deepest basin a slow starter (curves cross,
  the configuration that ends best looks poor for its first third); 2 reals.
* ``parallel`` (tuning): Branin again, every curve the same shape shifted: early ranking is
  reliable up to the noise; 2 reals.
* ``mlp`` (held out): learning rate (log), width and depth (integers), optimizer (adam or sgd),
  weight decay (log): sgd and strong weight decay end lower but start slowly; 5 parameters.
* ``reliable`` (held out): Hartmann-3, curves of one shape: early ranking is reliable.
* ``noisy`` (held out): the six-hump camel over 2 reals and a depth (integer), moderately
  crossing curves under epoch noise 3x the others'.
* ``overfit`` (held out): width (integer), dropout, activation (3 choices), learning rate
  (log): wide networks without dropout learn fast, then overfit.

Imports only the standard library and numpy (the Optuna 5 venv imports it too).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from problems import Param, choice, integer, real

T = 27  # epochs of a full trial (3^3: Hyperband's brackets divide it evenly)

Config = Dict[str, Any]
Shape = Tuple[float, float, float, float]  # f, a, tau, o


@dataclass(frozen=True)
class CurveProblem:
    name: str
    params: Tuple[Param, ...]
    shape: Callable[[Config], Shape]
    noise_sd: float
    held_out: bool
    epochs: int = T

    def clean(self, config: Config) -> np.ndarray:
        """The noise-free curve, one value per epoch."""
        f, a, tau, o = self.shape(config)
        t = np.arange(self.epochs, dtype=float) + 1.0
        floor = math.exp(-self.epochs / tau)
        decay = (np.exp(-t / tau) - floor) / (1.0 - floor)
        rise = o * np.maximum(0.0, t - self.epochs / 3.0) / self.epochs
        return f + a * decay + rise

    def curve(self, config: Config, rng: np.random.RandomState) -> np.ndarray:
        """One training run's reported values: the clean curve plus epoch noise."""
        return self.clean(config) + rng.normal(0.0, self.noise_sd, self.epochs)

    def truth(self, config: Config) -> float:
        """What the configuration is worth trained to the full budget: its best clean epoch."""
        return float(self.clean(config).min())

    def sample(self, rng: np.random.RandomState) -> Config:
        """A configuration drawn uniformly (reals on their own scale, log ones log-uniformly)."""
        config: Config = {}
        for p in self.params:
            if p.kind == "real":
                u = rng.uniform()
                config[p.name] = (math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low)))
                                  if p.log else p.low + u * (p.high - p.low))
            elif p.kind == "int":
                config[p.name] = int(rng.randint(int(p.low), int(p.high) + 1))
            else:
                config[p.name] = p.choices[rng.randint(len(p.choices))]
        return config

    @property
    def optimum(self) -> float:
        return _optimum(self)


_OPTIMA: Dict[str, float] = {}


def _optimum(problem: CurveProblem) -> float:
    """The best truth in the space: 20,000 random configurations, then coordinate steps on
    the best few (reals by shrinking steps on their own scale, integers by one, every choice)."""
    if problem.name in _OPTIMA:
        return _OPTIMA[problem.name]
    rng = np.random.RandomState(12345)
    configs = [problem.sample(rng) for _ in range(20_000)]
    configs.sort(key=problem.truth)
    best = min(problem.truth(_polish(problem, c)) for c in configs[:10])
    _OPTIMA[problem.name] = best
    return best


def _polish(problem: CurveProblem, config: Config) -> Config:
    best, value = dict(config), problem.truth(config)
    for scale in (0.1, 0.03, 0.01, 0.003, 0.001):
        improved = True
        while improved:
            improved = False
            for p in problem.params:
                for candidate in _neighbours(p, best[p.name], scale):
                    trial = dict(best, **{p.name: candidate})
                    v = problem.truth(trial)
                    if v < value - 1e-12:
                        best, value, improved = trial, v, True
    return best


def _neighbours(p: Param, value: Any, scale: float) -> List[Any]:
    if p.kind == "categorical":
        return [c for c in p.choices if c != value]
    if p.kind == "int":
        return [v for v in (value - 1, value + 1) if p.low <= v <= p.high]
    if p.log:
        span = math.log(p.high) - math.log(p.low)
        return [min(p.high, max(p.low, math.exp(math.log(value) + s * scale * span))) for s in (-1, 1)]
    return [min(p.high, max(p.low, value + s * scale * (p.high - p.low))) for s in (-1, 1)]


# -- the landscapes ---------------------------------------------------------------------------------

BRANIN_MIN = 0.397887
SLOW_BASIN = np.array([0.5428, 0.1517])  # Branin's middle minimum, in the unit box
PHASE = 4.19  # puts the waves' slow, mid-amplitude part on SLOW_BASIN, fast parts on the others


def branin_unit(x: np.ndarray) -> np.ndarray:
    """Branin on [-5, 10] x [0, 15], its arguments scaled to the unit box."""
    u, v = 15 * x[..., 0] - 5, 15 * x[..., 1]
    return (v - 5.1 / (4 * math.pi ** 2) * u ** 2 + 5 / math.pi * u - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * np.cos(u) + 10


def crossing_final(x: np.ndarray) -> np.ndarray:
    """A loss in [0.04, 0.34] (like a val_loss) shaped by Branin, its middle basin 0.01 deeper."""
    dip = 0.01 * np.exp(-np.sum((x - SLOW_BASIN) ** 2, axis=-1) / (2 * 0.05 ** 2))
    return 0.05 + 0.05 * np.log1p(np.maximum(branin_unit(x) - BRANIN_MIN, 0.0)) - dip


def crossing_amplitude(x: np.ndarray) -> np.ndarray:
    return 0.05 + 0.75 * (0.5 + 0.5 * np.sin(2 * math.pi * (0.9 * x[..., 0] - 0.7 * x[..., 1]) + PHASE))


def crossing_tau(x: np.ndarray) -> np.ndarray:
    """Epochs to decay by e: 1 (fast) to 12 (slow); the deepest basin is slow (~10.7)."""
    return 1.0 + 11.0 * (0.5 + 0.5 * np.cos(2 * math.pi * (0.6 * x[..., 0] + 0.8 * x[..., 1]) + PHASE))


def _xy(config: Config) -> np.ndarray:
    return np.array([config["x1"], config["x2"]], dtype=float)


def _crossing(config: Config) -> Shape:
    x = _xy(config)
    return float(crossing_final(x)), float(crossing_amplitude(x)), float(crossing_tau(x)), 0.0


def _parallel(config: Config) -> Shape:
    return float(crossing_final(_xy(config))), 0.5, 5.0, 0.0


def _mlp(config: Config) -> Shape:
    sgd = config["optimizer"] == "sgd"
    log_lr = math.log10(config["lr"])
    best_lr = -1.6 if sgd else -2.9
    width = math.log2(config["width"] / 96.0)
    depth = config["depth"]
    wd = math.log10(config["weight_decay"])  # -6 .. -2
    f = (0.10 + 0.035 * (log_lr - best_lr) ** 2 + 0.012 * width ** 2 + 0.01 * abs(depth - 2.4)
         + 0.006 * (wd + 3.8) ** 2 - (0.02 if sgd else 0.0))
    tau = (1.5 if not sgd else 5.0) * (1.0 + 0.35 * (depth - 1)) * (1.0 + 0.25 * (wd + 6.0)) * (1.0 + 0.4 * max(0.0, best_lr - log_lr))
    a = 0.5 + 0.15 * max(0.0, best_lr - log_lr) + 0.1 * depth
    return f, a, tau, 0.0


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_H3_C = np.array([1.0, 1.2, 3.0, 3.2])
H3_MIN = -3.86278


def hartmann3(x: np.ndarray) -> float:
    return float(-np.sum(_H3_C * np.exp(-np.sum(_H3_A * (x - _H3_P) ** 2, axis=1))))


def _reliable(config: Config) -> Shape:
    x = np.array([config["x1"], config["x2"], config["x3"]], dtype=float)
    return 0.05 + 0.05 * (hartmann3(x) - H3_MIN), 0.6, 4.0, 0.0


def _noisy(config: Config) -> Shape:
    x, y, depth = config["x"], config["y"], config["depth"]
    camel = (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2  # min -1.0316
    f = 0.08 + 0.03 * math.log1p(camel + 1.0316) + 0.01 * abs(depth - 3)
    tau = 2.0 + 2.0 * depth + 3.0 * (0.5 + 0.5 * math.sin(2.0 * x + y))
    return f, 0.5, tau, 0.0


def _overfit(config: Config) -> Shape:
    width, dropout, lr = config["width"], config["dropout"], config["lr"]
    act = {"relu": 0.0, "gelu": -0.008, "tanh": 0.012}[config["activation"]]
    capacity = math.log2(width / 8.0) / 6.0  # 0 .. 1
    log_lr = math.log10(lr)
    f = 0.12 - 0.05 * capacity + 0.02 * (log_lr + 2.7) ** 2 + 0.08 * (dropout - 0.25 - 0.2 * capacity) ** 2 + act
    o = max(0.0, 0.5 * capacity - 1.2 * dropout) * (1.0 + 0.5 * max(0.0, log_lr + 2.7))
    tau = 2.0 + 6.0 * dropout + 2.0 * max(0.0, -2.7 - log_lr)
    return f, 0.6, tau, o


PROBLEMS: Dict[str, CurveProblem] = {p.name: p for p in (
    CurveProblem("crossing", (real("x1", 0.0, 1.0), real("x2", 0.0, 1.0)), _crossing, 0.004, held_out=False),
    CurveProblem("parallel", (real("x1", 0.0, 1.0), real("x2", 0.0, 1.0)), _parallel, 0.004, held_out=False),
    CurveProblem("mlp", (real("lr", 1e-4, 1e-1, log=True), integer("width", 16, 256), integer("depth", 1, 4),
                         choice("optimizer", "adam", "sgd"), real("weight_decay", 1e-6, 1e-2, log=True)),
                 _mlp, 0.004, held_out=True),
    CurveProblem("reliable", (real("x1", 0.0, 1.0), real("x2", 0.0, 1.0), real("x3", 0.0, 1.0)),
                 _reliable, 0.004, held_out=True),
    CurveProblem("noisy", (real("x", -2.0, 2.0), real("y", -1.0, 1.0), integer("depth", 1, 5)),
                 _noisy, 0.012, held_out=True),
    CurveProblem("overfit", (integer("width", 8, 512), real("dropout", 0.0, 0.6),
                             choice("activation", "relu", "gelu", "tanh"), real("lr", 1e-4, 1e-1, log=True)),
                 _overfit, 0.004, held_out=True),
)}


# -- one method's run at a budget in epochs ----------------------------------------------------------


@dataclass
class Run:
    """What a run spent and what it found: its trials as (configuration, epochs, best value,
    trained to the end), and the regret of the one it would recommend."""

    trials: List[Tuple[Config, int, float, bool]]
    epochs: int
    regret: float


class Method:
    """A method under test: ``start()`` gives the next configuration (and a handle of the
    method's own); ``step(handle, epoch, value)`` hears each epoch and says whether to stop;
    ``finish(handle, value, epochs, complete)`` hears how the trial ended."""

    def start(self) -> Tuple[Any, Config]: ...

    def step(self, handle: Any, epoch: int, value: float) -> bool: ...

    def finish(self, handle: Any, value: float, epochs: int, complete: bool) -> None: ...

    def resume(self) -> Any:
        """The handle of a stopped trial to continue from where it stopped (freeze-thaw), or
        None to ``start()`` a new one."""
        return None


def run(problem: CurveProblem, method: Method, budget: int, seed: int) -> Run:
    """One trial at a time until ``budget`` epochs are spent (the last trial is cut there).

    The recommendation: the fully trained trial with the best reported value (its best noisy
    epoch); its regret is its truth - the problem's optimum. A run that trained nothing fully
    scores the median truth of random configurations (as good as a guess).
    """
    rng = np.random.RandomState(10_000 + seed)  # the epoch noise, the same for every method
    trials: List[Tuple[Config, int, float, bool]] = []
    stopped: Dict[Any, Tuple[Config, np.ndarray, int]] = {}  # handle -> its config, curve, epochs run
    spent = 0
    while spent < budget:
        continued = method.resume()
        if continued is not None:  # a paused trial goes on from its last epoch: no epoch twice
            handle = continued
            config, curve, first = stopped.pop(handle)
        else:
            handle, config = method.start()
            curve, first = problem.curve(config, rng), 0
        epochs = first
        for epoch in range(first, problem.epochs):
            if spent >= budget:
                break
            spent += 1
            epochs = epoch + 1
            if method.step(handle, epoch, float(curve[epoch])) and epochs < problem.epochs:
                break
        value = float(curve[:epochs].min())
        complete = epochs == problem.epochs
        method.finish(handle, value, epochs, complete)
        stopped[handle] = (config, curve, epochs)
        trials.append((config, epochs, value, complete))
    full = [t for t in trials if t[3]]
    if full:
        truth = problem.truth(min(full, key=lambda t: t[2])[0])
    else:
        guess = np.random.RandomState(seed)
        truth = float(np.median([problem.truth(problem.sample(guess)) for _ in range(200)]))
    return Run(trials, spent, truth - problem.optimum)
