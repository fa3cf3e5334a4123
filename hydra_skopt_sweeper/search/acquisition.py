"""The acquisition side of the batch proposer: what a candidate is worth to the next trial.

It owns the acquisition functions (log EI, log PI, LCB: :func:`acquisition_values`), the
:class:`Acquisition` object the candidate search maximises (a fitted model, the function and
its incumbent, bound together so that one object is passed around) and gp_hedge's choice
among the functions (:class:`Hedge`). It works on rows of the normalised space and on scaled
losses, and imports no model: a model evaluates a function under its posterior through
``acquire`` (:mod:`.model`; a :class:`.model.Fantasies` averages it over its draws, each
with its own incumbent).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Protocol, Tuple, Union

import numpy as np
from scipy.special import erfcx, log_ndtr, softmax


class Surrogate(Protocol):
    """What the acquisition needs of a fitted model (:class:`.model.Surrogate` has it)."""

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]: ...

    def acquire(self, kind: str, X: np.ndarray, best: float) -> np.ndarray: ...

class Feasible(Protocol):
    """What the acquisition needs of a feasibility model (:class:`.feasibility.Feasibility`)."""

    def weigh(self, X: np.ndarray, improvement: Optional[np.ndarray]) -> np.ndarray: ...

# exploration parameters, in units of the standardised loss: EI and PI without a margin
# (as Optuna's GPSampler; a margin slows the final convergence), skopt's kappa for LCB
XI = 0.0
KAPPA = 1.96
# gp_hedge's functions, and its softmax temperature (skopt's default)
HEDGED = ("EI", "PI", "LCB")
ETA = 1.0

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Acquisition:
    """An acquisition function of one fitted model, to maximise over normalised rows.

    ``kind`` is ``EI``, ``PI`` or ``LCB``; ``incumbent`` is the scaled loss to improve on (the
    best posterior mean at a told point). The model may be conditioned on pending points; a
    :class:`.model.Fantasies` scores each row on every draw, against the incumbent or the
    draw's own outcomes at the pending points, whichever is lower.
    """

    model: Surrogate
    kind: str
    incumbent: Optional[float]
    # metric constraints: the function weighed by the probability of satisfying them; with no
    # feasible point yet (``incumbent`` None) that probability alone
    feasibility: Optional[Feasible] = None

    def score(self, X: np.ndarray) -> np.ndarray:
        """The function's value at each row of ``X`` (higher is better)."""
        if self.feasibility is None:
            return self.model.acquire(self.kind, X, self.incumbent)  # type: ignore[arg-type]
        improvement = None if self.incumbent is None else self.model.acquire(self.kind, X, self.incumbent)
        return self.feasibility.weigh(X, improvement)

    def on(self, model: Surrogate) -> "Acquisition":
        """The same function and incumbent on another model (one told more pending points)."""
        return Acquisition(model, self.kind, self.incumbent, self.feasibility)


class Hedge:
    """skopt's gp_hedge: each batch's function drawn from a softmax of ``ETA`` times the
    functions' gains; a function gains minus the model's mean at the point it would have
    picked, credited at the next batch's choice (by then the model knows more about it)."""

    def __init__(self) -> None:
        self.gains = np.zeros(len(HEDGED))
        self._picks: Optional[np.ndarray] = None  # each function's pick in the last batch

    def choose(self, model: Surrogate, rng: np.random.RandomState) -> str:
        """This batch's function; first credits each function's last pick on ``model``."""
        if self._picks is not None:
            self.gains -= model.predict(self._picks)[0]
            self._picks = None
        return HEDGED[rng.choice(len(HEDGED), p=softmax(ETA * self.gains))]

    def remember_picks(self, acquisition: Acquisition, rows: np.ndarray) -> None:
        """Which of ``rows`` each function would pick on ``acquisition``'s model and incumbent,
        to be credited at the next choice."""
        if acquisition.incumbent is None:
            return  # no feasible point yet: the functions have nothing to improve on
        mean, std = acquisition.model.predict(rows)
        self._picks = np.array([rows[np.argmax(acquisition_values(k, mean, std, acquisition.incumbent))]
                                for k in HEDGED])


def acquisition_values(kind: str, mean: np.ndarray, std: np.ndarray, best: Union[float, np.ndarray]) -> np.ndarray:
    """Values to *maximise*: log EI, log PI or minus the lower confidence bound, from the
    posterior ``mean`` and ``std`` and the incumbent ``best`` (broadcast against them)."""
    if kind == "LCB":
        return -(mean - KAPPA * std)
    z = (best - XI - mean) / std
    if kind == "PI":
        return log_ndtr(z)
    return np.log(std) + _log_h(z)  # EI = std * h(z); its log stays informative far away


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log(z * Phi(z) + phi(z))`` without underflow for very negative z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    near = z > -1.0
    zn = z[near]
    out[near] = np.log(zn * np.exp(log_ndtr(zn)) + np.exp(-0.5 * zn**2 - _LOG_SQRT_2PI))
    a = np.minimum(-z[~near], 1e6)
    # h(-a) = phi(a) * (1 - a * Mills(a)), Mills(a) = sqrt(pi/2) * erfcx(a / sqrt(2))
    rest = 1.0 - a * math.sqrt(math.pi / 2) * erfcx(a / math.sqrt(2))
    rest = np.where(a > 1e3, a**-2.0, np.maximum(rest, 1e-300))
    out[~near] = -0.5 * a**2 - _LOG_SQRT_2PI + np.log(rest)
    return out
