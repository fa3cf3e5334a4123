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
import threading
from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
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

# a prediction takes its rows this many at a time: the kernel between them and thousands of
# told points, and that kernel's temporaries, then stay a few tens of MB
ROWS_PER_BLOCK = 512

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
        return by_blocks(X, lambda rows: (self.kernel(self.warp(rows), self._Xw) @ self.alpha,))[0]

    def predict(self, X: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        def block(rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
            cross, std = self.cross(rows)
            return cross @ self.alpha, std
        return by_blocks(X, block)

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
        def block(rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
            cross, std = self.shared.cross(rows)
            return cross @ self.alphas, std
        return by_blocks(X, block)

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


def by_blocks(X: np.ndarray, predict: Callable[[np.ndarray], Tuple[np.ndarray, ...]]) -> Tuple[np.ndarray, ...]:
    """``predict(X)``, taken ``ROWS_PER_BLOCK`` rows at a time and put back together."""
    if len(X) <= ROWS_PER_BLOCK:
        return predict(X)
    parts = [predict(X[start:start + ROWS_PER_BLOCK]) for start in range(0, len(X), ROWS_PER_BLOCK)]
    return tuple(np.concatenate(pieces) for pieces in zip(*parts))


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

    A large sweep stays fast (``policy``): the hyperparameters are fitted on at most
    ``fit_max_points`` told points and the posterior is conditioned on at most
    ``condition_max_points`` (:func:`kept_rows`), and from ``refit_every_below`` points on a
    refit runs in a background thread, taken up at the next refit's count (see :meth:`fit`).

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
        self._kernel = gpr.kernel + WhiteKernel(1e-2, NOISE_BOUNDS)
        self._alpha = gpr.alpha
        self._index = _prior_index(self._kernel)
        self._tie = _tied_scales(columns, self._index[1], len(self._kernel.theta), policy)
        self._warp_columns = dict(warp_columns or {})
        self.policy = policy
        self._fitted: Optional[Hyperparameters] = None
        self._refit: Optional[BackgroundFit] = None
        self._next_refit = 0
        self._next_warp_choice = 0

    @property
    def warp(self) -> InputWarp:
        """The input warp of the hyperparameters in use."""
        return self._fitted.warp if self._fitted is not None else InputWarp(self._warp_columns)

    def fit(self, X: np.ndarray, y: np.ndarray) -> GPPosterior:
        """The posterior on ``(X, y)`` (on at most ``policy.condition_max_points`` of them):
        hyperparameters refitted (MAP) when due (see ``policy.refit_every_below``), else the
        last ones conditioned on the new data.

        From ``policy.refit_every_below`` points on, a due refit starts in a background thread
        and this posterior keeps the last hyperparameters; the refit's are taken up at the
        next refit's count, waited for only if it is still running then, so a decision never
        waits for a refit it does not use, and the same told values give the same points."""
        n = len(y)
        if self._refit is not None and n >= self._refit.due:
            self._fitted, self._refit = self._refit.result(), None
        # a warp choice waits for a running refit to be taken up: a second one would drop the first
        warp_due = bool(self._warp_columns) and n >= self._next_warp_choice and self._refit is None
        if warp_due or n >= self._next_refit:
            if warp_due:
                self._next_warp_choice = math.ceil(self.policy.warp_revisit * n)
            background = self._fitted is not None and n >= self.policy.refit_every_below
            self._next_refit = n + 1 if n < self.policy.refit_every_below else math.ceil(
                (1 + self.policy.refit_growth) * n)
            rows = kept_rows(y, self.policy.fit_max_points)
            work = partial(self._choose_warp if warp_due else self._map_fit, X[rows], y[rows], self.warp,
                           None if self._fitted is None else self._fitted.theta)
            if background:
                self._refit = BackgroundFit(work, due=self._next_refit)
            else:
                self._fitted = work()
        assert self._fitted is not None
        rows = kept_rows(y, self.policy.condition_max_points)
        return GPPosterior(self._fitted.kernel, self._fitted.noise, X[rows], y[rows], self._fitted.warp)

    def close(self) -> None:
        """Wait for a refit still running (a copy or a pickle of this model waits the same way,
        :meth:`BackgroundFit.__getstate__`, and takes its result)."""
        if self._refit is not None:
            self._refit.wait()

    def _choose_warp(self, X: np.ndarray, y: np.ndarray, warp: InputWarp, start: Optional[np.ndarray]
                     ) -> "Hyperparameters":
        """Fit with the current warp, then try each warp column by column; keep the best."""
        best = self._map_fit(X, y, warp, start)
        for column, log_scale in self._warp_columns.items():
            current = best.warp.strengths.get(column, 0.0)
            for strength in (0.0, log_scale):
                if strength != current:
                    candidate = self._map_fit(X, y, best.warp.with_column(column, strength), start)
                    if candidate.log_posterior > best.log_posterior + self.policy.warp_margin:
                        best = candidate
        return best

    def _map_fit(self, X: np.ndarray, y: np.ndarray, warp: InputWarp, theta: Optional[np.ndarray]
                 ) -> "Hyperparameters":
        """One MAP fit on warped inputs (touches no state of this model: it may run in a
        background thread)."""
        gpr = GaussianProcessRegressor(kernel=clone(self._kernel), alpha=self._alpha, optimizer=None,
                                       normalize_y=False, copy_X_train=False)
        gpr.fit(warp(X), y)

        def objective(candidate: np.ndarray, eval_gradient: bool = True) -> Tuple[float, np.ndarray]:
            lml, grad = gpr.log_marginal_likelihood(candidate, eval_gradient=True, clone_kernel=False)
            return -lml, -grad

        default = self._kernel.theta
        # a warm start converges in a few iterations; the default start guards against the
        # previous optimum turning into a poor local one as data arrive
        starts = [default] if theta is None else [theta, default]
        best_theta, best_value = self._optimise(objective, starts, gpr.kernel_.bounds)
        fitted = gpr.kernel_.clone_with_theta(best_theta)
        noise = float(fitted.k2.noise_level)
        theta = np.array(fitted.theta)  # the warm start as the kernel holds it (through exp and log)
        theta[self._index[2]] = math.log(max(noise, NOISE_BOUNDS[0]))
        return Hyperparameters(fitted.k1, noise, warp, theta, -best_value)

    def _optimise(self, obj_func: Callable, starts: List[np.ndarray], bounds: np.ndarray) -> Tuple[np.ndarray, float]:
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

        best_theta, best_value = starts[0], math.inf
        for start in starts:
            start = np.clip(start, bounds[:, 0], bounds[:, 1])
            result = minimize(objective, start[free], jac=True, method="L-BFGS-B", bounds=bounds[free],
                              options={"maxiter": 200})
            if result.fun < best_value:
                best_theta, best_value = result.x[source], float(result.fun)
        return best_theta, best_value


@dataclass(frozen=True)
class Hyperparameters:
    """One MAP fit's result: the kernel (signal part), the noise variance, the input warp, the
    full theta (the next fit's warm start) and the log posterior (what warps are compared by)."""

    kernel: Kernel
    noise: float
    warp: InputWarp
    theta: np.ndarray
    log_posterior: float


class BackgroundFit:
    """A fit running in a daemon thread, whose result is due at the told-point count ``due``.

    If the thread raised (a warning turned into an error by ``-Werror`` reaches any thread),
    :meth:`result` runs the same work again in the caller's thread, where the proposer's
    filters apply: the fit is deterministic, so the result is the same either way."""

    def __init__(self, work: Callable[[], Hyperparameters], due: int) -> None:
        self.due = due
        self._work: Optional[Callable[[], Hyperparameters]] = work
        self._result: Optional[Hyperparameters] = None
        self._thread: Optional[threading.Thread] = threading.Thread(
            target=self._run, name="skopt-gp-refit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._work()  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - redone in the caller's thread, which then sees the error
            self._result = None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def result(self) -> Hyperparameters:
        self.wait()
        if self._result is None:
            self._result = self._work()  # type: ignore[misc]
        self._work = None
        return self._result

    def __getstate__(self) -> dict:
        self.wait()
        return {**self.__dict__, "_thread": None}


def kept_rows(y: np.ndarray, limit: int) -> np.ndarray:
    """The told rows a fit or a posterior keeps, in told order: all of them up to ``limit``;
    past it the best ``limit // 2`` by loss (where the next points are looked for) and the
    rest spread evenly over the sweep's order (the model's view of everywhere else)."""
    n = len(y)
    if n <= limit:
        return np.arange(n)
    best = np.argsort(y, kind="stable")[: limit // 2]
    rest = np.setdiff1d(np.arange(n), best)
    spread = rest[np.round(np.linspace(0, len(rest) - 1, limit - len(best))).astype(int)]
    return np.sort(np.concatenate([best, spread]))


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
