"""The surrogate models of the batch proposer: the GP (fit, posterior, fantasies, input warp)
and skopt's forests.

Everything here works in skopt's *normalised* space (:mod:`.columns`) and on *scaled* losses
(:class:`.policy.LossScale`). A fitted model predicts a mean and a std per row, is conditioned
on pending points (:meth:`Surrogate.with_liars`, :class:`Fantasies`) and evaluates an
acquisition function of :mod:`.acquisition` under its posterior (:meth:`Surrogate.acquire`).

Why not ``skopt.Optimizer.ask(n_points)``: it refits the GP hyperparameters once per
constant-liar point, which costs seconds per batch at a few hundred observations. Here the
hyperparameters are fitted once per batch (MAP, warm started from the previous batch), and a
liar only costs a Cholesky factorisation with the kernel held fixed.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.gaussian_process.kernels import Kernel
from skopt.learning.gaussian_process.kernels import WhiteKernel
from skopt.space import Integer, Real, Space
from skopt.utils import cook_estimator

from .acquisition import acquisition_values
from .columns import ColumnLayout
from .policy import Policy

# bounds of the noise variance, in units of the standardised loss
NOISE_BOUNDS = (1e-6, 1.0)
# a forest has no length scales; distances from a point are measured in this one (normalised)
FOREST_LENGTH_SCALE = 0.2

_JITTER = 1e-10
# what a failed Cholesky factorisation adds to the diagonal, in turn, before trying again
_RETRY_JITTERS = tuple(10.0 ** k for k in range(-8, 1))


class Surrogate:
    """A fitted model: ``predict(X) -> (mean, std)`` in standardised loss units."""

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def with_liars(self, X: np.ndarray, y: np.ndarray) -> "Surrogate":
        """The same model conditioned on extra (pending) points with lied values."""
        raise NotImplementedError

    def acquire(self, kind: str, X: np.ndarray, best: float) -> np.ndarray:
        """The acquisition function ``kind`` with incumbent ``best`` (see
        :func:`.acquisition.acquisition_values`) at the rows of ``X`` under this model, to
        maximise."""
        mean, std = self.predict(X)
        return acquisition_values(kind, mean, std, best)

    def length_scales(self, n_columns: int) -> np.ndarray:
        """How far, per normalised column, the model expects its prediction to carry."""
        return np.full(n_columns, FOREST_LENGTH_SCALE)

    def warped(self, X: np.ndarray) -> np.ndarray:
        """``X`` in the coordinates the length scales are measured in."""
        return X

    def scaled_distances(self, X: np.ndarray, centre: np.ndarray, columns: Optional[np.ndarray] = None) -> np.ndarray:
        """Each row's distance to ``centre`` in length scales, over ``columns`` (a boolean
        mask; all when None): an integer step counts for as much as the model says it
        changes the prediction."""
        scales = self.length_scales(len(centre))
        steps = ((self.warped(X) - self.warped(centre[None, :])) / scales) ** 2
        return np.sqrt(np.sum(steps if columns is None else steps[:, columns], axis=1))


def log_scale_columns(columns: ColumnLayout, *, ratio: float) -> Dict[int, float]:
    """The normalised columns of linear ranges that look like a scale (from ``low > 0`` to
    ``ratio`` times it or more), each with the strength of the :class:`InputWarp` that is its
    log scale (``high / low - 1``)."""
    strengths = {}
    for dim, where in zip(columns.dimensions, columns.slices):
        if isinstance(dim, (Real, Integer)) and dim.prior == "uniform":
            low, high = float(dim.low), float(dim.high)
            if low > 0 and high / low >= ratio:
                strengths[where.start] = high / low - 1.0
    return strengths


class InputWarp:
    """Log scales for some normalised input columns, applied before the kernel.

    ``strengths[column] = c`` maps u to ``log1p(c u) / log1p(c)``: for a linear range from
    ``low > 0`` to ``high`` normalised to u, ``c = high / low - 1`` makes that the range's log
    scale. A learning rate written as ``interval(1e-4, 1e-1)``, whose good values sit in the
    first few percent of the range, then gets a model that resolves that corner instead of one
    that extrapolates a slope into the bound.
    """

    def __init__(self, strengths: Optional[Dict[int, float]] = None) -> None:
        self.strengths = {int(k): float(v) for k, v in (strengths or {}).items() if v}

    def with_column(self, column: int, strength: float) -> "InputWarp":
        """The same warps, with ``column``'s set to ``strength`` (0: none)."""
        return InputWarp({**self.strengths, column: strength})

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if not self.strengths:
            return X
        X = np.array(X, dtype=float)
        for column, c in self.strengths.items():
            X[:, column] = np.log1p(c * X[:, column]) / math.log1p(c)
        return X

    def __repr__(self) -> str:
        return f"InputWarp({self.strengths})"


