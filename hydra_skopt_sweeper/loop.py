"""The sweep loop: ask -> launch -> read -> record -> tell, batch after batch.

This is the only module that knows all the others: it validates the settings, builds the
search space and the constraint, replays the journal, drives the :class:`BatchProposer`,
hands each batch of overrides to a launch function (Hydra's launcher, through the shim),
turns each ``JobReturn`` into a :class:`Trial`, and keeps the journal and the results file
up to date after every batch.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from hydra.core.utils import JobReturn, JobStatus

from .constraint import Constraint, check_satisfiable, compile_constraint
from .errors import SweeperConfigError
from .journal import FAILED, JOURNAL_NAME, OK, Journal, Trial, best_trial, write_results
from .objective import TimedReturn, TrialValueError, read_value, to_loss
from .proposer import BatchProposer, sample_allowed
from .search_space import SearchSpace

log = logging.getLogger(__name__)

LaunchFn = Callable[[List[List[str]], int], Sequence[JobReturn]]
ON_FAILURE = ("penalize", "skip", "raise")
SPACE_FILE = "search_space.json"
# Random points drawn to check, before any launch, that the constraint can be met.
_SATISFIABILITY_SAMPLES = 20000


@dataclass
class SweepSettings:
    """The sweeper's config fields other than ``params`` (see ``config.SkoptSweeperConf``)."""

    n_calls: int = 50
    n_initial_points: int = 10
    initial_point_generator: str = "sobol"
    batch_size: Optional[int] = None
    batch_strategy: str = "cl_min"
    acq_func: str = "gp_hedge"
    acq_optimizer: str = "auto"
    base_estimator: str = "GP"
    maximize: bool = False
    monitor: Optional[str] = None
    constraint: Optional[str] = None
    on_failure: str = "penalize"
    max_failures: Optional[int] = None
    random_state: Optional[int] = None
    resume: bool = True
    warm_start: List[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> "SweepSettings":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def validate(self) -> None:
        """Refuse bad values up front, naming the field, the value and what is allowed."""
        _require_int("n_calls", self.n_calls, minimum=1)
        _require_int("n_initial_points", self.n_initial_points, minimum=0)
        if self.n_initial_points > self.n_calls:
            raise SweeperConfigError(
                f"hydra.sweeper.n_initial_points={self.n_initial_points}: must be <= "
                f"n_calls={self.n_calls}"
            )
        if self.batch_size is not None:
            _require_int("batch_size", self.batch_size, minimum=1)
        if self.max_failures is not None:
            _require_int("max_failures", self.max_failures, minimum=1)
        if self.on_failure not in ON_FAILURE:
            raise SweeperConfigError(
                f"hydra.sweeper.on_failure={self.on_failure!r}: must be one of {', '.join(ON_FAILURE)}"
            )


def _require_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SweeperConfigError(
            f"hydra.sweeper.{name}={value!r}: must be an integer >= {minimum}"
        )


class SweepLoop:
    """One sweep: owns the proposer, the journal and the trial records.

    Parameters
    ----------
    settings : SweepSettings
    space : SearchSpace
    launch : callable
        ``launch(job_overrides, initial_job_idx) -> JobReturns``, e.g. a Hydra launcher's.
    sweep_dir : Path
        Where ``trials.jsonl`` and ``optimization_results.yaml`` are written.
    default_batch_size : int
        Used when ``settings.batch_size`` is null (the launcher's parallelism).
    """

    def __init__(
        self,
        settings: SweepSettings,
        space: SearchSpace,
        launch: LaunchFn,
        sweep_dir: Path,
        default_batch_size: int = 1,
    ) -> None:
        settings.validate()
        self.settings = settings
        self.space = space
        self.launch = launch
        self.sweep_dir = Path(sweep_dir)
        self.batch_size = settings.batch_size or max(1, default_batch_size)
        self.journal = Journal(self.sweep_dir / JOURNAL_NAME)
        self.trials: List[Trial] = []
        self.returns: List[Sequence[JobReturn]] = []
        self.constraint = self._compile_constraint()
        self.proposer: Optional[BatchProposer] = None
        if space.params:
            self.proposer = BatchProposer(
                space.dimensions(),
                n_initial_points=settings.n_initial_points,
                initial_point_generator=settings.initial_point_generator,
                acq_func=settings.acq_func,
                acq_optimizer=settings.acq_optimizer,
                base_estimator=settings.base_estimator,
                batch_strategy=settings.batch_strategy,
                is_allowed=self._point_allowed if self.constraint else None,
                random_state=settings.random_state,
            )

    # -- set-up -------------------------------------------------------------------------------

    def _compile_constraint(self) -> Optional[Constraint]:
        names = list(self.space.fixed_values) + self.space.names
        constraint = compile_constraint(self.settings.constraint, names)
        if constraint is None:
            return None
        if not self.space.params:
            if not constraint(dict(self.space.fixed_values)):
                raise SweeperConfigError(
                    f"hydra.sweeper.constraint={constraint.source!r}: the fixed values "
                    f"{self.space.fixed_values} do not satisfy it"
                )
            return constraint
        import numpy as np
        from skopt.space import Space

        space = Space(self.space.dimensions())
        samples = space.rvs(n_samples=_SATISFIABILITY_SAMPLES, random_state=np.random.RandomState(0))
        check_satisfiable(constraint, (self._full_params(p) for p in samples))
        return constraint

    def _full_params(self, point: Sequence[Any]) -> Dict[str, Any]:
        return {**self.space.fixed_values, **self.space.to_params(point)}

    def _point_allowed(self, point: Sequence[Any]) -> bool:
        assert self.constraint is not None
        return self.constraint(self._full_params(point))

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> List[Trial]:
        self._write_space_file()
        if not self.space.params:
            log.info("No search space (no sweep in hydra.sweeper.params or on the command line): "
                     "running the composed config once")
            self._run_batch([[]], [dict()])
            self._finish()
            return self.trials
        n_calls = self.settings.n_calls
        log.info(
            "skopt_gp: %d trials, %d initial, batches of %d, %s with %s%s; searching %s",
            n_calls, self.settings.n_initial_points, self.batch_size,
            self.settings.base_estimator, self.settings.acq_func,
            "" if self.constraint is None else f", constraint {self.constraint.source!r}",
            ", ".join(p.source or p.name for p in self.space.params),
        )
        while len(self.trials) < n_calls:
            size = min(self.batch_size, n_calls - len(self.trials))
            started = time.perf_counter()
            assert self.proposer is not None
            points = self.proposer.ask(size)
            choose_s = time.perf_counter() - started
            params = [self.space.to_params(p) for p in points]
            self._run_batch(points, params, choose_s)
        self._finish()
        return self.trials

    def _run_batch(self, points: List[Any], params: List[Dict[str, Any]], choose_s: float = 0.0) -> None:
        first = len(self.trials)
        batch_number = len(self.returns) + 1
        overrides = [self.space.to_overrides(p) if self.space.params else list(self.space.fixed_overrides)
                     for p in params]
        log.info("Batch %d: launching %d trial(s) #%d-#%d (chosen in %.2f s)",
                 batch_number, len(overrides), first, first + len(overrides) - 1, choose_s)
        for number, p in enumerate(params, start=first):
            log.info("  #%d %s", number, _format_params(p))
        started = time.perf_counter()
        returns = self.launch(overrides, first)
        elapsed = time.perf_counter() - started
        self.returns.append(returns)

        trials = [self._record(number, p, ret) for number, (p, ret) in enumerate(zip(params, returns), start=first)]
        for trial in trials:
            trial.batch = batch_number
        self.journal.append(trials)
        self.trials.extend(trials)
        if self.proposer is not None:
            told = [(pt, to_loss(t.value, self.settings.maximize)) for pt, t in zip(points, trials)
                    if t.ok and t.value is not None]
            self.proposer.tell([pt for pt, _ in told], [v for _, v in told])
        write_results(self.sweep_dir, self.trials, self.settings.maximize)

        for trial in trials:
            if trial.ok:
                log.info("  #%d -> %.6g", trial.number, trial.value)
            else:
                log.warning("  #%d failed: %s", trial.number, trial.error)
        best = best_trial(self.trials, self.settings.maximize)
        log.info("Batch %d returned in %.1f s; best so far: %s", batch_number, elapsed,
                 "none" if best is None else f"#{best.number} {best.value:.6g} {_format_params(best.params)}")

    def _record(self, number: int, params: Dict[str, Any], ret: JobReturn) -> Trial:
        job_dir = _job_dir(ret)
        duration: Optional[float] = None
        if ret.status != JobStatus.COMPLETED:
            error = getattr(ret, "_return_value", None)
            message = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else "the trial did not complete"
            return Trial(number, params, None, FAILED, message, duration, job_dir)
        returned = ret.return_value
        if isinstance(returned, TimedReturn):
            duration = round(returned.duration_s, 3)
            returned = returned.value
        try:
            value = read_value(returned, self.settings.monitor)
        except TrialValueError as error:
            return Trial(number, params, None, FAILED, str(error), duration, job_dir)
        return Trial(number, params, value, OK, None, duration, job_dir)

    def _finish(self) -> None:
        best = best_trial(self.trials, self.settings.maximize)
        n_failed = sum(1 for t in self.trials if not t.ok)
        if best is None:
            log.warning("Sweep finished: %d trial(s), none returned a usable value", len(self.trials))
        else:
            log.info("Sweep finished: %d trial(s), %d failed. Best #%d: %s = %.6g",
                     len(self.trials), n_failed, best.number, _format_params(best.params), best.value)
            if best.job_dir:
                log.info("Best trial's job dir: %s", best.job_dir)
        log.info("Results: %s, every trial: %s", self.sweep_dir / "optimization_results.yaml",
                 self.journal.path)

    def _write_space_file(self) -> None:
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        description = {"params": self.space.describe(), "maximize": self.settings.maximize}
        (self.sweep_dir / SPACE_FILE).write_text(json.dumps(description, indent=1) + "\n")


def _job_dir(ret: JobReturn) -> Optional[str]:
    try:
        return str(ret.hydra_cfg.hydra.runtime.output_dir)
    except Exception:  # a launcher that fills no hydra_cfg: the record just has no job dir
        return None


def _format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in params.items()) or "(no params)"


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
