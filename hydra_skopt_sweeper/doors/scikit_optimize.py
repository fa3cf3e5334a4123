"""scikit-optimize's public API on this project's proposer: :class:`Optimizer` (ask/tell) and
:func:`gp_minimize`, with scikit-optimize's signatures and result objects, so that a script
changes one import line::

    from hydra_skopt_sweeper import gp_minimize   # was: from skopt import gp_minimize

Points, spaces and results are scikit-optimize's own (``skopt.space`` dimensions,
``skopt.utils.create_result``'s ``OptimizeResult``): its callbacks, ``skopt.dump``/``load`` and
plots take them. What proposes is :class:`..search.proposer.BatchProposer`, the engine of the
Hydra sweeper. A scikit-optimize knob this engine has no counterpart for is refused with an
error that names it and its value, never ignored; knobs left at scikit-optimize's defaults are
accepted as they are.
"""
from __future__ import annotations

import copy
import numbers
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from skopt.callbacks import VerboseCallback, check_callback
from skopt.space import Space
from skopt.utils import create_result, eval_callbacks

from ..search.proposer import BatchProposer

Point = List[Any]

# scikit-optimize's names for the model families, and the classes of its own regressors
_ESTIMATORS = {"gp": "GP", "rf": "RF", "et": "ET"}
_ESTIMATOR_CLASSES = {"GaussianProcessRegressor": "GP", "RandomForestRegressor": "RF",
                      "ExtraTreesRegressor": "ET"}
# knobs of scikit-optimize's acquisition and its optimiser this engine has no counterpart
# for, with scikit-optimize's defaults (accepted as they are, refused otherwise)
_ACQ_FUNC_DEFAULTS = {"xi": 0.01, "kappa": 1.96}
_ACQ_OPTIMIZER_DEFAULTS = {"n_points": 10000, "n_restarts_optimizer": 5, "n_jobs": 1}


def _refuse(call: str, name: str, value: Any, why: str) -> ValueError:
    return ValueError(f"{call}({name}={value!r}): {why}")


def _estimator(call: str, base_estimator: Any) -> str:
    """This engine's model family for scikit-optimize's ``base_estimator``."""
    if base_estimator is None:
        return "GP"
    if isinstance(base_estimator, str):
        family = _ESTIMATORS.get(base_estimator.lower())
        if family is None:
            raise _refuse(call, "base_estimator", base_estimator,
                          "must be 'GP', 'RF' or 'ET' (or one of scikit-optimize's regressors of "
                          "those families); this engine has no 'GBRT' or 'dummy' model")
        return family
    family = _ESTIMATOR_CLASSES.get(type(base_estimator).__name__)
    if family is None or not type(base_estimator).__module__.startswith("skopt."):
        raise _refuse(call, "base_estimator", base_estimator,
                      "must be 'GP', 'RF', 'ET' or an instance of skopt.learning's "
                      "GaussianProcessRegressor, RandomForestRegressor or ExtraTreesRegressor")
    warnings.warn(f"{call}(base_estimator={type(base_estimator).__name__}(...)): used as this engine's "
                  f"{family} model; its own settings (kernel, trees, ...) are not used", stacklevel=3)
    return family


def _check_defaults(call: str, name: str, given: Optional[Dict[str, Any]], defaults: Dict[str, Any]) -> None:
    for key, value in (given or {}).items():
        if key not in defaults or value != defaults[key]:
            raise _refuse(call, f"{name}['{key}']" if name else key, value,
                          "this engine has no counterpart for it (it chooses its own exploration and "
                          "search effort); leave it out")


