"""The model side of the batch proposer: surrogate fits, acquisition functions, candidate search.

Everything here works in skopt's *normalised* space (every Real/Integer dimension mapped to
[0, 1], categoricals one-hot) and on *scaled* losses (:class:`LossScale`: unit spread, 0 at
the 75th percentile); :mod:`.proposer` does the bookkeeping (what was told, asked, excluded)
and the conversions.

Why not ``skopt.Optimizer.ask(n_points)``: it refits the GP hyperparameters once per
constant-liar point and runs an unbounded acquisition search, which costs seconds per batch
at a few hundred observations. Here the hyperparameters are fitted once per batch (MAP, warm
started from the previous batch), a liar only costs a Cholesky factorisation with the kernel
held fixed, and the acquisition is maximised over a bounded candidate set followed by a few
L-BFGS-B refinements.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr
from sklearn.gaussian_process.kernels import Kernel
from skopt.learning.gaussian_process.kernels import WhiteKernel
from skopt.space import Space
from skopt.utils import cook_estimator

# exploration parameters, in units of the standardised loss: EI and PI without a margin
# (as Optuna's GPSampler; a margin slows the final convergence), skopt's kappa for LCB
XI = 0.0
KAPPA = 1.96
# gp_hedge's softmax temperature, skopt's default
ETA = 1.0
# the quantile of the losses that the GP's mean returns to far from the data (see LossScale)
CENTRE_QUANTILE = 0.75
# bounds of the noise variance, in units of the standardised loss
NOISE_BOUNDS = (1e-6, 1.0)
_JITTER = 1e-10
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


# -- losses ----------------------------------------------------------------------------------


@dataclass
class LossScale:
    """A monotone warp, then a shift and a scale of the losses, fixed for one batch.

    When the losses have a heavy upper tail (the spread above the median over twice the
    spread below it), they are first warped by ``log1p((y - min) / (median - min))``: linear-ish
    below the median, logarithmic above it, so a few very bad trials (a diverged training run,
    Branin's corners) do not flatten the model around the good ones. The ranking of points
    is unchanged. Measured: Branin's median regret at 40 trials 0.005 with the warp, 0.03
    without; on Hartmann6, whose tail is light, the warp does not fire.

    Then the losses are divided by their standard deviation and shifted so that their
    ``CENTRE_QUANTILE`` (75th percentile) is 0, which is where the GP's mean goes back to far
    from the data: an untried region is expected to be as good as a poor trial, not as the
    average one, which the best trials pull down. Centred on the mean, the GP found every
    unexplored corner of the box promising: in 6-d, a third of the trials after the initial
    design went to corners (≥ 4 coordinates at a bound) where Hartmann6 is flat. Measured
    (in-process, 60 seeds, median regret at 60 trials, mean-centred → 75th percentile):
    Hartmann6 batch 1 0.0005 → 0.00006, batch 2 0.0013 → 0.00007; corners per run 17 → 4;
    Branin and the mixed space as good or better. The 50th percentile helped much less
    (0.0004), the 90th and the maximum as much as the 75th.
    """

    low: float
    scale: float
    centre: float
    std: float

    @classmethod
    def fit(cls, losses: np.ndarray) -> "LossScale":
        losses = np.asarray(losses, dtype=float)
        low, median, high = float(np.min(losses)), float(np.median(losses)), float(np.max(losses))
        scale = math.inf  # no heavy upper tail: no warp
        if high - median > 2 * (median - low):
            scale = median - low if median > low else high - low
        warped = _warp(losses, low, scale)
        std = float(np.std(warped))
        return cls(low, scale, float(np.quantile(warped, CENTRE_QUANTILE)), std if std > 0 else 1.0)

    def __call__(self, losses: np.ndarray) -> np.ndarray:
        return (_warp(np.asarray(losses, dtype=float), self.low, self.scale) - self.centre) / self.std


def _warp(losses: np.ndarray, low: float, scale: float) -> np.ndarray:
    if scale == math.inf:
        return losses
    return np.log1p(np.maximum(losses - low, 0.0) / scale)


# -- surrogates ------------------------------------------------------------------------------


class Surrogate:
    """A fitted model: ``predict(X) -> (mean, std)`` in standardised loss units."""

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def with_liars(self, X: np.ndarray, y: np.ndarray) -> "Surrogate":
        """The same model conditioned on extra (pending) points with lied values."""
        raise NotImplementedError


class GPPosterior(Surrogate):
    """A GP posterior with fixed kernel hyperparameters: one Cholesky factorisation."""

    def __init__(self, kernel: Kernel, noise: float, X: np.ndarray, y: np.ndarray) -> None:
        self.kernel, self.noise, self.X, self.y = kernel, noise, X, y
        K = kernel(X)
        K[np.diag_indices_from(K)] += noise + _JITTER
        jitter = 1e-8
        while True:
            try:
                self.L = cholesky(K, lower=True, check_finite=False)
                break
            except np.linalg.LinAlgError:  # duplicated points with tiny noise: add jitter
                K[np.diag_indices_from(K)] += jitter
                jitter *= 10
        self.alpha = cho_solve((self.L, True), y, check_finite=False)

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        Ks = self.kernel(X, self.X)
        mean = Ks @ self.alpha
        v = solve_triangular(self.L, Ks.T, lower=True, check_finite=False)
        var = self.kernel.diag(X) - np.einsum("ij,ij->j", v, v)
        return mean, np.sqrt(np.maximum(var, 1e-18))

    def with_liars(self, X: np.ndarray, y: np.ndarray) -> "GPPosterior":
        return GPPosterior(self.kernel, self.noise, np.vstack([self.X, X]), np.concatenate([self.y, y]))


class GPModel:
    """skopt's GP (``cook_estimator("GP")``: constant * Matern-5/2 ARD, plus white noise),
    with MAP hyperparameters and a warm start from the previous fit.

    The priors are Optuna's GPSampler's: lengthscales pulled towards 1 (the unit cube's size)
    from both sides, the signal variance towards 1 (the losses are standardised) and the noise
    towards small values. With 10-60 points, maximum likelihood alone often explains the data
    as noise or picks lengthscales at their bounds; the priors keep the model useful.
    """

    def __init__(self, tspace: Space, random_state: int) -> None:
        gpr = cook_estimator("GP", space=tspace, random_state=random_state, noise="gaussian",
                             normalize_y=False, n_restarts_optimizer=0)
        # skopt adds a default WhiteKernel (noise bounds up to 1e5) at fit time when the kernel
        # has none; give it one with bounds that make sense for standardised losses
        gpr.set_params(kernel=gpr.kernel + WhiteKernel(1e-2, NOISE_BOUNDS), optimizer=self._optimise)
        self.gpr = gpr
        self._theta: Optional[np.ndarray] = None  # the last fit's hyperparameters
        self._index = _prior_index(gpr.kernel)
        self._starts: List[np.ndarray] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> GPPosterior:
        default = self.gpr.kernel.theta
        # a warm start converges in a few iterations; the default start guards against the
        # previous optimum turning into a poor local one as data arrive
        self._starts = [default] if self._theta is None else [self._theta, default]
        self.gpr.fit(X, y)
        fitted = self.gpr.kernel_  # skopt zeroed its white noise for prediction; noise_ holds it
        self._theta = np.array(fitted.theta)
        self._theta[self._index[2]] = math.log(max(self.gpr.noise_, NOISE_BOUNDS[0]))
        return GPPosterior(fitted.k1, float(self.gpr.noise_), X, y)

    def _optimise(self, obj_func: Callable, initial_theta: np.ndarray, bounds: np.ndarray):
        amp, scales, noise = self._index

        def objective(theta: np.ndarray) -> Tuple[float, np.ndarray]:
            value, grad = obj_func(theta, eval_gradient=True)
            if not np.isfinite(value):
                return 1e25, np.zeros_like(theta)
            # minus the log prior (in log-parameter space, no Jacobian: Optuna's MAP)
            ls, c, n = np.exp(theta[scales]), np.exp(theta[amp]), np.exp(theta[noise])
            value = value + 0.1 * np.sum(ls**2 + ls**-2) - np.sum(theta[amp] - c) - np.sum(0.1 * theta[noise] - 30 * n)
            grad = np.array(grad, dtype=float)
            grad[scales] += 0.2 * (ls**2 - ls**-2)
            grad[amp] -= 1 - c
            grad[noise] -= 0.1 - 30 * n
            return float(value), grad

        best_theta, best_value = initial_theta, math.inf
        for start in self._starts or [initial_theta]:
            start = np.clip(start, bounds[:, 0], bounds[:, 1])
            result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": 200})
            if result.fun < best_value:
                best_theta, best_value = result.x, float(result.fun)
        return best_theta, best_value


def _prior_index(kernel: Kernel) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions in ``kernel.theta`` of the amplitude, the lengthscales and the noise."""
    amp, scales, noise, position = [], [], [], 0
    for hp in kernel.hyperparameters:
        if hp.fixed:
            continue
        where = list(range(position, position + hp.n_elements))
        position += hp.n_elements
        if hp.name.endswith("constant_value"):
            amp += where
        elif hp.name.endswith("length_scale"):
            scales += where
        elif hp.name.endswith("noise_level"):
            noise += where
    return np.array(amp, dtype=int), np.array(scales, dtype=int), np.array(noise, dtype=int)


class ForestModel(Surrogate):
    """skopt's RF or ET regressor (``cook_estimator``); a liar means a refit (slower)."""

    def __init__(self, kind: str, random_state: int, X: np.ndarray, y: np.ndarray) -> None:
        self.kind, self.random_state, self.X, self.y = kind, random_state, X, y
        self.model = cook_estimator(kind, random_state=random_state)
        self.model.fit(X, y)

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        mean, std = self.model.predict(X, return_std=True)
        return mean, np.maximum(std, 1e-9)

    def with_liars(self, X: np.ndarray, y: np.ndarray) -> "ForestModel":
        return ForestModel(self.kind, self.random_state, np.vstack([self.X, X]), np.concatenate([self.y, y]))


# -- acquisition -----------------------------------------------------------------------------


def acquisition(kind: str, mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Values to *maximise*: log EI, log PI or minus the lower confidence bound."""
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


def refine(
    surrogate: Surrogate,
    kind: str,
    best: float,
    start: np.ndarray,
    free: np.ndarray,
    maxiter: int = 40,
    bounds: Optional[Tuple[np.ndarray, np.ndarray]] = None,
) -> Tuple[np.ndarray, float]:
    """L-BFGS-B on the acquisition over the continuous columns ``free``, the rest held fixed,
    within ``bounds`` (lower and upper arrays over ``free``; default: the unit cube).

    The gradient is a forward difference taken in one vectorised prediction, so each step
    costs one call of the model on ``len(free) + 1`` points.
    """
    step = 1e-6

    def negative(u: np.ndarray) -> Tuple[float, np.ndarray]:
        x = start.copy()
        x[free] = u
        rows = np.repeat(x[None, :], len(free) + 1, axis=0)
        rows[np.arange(1, len(free) + 1), free] += step
        mean, std = surrogate.predict(rows)
        values = acquisition(kind, mean, std, best)
        if not np.all(np.isfinite(values)):
            return 1e25, np.zeros(len(free))
        return -float(values[0]), -(values[1:] - values[0]) / step

    lower, upper = (np.zeros(len(free)), np.ones(len(free))) if bounds is None else bounds
    box = [(float(lo), float(min(hi, 1.0 - step))) for lo, hi in zip(lower, upper)]
    result = minimize(negative, np.clip(start[free], lower, upper), jac=True, method="L-BFGS-B",
                      bounds=box, options={"maxiter": maxiter})
    x = start.copy()
    x[free] = np.clip(result.x, 0.0, 1.0)
    return x, -float(result.fun)


def hedge_probabilities(gains: np.ndarray) -> np.ndarray:
    """skopt's gp_hedge: softmax of ``ETA * gains``."""
    logits = ETA * (gains - np.max(gains))
    weights = np.exp(logits)
    return weights / weights.sum()


def perturb(
    tspace: Space,
    centres: np.ndarray,
    n_points: int,
    rng: np.random.RandomState,
    scales: Sequence[float] = (0.02, 0.08, 0.2),
) -> np.ndarray:
    """Rows near ``centres`` (normalised rows): Gaussian steps on the numeric columns and, now
    and then, another category. Integers are off their grid until the caller maps the rows
    through ``inverse_transform`` and ``transform``."""
    rows = centres[rng.randint(len(centres), size=n_points)].copy()
    sizes = np.array(scales)[rng.randint(len(scales), size=n_points)]
    column = 0
    n_dims = len(tspace.dimensions)
    for dim in tspace.dimensions:
        width = dim.transformed_size
        if hasattr(dim, "categories"):
            switch = rng.rand(n_points) < max(0.1, 1.0 / n_dims)
            if switch.any():
                fresh = dim.rvs(n_samples=int(switch.sum()), random_state=rng)
                rows[switch, column:column + width] = np.reshape(dim.transform(fresh), (-1, width))
        else:
            rows[:, column] = np.clip(rows[:, column] + sizes * rng.randn(n_points), 0.0, 1.0)
        column += width
    return rows