class GPPosterior(Surrogate):
    """A GP posterior with fixed kernel hyperparameters: one Cholesky factorisation."""

    def __init__(self, kernel: Kernel, noise: float, X: np.ndarray, y: np.ndarray,
                 warp: Optional[InputWarp] = None) -> None:
        self.kernel, self.noise, self.X, self.y = kernel, noise, X, y
        self.warp = warp or InputWarp()
        self._Xw = self.warp(X)
        K = kernel(self._Xw)
        K[np.diag_indices_from(K)] += noise
        self.L = _cholesky(K)
        self.alpha = cho_solve((self.L, True), y, check_finite=False)

    def mean(self, X: np.ndarray) -> np.ndarray:
        """The posterior mean alone: :meth:`predict` without the solve its std costs per row."""
        return self.kernel(self.warp(X), self._Xw) @ self.alpha

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        cross, std = self.cross(X)
        return cross @ self.alpha, std

    def cross(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The kernel between the rows of ``X`` and the data, and the posterior std at ``X``
        (which does not depend on the data's values)."""
        Xw, cross, v = self._whitened(X)
        var = self.kernel.diag(Xw) - np.einsum("ij,ij->j", v, v)
        return cross, np.sqrt(np.maximum(var, 1e-18))

    def joint(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The posterior mean at the rows of ``X`` and their covariance (of the latent function)."""
        Xw, cross, v = self._whitened(X)
        return cross @ self.alpha, self.kernel(Xw) - v.T @ v

    def outcomes(self, X: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` joint draws of what trials at the rows of ``X`` would return, observation noise
        included (rows x n)."""
        mean, cov = self.joint(X)
        cov[np.diag_indices_from(cov)] += self.noise
        return mean[:, None] + _cholesky(cov) @ rng.randn(len(X), n)

    def _whitened(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``X`` warped, its kernel with the data, and that kernel solved against ``L``."""
        Xw = self.warp(X)
        cross = self.kernel(Xw, self._Xw)
        return Xw, cross, solve_triangular(self.L, cross.T, lower=True, check_finite=False)

    def with_liars(self, X: np.ndarray, y: np.ndarray) -> "GPPosterior":
        return GPPosterior(self.kernel, self.noise, np.vstack([self.X, X]), np.concatenate([self.y, y]), self.warp)

    def length_scales(self, n_columns: int) -> np.ndarray:
        scales = next((k.length_scale for k in _parts(self.kernel) if hasattr(k, "length_scale")), 1.0)
        return np.broadcast_to(np.asarray(scales, dtype=float), (n_columns,))

    def warped(self, X: np.ndarray) -> np.ndarray:
        return self.warp(X)


class Fantasies(Surrogate):
    """A GP posterior conditioned on ``n`` joint draws of the outcomes at pending points.

    The outcomes at ``pending`` are drawn jointly from ``base``'s posterior, observation noise
    included. Every fantasised model shares one covariance (it does not depend on the values),
    so one Cholesky factorisation serves all ``n``; only the means differ, one column each.
    :meth:`acquire` averages the acquisition over the fantasies, each with its own incumbent
    (the best of ``best`` and its outcomes at the pending points): for EI that is the
    Monte-Carlo estimate of what a candidate adds to the pending points' joint EI (q-EI), where
    a lie (one made-up value per pending point) only guesses at it.
    """

    def __init__(self, base: GPPosterior, pending: np.ndarray, n: int, rng: np.random.RandomState, *,
                 counts: Optional[np.ndarray] = None) -> None:
        outcomes = base.outcomes(pending, n, rng)  # (pending, n)
        self.shared = base.with_liars(pending, base.mean(pending))  # the covariance every fantasy shares
        values = np.vstack([np.repeat(base.y[:, None], n, axis=1), outcomes])
        self.alphas = cho_solve((self.shared.L, True), values, check_finite=False)
        self.outcomes = outcomes  # pending x n: each fantasy's draw at the pending points
        # ``counts`` (pending x n, bool): which draws may set the incumbent (with metric
        # constraints, those drawn feasible)
        self.lowest = np.where(True if counts is None else counts, outcomes, np.inf).min(axis=0)

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        means, std = self.predict_each(X)
        return means.mean(axis=1), std

    def predict_each(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Each fantasy's mean at ``X`` (a column each) and the std they share."""
        cross, std = self.shared.cross(X)
        return cross @ self.alphas, std

    def acquire(self, kind: str, X: np.ndarray, best: float) -> np.ndarray:
        means, std = self.predict_each(X)
        values = acquisition_values(kind, means, std[:, None], np.minimum(best, self.lowest)[None, :])
        if kind == "LCB":
            return values.mean(axis=1)
        return logsumexp(values, axis=1) - math.log(values.shape[1])  # log of the mean EI (or PI)

    def length_scales(self, n_columns: int) -> np.ndarray:
        return self.shared.length_scales(n_columns)

    def warped(self, X: np.ndarray) -> np.ndarray:
        return self.shared.warped(X)


def _cholesky(matrix: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of a covariance matrix; where it is near singular (duplicated
    points with tiny noise), with jitter added to the diagonal, more at each try."""
    eye = np.eye(len(matrix))
    for jitter in (_JITTER,) + _RETRY_JITTERS:
        try:
            return cholesky(matrix + jitter * eye, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
    return cholesky(matrix, lower=True, check_finite=False)  # still singular: let the error say so


class GPModel:
    """skopt's GP (``cook_estimator("GP")``: constant * Matern-5/2 ARD, plus white noise),
    with MAP hyperparameters, a warm start from the previous fit, and an input warp chosen
    by the same MAP objective.

    The priors are Optuna's GPSampler's (as is one length scale per categorical, see
    :func:`_tied_scales`): lengthscales pulled towards 1 (the unit cube's size)
    from both sides, the signal variance towards 1 (the losses are standardised) and the noise
    towards small values. With 10-60 points, maximum likelihood alone often explains the data
    as noise or picks lengthscales at their bounds; the priors keep the model useful.

    ``warp_columns`` maps the normalised columns that may be put on a log scale (see
    :class:`InputWarp`) to the strength of that scale; they start on it. Each, one after the
    other, is switched to linear or back when that raises the log posterior by more than
    ``policy.warp_margin``; the choice is made again once the data have grown by
    ``policy.warp_revisit``.

    ``columns`` is the normalised space's layout (a skopt ``Space`` is read through
    :meth:`.columns.ColumnLayout.of`); ``policy`` gives the warp, refit and prior settings.
    """

    def __init__(self, columns: Union[ColumnLayout, Space], random_state: int, *,
                 warp_columns: Optional[Dict[int, float]] = None, policy: Policy = Policy()) -> None:
        if not isinstance(columns, ColumnLayout):
            columns = ColumnLayout.of(columns)
        gpr = cook_estimator("GP", space=columns.tspace, random_state=random_state, noise="gaussian",
                             normalize_y=False, n_restarts_optimizer=0)
        # skopt adds a default WhiteKernel (noise bounds up to 1e5) at fit time when the kernel
        # has none; give it one with bounds that make sense for standardised losses
        gpr.set_params(kernel=gpr.kernel + WhiteKernel(1e-2, NOISE_BOUNDS), optimizer=self._optimise)
        self.gpr = gpr
        self._theta: Optional[np.ndarray] = None  # the last fit's hyperparameters
        self._index = _prior_index(gpr.kernel)
        self._tie = _tied_scales(columns, self._index[1], len(gpr.kernel.theta), policy)
        self._starts: List[np.ndarray] = []
        self._warp_columns = dict(warp_columns or {})
        self.warp = InputWarp(self._warp_columns)
        self._next_warp_choice = 0
        self._last: Optional[GPPosterior] = None
        self._next_refit = 0
        self.policy = policy

    def fit(self, X: np.ndarray, y: np.ndarray) -> GPPosterior:
        """The posterior on ``(X, y)``: hyperparameters refitted (MAP) when due (see
        ``policy.refit_every_below``), else the last ones conditioned on the new data."""
        if self._warp_columns and len(y) >= self._next_warp_choice:
            self._next_warp_choice = math.ceil(self.policy.warp_revisit * len(y))
            posterior = self._choose_warp(X, y)
        elif self._last is not None and len(y) < self._next_refit:
            return GPPosterior(self._last.kernel, self._last.noise, X, y, self._last.warp)
        else:
            posterior, _, self._theta = self._fit(X, y, self.warp, self._theta)
        self._last = posterior
        self._next_refit = (len(y) + 1 if len(y) < self.policy.refit_every_below
                            else math.ceil((1 + self.policy.refit_growth) * len(y)))
        return posterior

    def _choose_warp(self, X: np.ndarray, y: np.ndarray) -> GPPosterior:
        """Fit with the current warp, then try each warp column by column; keep the best."""
        start = self._theta
        best = self._fit(X, y, self.warp, start)
        for column, log_scale in self._warp_columns.items():
            current = self.warp.strengths.get(column, 0.0)
            for strength in (0.0, log_scale):
                if strength != current:
                    candidate = self._fit(X, y, self.warp.with_column(column, strength), start)
                    if candidate[1] > best[1] + self.policy.warp_margin:
                        best = candidate
            self.warp = best[0].warp
        posterior, _, self._theta = best
        return posterior

    def _fit(self, X: np.ndarray, y: np.ndarray, warp: InputWarp, theta: Optional[np.ndarray]
             ) -> Tuple[GPPosterior, float, np.ndarray]:
        """One MAP fit on warped inputs: the posterior, its log posterior, its hyperparameters."""
        default = self.gpr.kernel.theta
        # a warm start converges in a few iterations; the default start guards against the
        # previous optimum turning into a poor local one as data arrive
        self._starts = [default] if theta is None else [theta, default]
        self.gpr.fit(warp(X), y)
        fitted = self.gpr.kernel_  # skopt zeroed its white noise for prediction; noise_ holds it
        new_theta = np.array(fitted.theta)
        new_theta[self._index[2]] = math.log(max(self.gpr.noise_, NOISE_BOUNDS[0]))
        posterior = GPPosterior(fitted.k1, float(self.gpr.noise_), X, y, warp)
        return posterior, float(self.gpr.log_marginal_likelihood_value_), new_theta

    def _optimise(self, obj_func: Callable, initial_theta: np.ndarray, bounds: np.ndarray):
        amp, scales, noise = self._index
        source, weight, unit = self._tie  # full theta = free theta[source]; each prior term once
        free = np.unique(source, return_index=True)[1]

        def objective(free_theta: np.ndarray) -> Tuple[float, np.ndarray]:
            theta = free_theta[source]
            value, grad = obj_func(theta, eval_gradient=True)
            if not np.isfinite(value):
                return 1e25, np.zeros_like(free_theta)
            # minus the log prior (in log-parameter space, no Jacobian: Optuna's MAP)
            ls, c, n = np.exp(theta[scales]) / unit[scales], np.exp(theta[amp]), np.exp(theta[noise])
            w = weight[scales]
            value = (value + 0.1 * np.sum(w * (ls**2 + ls**-2)) - np.sum(theta[amp] - c)
                     - np.sum(0.1 * theta[noise] - 30 * n))
            grad = np.array(grad, dtype=float)
            grad[scales] += 0.2 * w * (ls**2 - ls**-2)
            grad[amp] -= 1 - c
            grad[noise] -= 0.1 - 30 * n
            return float(value), np.bincount(source, weights=grad, minlength=len(free))

        best_theta, best_value = initial_theta, math.inf
        for start in self._starts or [initial_theta]:
            start = np.clip(start, bounds[:, 0], bounds[:, 1])
            result = minimize(objective, start[free], jac=True, method="L-BFGS-B", bounds=bounds[free],
                              options={"maxiter": 200})
            if result.fun < best_value:
                best_theta, best_value = result.x[source], float(result.fun)
        return best_theta, best_value


def _parts(kernel: Kernel) -> List[Kernel]:
    """A kernel and the kernels it is a product or sum of, all the way down."""
    parts = [kernel]
    for name in ("k1", "k2"):
        if hasattr(kernel, name):
            parts += _parts(getattr(kernel, name))
    return parts


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


def _tied_scales(columns: ColumnLayout, scales: np.ndarray, n_theta: int, policy: Policy
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which hyperparameters the MAP fit moves together: with ``policy.one_scale_per_choice``,
    the one-hot columns of each categorical share one length scale, as a categorical has one
    (Optuna's GPSampler), rather than one per option to fit from a few trials each.

    Returns ``source`` (full theta = free theta[source]) and each hyperparameter's ``weight``
    in the prior (1 / the size of its group, so that a shared scale is pulled on once), and the
    ``unit`` the prior measures it in: sqrt(2) for a shared scale, the distance between two
    options' one-hot rows, so that the prior treats a category switch as GPSampler's prior
    treats its Hamming distance of 1.
    """
    group, unit = np.arange(n_theta), np.ones(n_theta)
    if policy.one_scale_per_choice:
        for choice in columns.choices:
            if len(choice) > 1:
                tied = scales[choice]
                group[tied] = tied[0]
                unit[tied] = math.sqrt(2.0)
    _, source, sizes = np.unique(group, return_inverse=True, return_counts=True)
    return source, 1.0 / sizes[source], unit


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