def _seed(random_state: Any) -> Optional[int]:
    """An integer seed from scikit-optimize's ``random_state`` (None, an int or a RandomState)."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise _refuse("Optimizer", "random_state", random_state, "must be None, an integer or a numpy RandomState")


class Optimizer:
    """scikit-optimize's ``Optimizer`` (ask and tell), proposing with this project's engine.

    The arguments are scikit-optimize's (see its documentation); ``ask``'s ``strategy`` left
    out gives this engine's batch proposals (joint draws of the batch's unknown outcomes),
    ``cl_min``, ``cl_mean`` or ``cl_max`` its constant liars. Unlike scikit-optimize, a point is
    never proposed twice (``avoid_duplicates=False`` is refused).
    """

    def __init__(self, dimensions: Any, base_estimator: Any = "gp", n_random_starts: Optional[int] = None,
                 n_initial_points: int = 10, initial_point_generator: str = "random", n_jobs: int = 1,
                 acq_func: str = "gp_hedge", acq_optimizer: str = "auto", random_state: Any = None,
                 model_queue_size: Optional[int] = None, space_constraint: Optional[Callable[[Point], bool]] = None,
                 acq_func_kwargs: Optional[Dict[str, Any]] = None,
                 acq_optimizer_kwargs: Optional[Dict[str, Any]] = None, avoid_duplicates: bool = True,
                 n_calls: Optional[int] = None) -> None:
        call = "Optimizer"
        if n_random_starts is not None:
            warnings.warn("n_random_starts is deprecated in scikit-optimize: use n_initial_points", DeprecationWarning,
                          stacklevel=2)
            n_initial_points = n_random_starts
        if not avoid_duplicates:
            raise _refuse(call, "avoid_duplicates", False, "this engine never proposes a point twice")
        if model_queue_size is not None:
            raise _refuse(call, "model_queue_size", model_queue_size,
                          "this engine keeps no fitted models in its results (models is empty)")
        _check_defaults(call, "acq_func_kwargs", acq_func_kwargs, _ACQ_FUNC_DEFAULTS)
        _check_defaults(call, "acq_optimizer_kwargs", acq_optimizer_kwargs, _ACQ_OPTIMIZER_DEFAULTS)
        if isinstance(n_initial_points, bool) or not isinstance(n_initial_points, numbers.Integral) or n_initial_points < 0:
            raise _refuse(call, "n_initial_points", n_initial_points, "must be an integer >= 0")
        self.space = Space(dimensions)
        self.rng = random_state if isinstance(random_state, np.random.RandomState) else np.random.RandomState(random_state)
        self.n_jobs = n_jobs
        self.space_constraint = space_constraint
        try:
            self._proposer = BatchProposer(
                self.space.dimensions, n_initial_points=int(n_initial_points),
                initial_point_generator=initial_point_generator, acq_func=acq_func, acq_optimizer=acq_optimizer,
                base_estimator=_estimator(call, base_estimator), is_allowed=space_constraint,
                random_state=_seed(random_state), n_calls=n_calls)
        except Exception as error:  # the proposer names hydra.sweeper.<field>: name the argument instead
            raise ValueError(f"{call}: {str(error).replace('hydra.sweeper.', '')}") from None
        self.Xi: List[Point] = []
        self.yi: List[float] = []
        self.models: List[Any] = []
        self._next: Optional[Point] = None  # ask() without n_points gives it again until a tell

    def ask(self, n_points: Optional[int] = None, strategy: Optional[str] = None) -> Union[Point, List[Point]]:
        """The next point (``n_points=None``: the same one until something is told), or a list
        of ``n_points`` distinct points to evaluate together."""
        if n_points is None:
            if self._next is None:
                self._next = self._proposer.ask(1)[0]
            return list(self._next)
        if strategy not in (None, "cl_min", "cl_mean", "cl_max"):
            raise _refuse("Optimizer.ask", "strategy", strategy, "must be 'cl_min', 'cl_mean' or 'cl_max' (or left out)")
        self._proposer.batch_strategy = strategy or "fantasies"
        return [list(p) for p in self._proposer.ask(int(n_points))]

    def tell(self, x: Union[Point, List[Point]], y: Union[float, Sequence[float]], fit: bool = True) -> Any:
        """Record ``y = f(x)`` for a point, or for a list of points and their values; returns
        the result so far (:meth:`get_result`)."""
        several = isinstance(y, (list, tuple, np.ndarray))
        points = [list(p) for p in x] if several else [list(x)]
        values = [float(v) for v in y] if several else [float(y)]
        if len(points) != len(values):
            raise ValueError(f"Optimizer.tell: {len(points)} point(s) but {len(values)} value(s)")
        for point in points:
            if point not in self.space:
                raise ValueError(f"Optimizer.tell: the point {point} is not within the space {self.space}")
        if any(not np.isfinite(v) for v in values):
            raise ValueError(f"Optimizer.tell: the values must be finite, got {values}")
        self._proposer.tell(points, values)
        self.Xi.extend(points)
        self.yi.extend(values)
        self._next = None
        return self.get_result()

    def run(self, func: Callable[[Point], float], n_iter: int = 1) -> Any:
        """Ask, evaluate and tell ``n_iter`` times; the result."""
        for _ in range(n_iter):
            x = self.ask()
            self.tell(x, func(x))
        return self.get_result()

    def get_result(self) -> Any:
        """scikit-optimize's ``OptimizeResult`` of what was told: ``x``, ``fun``, ``x_iters``,
        ``func_vals``, ``space``, ``random_state``, ``models`` (empty)."""
        result = create_result(self.Xi, self.yi, self.space, self.rng, models=self.models)
        result.specs = {"args": {}, "function": "Optimizer"}
        return result

    def copy(self, random_state: Any = None) -> "Optimizer":
        """A copy with the same told points (scikit-optimize's ``copy``)."""
        clone = copy.deepcopy(self)
        if random_state is not None:
            clone.rng = np.random.RandomState(_seed(random_state))
        return clone


def gp_minimize(func: Callable[[Point], float], dimensions: Any, base_estimator: Any = None, n_calls: int = 100,
                n_random_starts: Optional[int] = None, n_initial_points: int = 10,
                initial_point_generator: str = "random", acq_func: str = "gp_hedge", acq_optimizer: str = "lbfgs",
                x0: Optional[Any] = None, y0: Optional[Any] = None, random_state: Any = None, verbose: bool = False,
                callback: Any = None, n_points: int = 10000, n_restarts_optimizer: int = 5, xi: float = 0.01,
                kappa: float = 1.96, noise: Any = "gaussian", n_jobs: int = 1, model_queue_size: Optional[int] = None,
                space_constraint: Optional[Callable[[Point], bool]] = None) -> Any:
    """scikit-optimize's ``gp_minimize``: minimise ``func`` over ``dimensions`` in ``n_calls``
    evaluations (``x0`` evaluated first and counted, as there); the ``OptimizeResult``."""
    specs = {"args": {k: v for k, v in locals().items() if k != "specs"}, "function": "base_minimize"}
    call = "gp_minimize"
    _check_defaults(call, "", {"n_points": n_points, "n_restarts_optimizer": n_restarts_optimizer,
                               "n_jobs": n_jobs}, _ACQ_OPTIMIZER_DEFAULTS)
    _check_defaults(call, "", {"xi": xi, "kappa": kappa}, _ACQ_FUNC_DEFAULTS)
    if noise != "gaussian":
        raise _refuse(call, "noise", noise, "this engine estimates the noise from the data; leave it 'gaussian'")
    if isinstance(n_calls, bool) or not isinstance(n_calls, numbers.Integral) or n_calls < 0:
        raise _refuse(call, "n_calls", n_calls, "must be an integer >= 0")
    x0 = [] if x0 is None else ([list(x0)] if not isinstance(x0[0], (list, tuple)) else [list(x) for x in x0])
    optimizer = Optimizer(dimensions, base_estimator or "gp", n_random_starts=n_random_starts,
                          n_initial_points=n_initial_points, initial_point_generator=initial_point_generator,
                          acq_func=acq_func, acq_optimizer=acq_optimizer, random_state=random_state,
                          model_queue_size=model_queue_size, space_constraint=space_constraint, n_calls=n_calls)
    callbacks = check_callback(callback)
    if verbose:
        callbacks.append(VerboseCallback(n_init=len(x0) if y0 is None else 0, n_random=n_initial_points,
                                          n_total=n_calls))
    if x0:
        if y0 is None:
            y0 = [func(x) for x in x0]
            n_calls -= len(y0)
        y0 = list(y0) if isinstance(y0, (list, tuple, np.ndarray)) else [y0]
        result = optimizer.tell(x0, y0)
        result.specs = specs
        if eval_callbacks(callbacks, result):
            return result
    result = optimizer.get_result() if optimizer.yi else None
    for _ in range(n_calls):
        x = optimizer.ask()
        result = optimizer.tell(x, func(x))
        result.specs = specs
        if eval_callbacks(callbacks, result):
            break
    if result is None:
        raise _refuse(call, "n_calls", n_calls, "evaluated nothing: give n_calls >= 1 or x0 with y0")
    return result
