"""The proposer's policy: every tunable choice of how points are chosen, named in one place.

The mechanism (:mod:`.model`: the GP fit, the input warp, the fantasised batch;
:mod:`.acquisition`: the acquisition functions; :mod:`.candidate_search`: the bounded search
for their maximum) and the bookkeeping (:mod:`.proposer`: what was told, asked, excluded, which
hands the mechanism its knobs) take their constants from a :class:`Policy`. Each field says in a line
why it is there; the measurements behind each default, and the problems and seeds they were
chosen on, are in bench/README.md. Change a default only with a figure on problems and seeds
it was not chosen on.

It also owns :class:`LossScale`, the policy for what the model is told about the losses.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Policy:
    """The proposer's constants. ``Policy()`` holds the defaults; tune with ``replace``."""

    # -- what the model is told about the losses (LossScale)
    # far from the data the GP's mean returns to this quantile of the losses: an untried region
    # is expected to be as good as a poor trial, not as the average one
    centre_quantile: float = 0.75
    # an upper tail this many times wider than the lower one is log-warped, so that a few
    # diverged runs do not flatten the model around the good ones
    heavy_tail_ratio: float = 2.0

    # -- what the model is told about the inputs (model.InputWarp)
    # a linear range from low > 0 to at least this many times low is modelled on its log scale:
    # most such ranges are a scale (a learning rate, a weight decay) written linearly
    log_scale_ratio: float = 100.0
    # the log posterior that switching such a range to linear (or back) must gain
    warp_margin: float = 2.0
    # that choice is made again once the data have grown by this factor
    warp_revisit: float = 1.25
    # the GP's hyperparameters are refitted at every new result up to this many results, then
    # once the data have grown by refit_growth; in between, new results only condition the
    # model (one Cholesky factorisation), which keeps an async refill fast at hundreds of trials
    refit_every_below: int = 100
    refit_growth: float = 0.05
    # from refit_every_below on, such a refit runs in a background thread and is taken up at the
    # next one's count: on a cluster a refit at thousands of trials would otherwise keep free
    # workers waiting. Past these counts a fit, and a posterior, keep the best half of the told
    # points and spread the rest over the sweep (model.kept_rows): a fit costs the cube of its
    # points while a few hundred settle the length scales, and a posterior's solve and memory
    # stay bounded at thousands of trials with every point near the best kept
    fit_max_points: int = 500
    condition_max_points: int = 1000

    # the one-hot columns of a categorical share one length scale in the GP fit: a category
    # switch matters as much whichever two options it is between until the data say otherwise
    one_scale_per_choice: bool = True

    # -- the initial design
    # a generated design (Sobol, Halton, ...) gives each categorical's options equally often, in
    # an order of their own, instead of the sequence's uneven and correlated mapping
    balanced_choices: bool = True

    # -- the candidate search (all in skopt's normalised space)
    # random allowed candidates per batch
    n_random: int = 2000
    # candidates near the best few points (perturbed), and how many best points
    n_local: int = 600
    n_centres: int = 5
    # top candidates refined by L-BFGS-B over the continuous columns
    n_refine: int = 4

    # -- the fantasised batch
    # joint draws of the earlier points' outcomes that a batch's later points are chosen on
    # (batch_strategy fantasies): more cost a solve per candidate each, fewer make q-EI noisy
    n_fantasies: int = 16
    # kb_ucb's lie at a pending point: the model's mean plus this many standard deviations,
    # which keeps the rest of a batch off it only as far as the model is unsure there
    kb_stds: float = 2.0
    # the same at the points still running when an async refill is asked: a refill is chosen
    # with all q - 1 other slots pending (a batch's points, with (q - 1) / 2 on average), and
    # that many lies as pessimistic as a batch's keep it off the best region
    refill_kb_stds: float = 0.5
    # no two points of a batch closer than this, while candidates allow
    min_gap: float = 1e-3

    # -- metric constraints (feasibility.py)
    # the acquisition weighs improvement by the probability of feasibility raised to this power:
    # above 1, the trials that refine an optimum on a constraint's boundary stay on its feasible side
    feasibility_power: float = 2.0
    # a batch's fantasised outcome at a pending point counts as an incumbent only where the
    # constraints, drawn with it, hold
    fantasise_feasibility: bool = True
    # a constraint whose largest slack is more than this many times its typical one (the median
    # size over the initial design) is modelled on feasibility.signed_log's scale: a slack in psi
    # or litres spans orders of magnitude, and its boundary (0) must not be a sliver of the
    # model's range
    slack_warp_ratio: float = 100.0

    # -- the late phase: a batch of q points catches up on the q - 1 model updates it misses
    # share of n_calls after which all but the first point of a batch are chosen near the best
    local_from: float = 0.7
    # how near their numeric coordinates stay, in the model's length scales (so an integer
    # step counts as much as the model says it matters)
    local_radius: float = 0.25
    # how many of the best point's categoricals they may switch: a neighbour in a discrete
    # space is one switch away, however much the model says a switch changes
    late_switches: int = 1

    # -- several objectives (pareto_proposer)
    # up to this many objectives the acquisition is the exact expected hypervolume improvement;
    # its box decomposition grows as the front's size to the power m - 1, so beyond it
    # ParEGO's random scalarisations take over
    ehvi_max_objectives: int = 3
    # the acquisition's reference point lies this share of each scaled objective's range past
    # its worst value, so that the front's extreme points still have volume to gain
    reference_margin: float = 0.1
    # with three objectives and points pending, a fantasy's region has (front size)**2 cells:
    # the candidates are ranked on one fantasy, and only this many best are scored on all
    pareto_screen: int = 128
    # ParEGO's augmented Chebyshev: the weighted sum's share beside the largest weighted loss,
    # which breaks its ties in favour of points that are good on every objective
    chebyshev_augment: float = 0.05


# -- the importance of the parameters (importance.py): Monte Carlo sizes of its Sobol indices
# base rows of the design the model's mean is read on ((k + 2) times as many rows for k
# parameters): its Monte Carlo error well below the gaps a ranking reads, for little next to a refit
IMPORTANCE_SAMPLES = 2048
# base rows of the smaller design the GP's joint posterior is drawn at: the draws' factorisation
# grows as the cube of (k + 2) times this, and a spread needs fewer rows than the index itself
IMPORTANCE_DRAW_SAMPLES = 96
# joint posterior draws, and bootstrap resamples of the design, an index's spread is read from:
# enough that the standard deviation is itself a steady number
IMPORTANCE_DRAWS = 64


# -- the model of learning curves (curve_model.py)
# steps of a geometric grid at which each curve enters the model (and its last step): the early
# steps where curves move most, and few enough that 200 trials stay a few hundred points
CURVE_GRID_POINTS = 6
# at most this many (configuration, step) points in all: past it each curve keeps fewer grid
# points (its last one always), so that a fit stays well under a second at hundreds of trials
CURVE_MAX_POINTS = 300
# iterations of the hyperparameters' fit: the likelihood is flat near its optimum, and a fit
# is refreshed as the curves grow
CURVE_FIT_ITERATIONS = 50


# Losses up to 2**LARGEST_EXPONENT in size are scaled as they are; larger ones are first divided
# by a power of two (exact), so that their spread and their squares stay within float range
LARGEST_EXPONENT = 400
_LARGEST_LOG = math.log(sys.float_info.max)


@dataclass
class LossScale:
    """A monotone warp, then a shift and a scale of the losses, fixed for one fit.

    When the losses have a heavy upper tail (the spread above the median over
    ``heavy_tail_ratio`` times the spread below it), they are first warped by
    ``log1p((y - min) / (median - min))``: linear-ish below the median, logarithmic above it.
    Then they are divided by their standard deviation and shifted so that their
    ``centre_quantile`` is 0, where the GP's mean goes back to far from the data. The ranking
    of the points is unchanged.

    Losses as large as a float allows (a trial returning 1e308) are first divided by
    ``unit``, a power of two, so that every step stays finite; ``low`` and ``scale`` are in
    that unit, and :meth:`inverse` returns a finite loss.
    """

    low: float
    scale: float
    centre: float
    std: float
    unit: float = 1.0

    @classmethod
    def fit(cls, losses: np.ndarray, policy: Policy = Policy()) -> "LossScale":
        losses = np.asarray(losses, dtype=float)
        unit = _unit(losses)
        if unit != 1.0:
            losses = losses / unit
        low, median, high = float(np.min(losses)), float(np.median(losses)), float(np.max(losses))
        scale = math.inf  # no heavy upper tail: no warp
        if high - median > policy.heavy_tail_ratio * (median - low):
            scale = median - low if median > low else high - low
        warped = _warp(losses, low, scale)
        std = float(np.std(warped))
        centre = float(np.quantile(warped, policy.centre_quantile))
        return cls(low, scale, centre, std if std > 0 else 1.0, unit)

    def __call__(self, losses: np.ndarray) -> np.ndarray:
        losses = np.asarray(losses, dtype=float)
        if self.unit != 1.0:
            losses = losses / self.unit
        return (_warp(losses, self.low, self.scale) - self.centre) / self.std

    def inverse(self, scaled: float) -> float:
        """The loss whose scaled value is ``scaled``; past float's range, the largest float."""
        warped = scaled * self.std + self.centre
        if self.scale == math.inf:
            loss = float(warped)
        else:
            try:
                loss = float(self.low + self.scale * math.expm1(warped))
            except OverflowError:  # scale * e**warped, with the product taken in logs
                loss = self.low + math.exp(min(warped + math.log(self.scale), _LARGEST_LOG))
        if self.unit != 1.0:
            loss *= self.unit
        return min(max(loss, -sys.float_info.max), sys.float_info.max)


def _unit(losses: np.ndarray) -> float:
    """1, or the power of two that brings the largest loss under 2**LARGEST_EXPONENT."""
    largest = float(np.max(np.abs(losses))) if losses.size else 0.0
    exponent = math.frexp(largest)[1] if math.isfinite(largest) else 0
    return 1.0 if exponent <= LARGEST_EXPONENT else math.ldexp(1.0, exponent - LARGEST_EXPONENT)


def _warp(losses: np.ndarray, low: float, scale: float) -> np.ndarray:
    if scale == math.inf:
        return losses
    excess = np.maximum(losses - low, 0.0)
    with np.errstate(over="ignore"):
        warped = np.log1p(excess / scale)
    # past float's range log1p(r) is log(r) (within 1 / r): log(excess) - log(scale)
    beyond = np.isinf(warped) & np.isfinite(excess)
    if beyond.any():
        warped[beyond] = np.log(excess[beyond]) - math.log(scale)
    return warped
