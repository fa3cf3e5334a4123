"""The sweep loop: ask -> launch -> read -> record -> tell, batch after batch or slot by slot.

This is the only module that knows all the others: it checks the settings' ranges, replays
the journal (resume) and earlier journals (warm start), drives the
:class:`BatchProposer`, hands overrides to a launch function (Hydra's launcher, through the
shim) as :mod:`.scheduler` says when, turns each ``JobReturn`` into a :class:`Trial`, applies
the failure policy, and keeps the journal and the results file up to date after every trial.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_skopt_sweeper.config import SkoptSweeperConf

from .errors import SweeperConfigError, SweepStoppedError
from .journal import (
    JOURNAL_NAME,
    RESULTS_NAME,
    Journal,
    Trial,
    best_trial,
    format_params,
    open_sweep_dir,
    read_trials,
    write_results,
)
from .objective import to_loss, trial_from
from .plot_refresher import PlotRefresher
from .plots import CONVERGENCE_NAME, CURVES_NAME, OBJECTIVE_NAME
from .pruning import Pruner, curve_path, read_curve, read_curves, value_at
from .proposer import BatchProposer, SearchSpaceExhausted
from .scheduler import (
    ConcurrentLauncher,
    DevicePool,
    Handover,
    Launch,
    LaunchFn,
    check_devices,
    launcher_error,
    next_job_number,
    reserve,
    unrecorded,
    wait_for_outcomes,
)
from .search_space import SearchSpace

log = logging.getLogger(__name__)

OUTCOMES_DIR = ".outcomes"
# How long the end of a sweep waits for its last plots; a later drawing finishes by itself.
_PLOTS_WAIT_S = 5.0
# How long a batch whose launcher raised waits for its other jobs' outcomes.
_LOST_BATCH_WAIT_S = 15.0


def check_settings(settings: SkoptSweeperConf) -> None:
    """Refuse out-of-range values up front, naming the field, the value and what is allowed.

    The types and the closed choices were checked by OmegaConf against the schema.
    """
    _require_int("n_calls", settings.n_calls, minimum=1)
    _require_int("n_initial_points", settings.n_initial_points, minimum=0)
    if settings.n_initial_points > settings.n_calls:
        log.info("hydra.sweeper.n_initial_points=%d is more than n_calls=%d: using %d",
                 settings.n_initial_points, settings.n_calls, settings.n_calls)
        settings.n_initial_points = settings.n_calls
    for name in ("batch_size", "max_failures"):
        if getattr(settings, name) is not None:
            _require_int(name, getattr(settings, name), minimum=1)
    if settings.random_state is not None:
        _require_int("random_state", settings.random_state, minimum=0)
    check_devices(settings.devices, settings.device_override, settings.batch_size)
    try:
        Pruner.from_config(dataclasses.asdict(settings.pruner) if settings.pruner is not None else None)
    except ValueError as error:
        raise SweeperConfigError(str(error)) from None


def _require_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SweeperConfigError(f"hydra.sweeper.{name}={value!r}: must be an integer >= {minimum}")


class SweepLoop:
    """One sweep: owns the proposer, the journal and the trial records.

    Parameters
    ----------
    settings : SkoptSweeperConf
    space : SearchSpace
    launch : callable
        ``launch(job_overrides, initial_job_idx) -> JobReturns``, e.g. a Hydra launcher's.
    sweep_dir : Path
        Where ``trials.jsonl``, ``optimization_results.yaml`` and the job outcomes live.
    default_batch_size : int
        Used when ``settings.batch_size`` is null (the launcher's parallelism).
    objective_name : str, optional
        What the trials return, for the log, when ``settings.monitor`` does not say (e.g.
        lightning-hydra-template's ``optimized_metric``).
    concurrent : bool
        Whether ``launch`` may be called from several threads at once (false for Hydra's basic
        launcher, which runs jobs in this process): ``scheduling=async`` needs it.
    handover : Handover, optional
        Signals that a launch has handed its job over (see :mod:`.scheduler`).
    validate : callable, optional
        ``validate(job_overrides)``: raises before the first launch when the overrides do not
        compose (Hydra's ``validate_batch_is_legal``).
    """

    def __init__(
        self,
        settings: SkoptSweeperConf,
        space: SearchSpace,
        launch: LaunchFn,
        sweep_dir: Path,
        default_batch_size: int = 1,
        objective_name: Optional[str] = None,
        concurrent: bool = True,
        handover: Optional[Handover] = None,
        validate: Optional[Callable[[List[List[str]]], None]] = None,
    ) -> None:
        check_settings(settings)
        space.check_conditions()
        self.objective_name = settings.monitor or objective_name or "the value each trial returns"
        self.settings = settings
        self.maximize = bool(settings.maximize)  # null: minimise, unless the Optuna keys said otherwise
        self.space = space
        self.launch = launch
        self.sweep_dir = Path(sweep_dir)
        self.outcomes_dir = self.sweep_dir / OUTCOMES_DIR
        n_devices = len(settings.devices) if settings.devices is not None else None
        self.batch_size = settings.batch_size or n_devices or max(1, default_batch_size)
        self.devices = DevicePool(settings.devices, settings.device_override)
        self.scheduling = settings.scheduling
        if self.scheduling == "async" and not concurrent:
            log.info("hydra.sweeper.scheduling=async needs a launcher that runs jobs outside this "
                     "process; this one runs them here, one call at a time: using batch")
            self.scheduling = "batch"
        self.handover = handover
        self.validate = validate
        self.journal = Journal(self.sweep_dir / JOURNAL_NAME)
        self.trials: List[Trial] = []
        self.returns: List[Sequence[JobReturn]] = []
        self.constraint = space.compile_constraint(settings.constraint)
        # convergence.png and objective.png, redrawn in the background once the GP is in use
        self.plots = PlotRefresher(enabled=bool(space.params))
        self.proposer: Optional[BatchProposer] = None
        # trials that ran but returned no usable value (None, NaN, no monitor key)
        self._unusable: Set[int] = set()
        # failures waiting for a first success before they can be penalised
        self._unpenalised: List[List[Any]] = []
        self._worst_loss: Optional[float] = None
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
                n_calls=settings.n_calls,
                canonical=space.canonical if space.conditional else None,
            )

    # -- set-up -------------------------------------------------------------------------------

    def _point_allowed(self, point: Sequence[Any]) -> bool:
        assert self.constraint is not None
        return self.constraint(self.space.full_params(point))

    def _prepare_sweep_dir(self) -> None:
        """Resume from the journal there, or move an old one aside; write the space file."""
        # n_calls as the sweep reads it (an Optuna-style n_trials included), for the report
        description = {"params": self.space.describe(), "maximize": self.maximize,
                       "monitor": self.settings.monitor, "n_calls": self.settings.n_calls}
        afresh = None
        if not self.space.params:
            # nothing to resume: a rerun runs again, as Hydra's basic sweeper does
            afresh = "No search space"
        elif not self.settings.resume:
            afresh = "hydra.sweeper.resume=false"
        self.trials = open_sweep_dir(self.journal, description, start_afresh_because=afresh)
        if self.trials:
            log.info("Resuming %s: %d trial(s) in the journal (%d failed, %d pruned), %d to go",
                     self.journal.path, len(self.trials), sum(t.failed for t in self.trials),
                     sum(t.pruned for t in self.trials), max(0, self.settings.n_calls - len(self.trials)))
        running = unrecorded(self.outcomes_dir, [t.number for t in self.trials]) if self.space.params else []
        if running:
            log.warning("Job(s) %s were launched by an earlier run and never recorded: they were "
                        "running when it stopped (on a cluster they may still run); their numbers "
                        "and job dirs are not reused", ", ".join(f"#{n}" for n in running))

    def _replay(self) -> None:
        """Tell the proposer what warm-start journals and this sweep's journal already know."""
        assert self.proposer is not None
        for path in self.settings.warm_start:
            self._warm_start_from(Path(path))
        points, losses = [], []
        for trial in self.trials:
            try:
                point = self.space.to_point(trial.params)
            except ValueError as error:  # the space was checked; a hand-edited journal can differ
                log.warning("Journal trial #%d does not fit the space (%s); not told to the GP",
                            trial.number, error)
                continue
            if _told_value(trial) is not None:
                points.append(point)
                losses.append(to_loss(trial.value, self.maximize))
            else:
                self._on_failed_point(point)
        self._tell(points, losses)

    def _warm_start_from(self, path: Path) -> None:
        assert self.proposer is not None
        if not path.is_file():
            raise SweeperConfigError(f"hydra.sweeper.warm_start: {path} is not a file")
        points, losses, skipped = [], [], 0
        for trial in read_trials(path):
            if _told_value(trial) is None:
                skipped += 1
                continue
            try:
                point = self.space.to_point(trial.params)
            except ValueError:
                skipped += 1
                continue
            if self.constraint is not None and not self._point_allowed(point):
                skipped += 1
                continue
            points.append(point)
            losses.append(to_loss(trial.value, self.maximize))
        self._tell(points, losses)
        log.info("Warm start from %s: %d trial(s) told to the GP, %d skipped (failed, or "
                 "outside the current space or constraint)", path, len(points), skipped)

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> List[Trial]:
        self._prepare_sweep_dir()
        if not self.space.params:
            log.info("No search space (no sweep in hydra.sweeper.params or on the command "
                     "line): running the composed config once")
            # job 0, as with Hydra's basic sweeper; an earlier run's outcome must not stand in for it
            (self.outcomes_dir / "0.json").unlink(missing_ok=True)
            self._run_batch([self._launch_record(0, [], {})])
            self._finish()
            return self.trials
        self._replay()
        n_calls = self.settings.n_calls
        log.info(
            "skopt_gp: %s %s; %d trials, %d initial, %s, %s with %s%s%s; searching %s",
            "maximising" if self.maximize else "minimising", self.objective_name,
            n_calls, self.settings.n_initial_points,
            f"{self.batch_size} at a time, each slot refilled as its trial returns"
            if self.scheduling == "async" else f"batches of {self.batch_size}",
            self.settings.base_estimator, self.settings.acq_func,
            "" if self.constraint is None else f", constraint {self.constraint.source!r}",
            "" if not self.devices.enabled else f", devices {self.devices.devices}",
            ", ".join(p.source or p.name for p in self.space.params),
        )
        try:
            if self.scheduling == "async":
                self._run_async()
            else:
                self._run_batches()
        except KeyboardInterrupt:
            if self.trials:
                # Hydra's default sweep dir is timestamped: the same command alone would start afresh
                log.warning("Interrupted: %d trial(s) are safe in %s; run the same command with "
                            "hydra.sweep.dir=%s to resume", len(self.trials), self.journal.path,
                            self.sweep_dir)
            else:
                log.warning("Interrupted before any trial finished: nothing was recorded; the "
                            "same command starts the sweep again")
            raise
        self._finish()
        return self.trials

    def _run_batches(self) -> None:
        assert self.proposer is not None
        while len(self.trials) < self.settings.n_calls:
            size = min(self.batch_size, self.settings.n_calls - len(self.trials))
            started = time.perf_counter()
            try:
                points = self.proposer.ask(size)
            except SearchSpaceExhausted:
                self._log_exhausted()
                return
            choose_s = time.perf_counter() - started
            first = next_job_number(self.outcomes_dir, [t.number for t in self.trials])
            launches = [self._launch_record(number, point, self.space.to_params(point))
                        for number, point in enumerate(points, start=first)]
            self._run_batch(launches, choose_s)

    def _run_async(self) -> None:
        """Keep ``batch_size`` trials running: each return is told, then one point is asked
        (the running ones pending) and launched in the freed slot."""
        assert self.proposer is not None
        runner = ConcurrentLauncher(self.launch, self.handover)
        stop: Optional[SweepStoppedError] = None
        exhausted = False
        try:
            while True:
                while (stop is None and not exhausted and len(runner.running) < self.batch_size
                       and len(self.trials) + len(runner.running) < self.settings.n_calls):
                    started = time.perf_counter()
                    try:
                        point = self.proposer.ask(1)[0]
                    except SearchSpaceExhausted:
                        exhausted = True
                        break
                    number = next_job_number(self.outcomes_dir, [t.number for t in self.trials])
                    launch = self._launch_record(number, point, self.space.to_params(point))
                    self._before_launch([launch])
                    log.info("#%d launched (%d of %d running, chosen in %.2f s): %s%s", number,
                             len(runner.running) + 1, self.batch_size, time.perf_counter() - started,
                             format_params(launch.params),
                             "" if launch.device is None else f", device {launch.device}")
                    runner.start(launch)
                if not runner.running:
                    break
                launch, ret, error = runner.next_finished()
                if ret is not None:
                    self.returns.append([ret])
                trial = self._record_launch(launch, ret, error)
                self._conclude([launch], [trial])
                self._log_returned(trial, f" in {time.perf_counter() - launch.started:.1f} s")
                try:
                    self._apply_failure_policy([trial])
                except SweepStoppedError as error_stop:
                    stop = error_stop
                    if runner.running:
                        log.warning("Stopping: no new trials; waiting for the %d running trial(s) "
                                    "to return", len(runner.running))
        except KeyboardInterrupt:
            self._drain_after_interrupt(runner)
            raise
        if exhausted:
            self._log_exhausted()
        if stop is not None:
            raise stop

    def _drain_after_interrupt(self, runner: ConcurrentLauncher) -> None:
        """After a Ctrl-C: launch nothing more, keep the running trials that still succeed.

        A trial the interrupt stopped is not recorded, so a resume runs it again (under a new
        job number); a second Ctrl-C stops waiting.
        """
        if not runner.running:
            return
        log.warning("Interrupted: launching nothing more; waiting for the %d running trial(s) to "
                    "end (Ctrl-C again to stop at once)", len(runner.running))
        while runner.running:
            launch, ret, error = runner.next_finished()
            trial = self._record_launch(launch, ret, error)
            if not trial.failed:
                self._conclude([launch], [trial])
                self._log_returned(trial, "")
            else:
                self.devices.give_back(launch.device)

    def _log_exhausted(self) -> None:
        log.info("The search space is exhausted after %d trial(s): every allowed point has been "
                 "tried (or excluded after a failure)", len(self.trials))

    def _launch_record(self, number: int, point: Any, params: Dict[str, Any]) -> Launch:
        """The trial's launch: its overrides, and a device from the pool when there is one."""
        device = self.devices.take()
        overrides = self.space.to_overrides(params) + self.devices.overrides(device)
        return Launch(number, point, params, overrides, device)

    def _before_launch(self, launches: Sequence[Launch]) -> None:
        """Compose the first trial's config (a bad key fails before any trial runs) and reserve
        the job numbers."""
        if self.validate is not None:
            validate, self.validate = self.validate, None
            validate([launch.overrides for launch in launches])
        reserve(self.outcomes_dir, [launch.number for launch in launches])

    def _run_batch(self, launches: List[Launch], choose_s: float = 0.0) -> None:
        first = launches[0].number
        batch_number = max((t.batch or 0 for t in self.trials), default=0) + 1
        self._before_launch(launches)
        log.info("Batch %d: launching %d trial(s) #%d-#%d (chosen in %.2f s)",
                 batch_number, len(launches), first, first + len(launches) - 1, choose_s)
        for launch in launches:
            log.info("  #%d %s%s", launch.number, format_params(launch.params),
                     "" if launch.device is None else f", device {launch.device}")
        started = time.perf_counter()
        try:
            returns: Sequence[Optional[JobReturn]] = self.launch([l.overrides for l in launches], first)
            self.returns.append(returns)
            error = None
        except Exception as caught:  # a worker died, the cluster went away: keep what finished
            error = launcher_error(caught)
            log.error("The launcher lost batch %d (%s); keeping the trials that finished",
                      batch_number, error)
            # Ray and SLURM raise at the first lost job while its batch-mates may still finish;
            # a broken loky executor (joblib) has killed every worker: nothing to wait for
            if not error.startswith("TerminatedWorkerError"):
                wait_for_outcomes(self.outcomes_dir, [l.number for l in launches], _LOST_BATCH_WAIT_S)
            returns = []
        elapsed = time.perf_counter() - started
        padded = list(returns) + [None] * (len(launches) - len(returns))
        trials = [self._record_launch(launch, ret, error) for launch, ret in zip(launches, padded)]
        for trial in trials:
            trial.batch = batch_number
        self._conclude(launches, trials)
        for trial in trials:
            self._log_returned(trial, "", best=False)
        best = best_trial(self.trials, self.maximize)
        log.info("Batch %d returned in %.1f s; best so far: %s", batch_number, elapsed, _describe(best))
        self._apply_failure_policy(trials)

    def _record_launch(self, launch: Launch, ret: Optional[JobReturn], error: Optional[str]) -> Trial:
        lost = (f"the launcher lost the job ({error})" if error is not None
                else "the launcher returned no result for this job")
        trial = trial_from(launch.number, launch.params, ret, self.outcomes_dir, self.settings.monitor, lost)
        if trial.failed and ret is not None and ret.status == JobStatus.COMPLETED:
            self._unusable.add(trial.number)  # it ran, but returned no usable value
        curve = read_curve(curve_path(self.sweep_dir, launch.number))
        if curve:
            trial.step = curve[-1][0]
        if trial.pruned and trial.value is None and curve:  # the app returned nothing once pruned
            trial.value = value_at(curve, curve[-1][0], self.maximize)
        return trial

    def _conclude(self, launches: Sequence[Launch], trials: List[Trial]) -> None:
        """Journal the returned trials, free their devices, tell the model, rewrite the results."""
        self.journal.append(trials)
        self.trials.extend(trials)
        for launch in launches:
            self.devices.give_back(launch.device)
        if self.proposer is not None:
            told = [(launch.point, t) for launch, t in zip(launches, trials) if _told_value(t) is not None]
            self._tell([pt for pt, _ in told], [to_loss(t.value, self.maximize) for _, t in told])
            for launch, trial in zip(launches, trials):
                if trial.failed:
                    self._on_failed_point(launch.point)
                elif _told_value(trial) is None:  # pruned before any value: nothing to learn
                    self.proposer.exclude([launch.point])
        self._write_results()
        # redrawn once per batch_size results: a drawing takes a core the trials may need
        if (self.proposer is not None and self.proposer.model_ready
                and len(self.trials) % self.batch_size < len(trials)):
            self.plots.refresh(self.sweep_dir, version=len(self.trials))

    def _log_returned(self, trial: Trial, took: str, best: bool = True) -> None:
        if trial.pruned:
            log.info("  #%d pruned at step %s%s (its own best before it was stopped: %s)", trial.number,
                     trial.step, took, "none" if trial.value is None else f"{trial.value:.6g}")
        elif trial.ok:
            message = f"  #{trial.number} -> {trial.value:.6g}{took}"
            if best:
                message += f"; best so far: {_describe(best_trial(self.trials, self.maximize))}"
            log.info(message)
        else:
            log.warning("  #%d failed%s: %s", trial.number, took, trial.error)

    def _write_results(self) -> None:
        write_results(self.sweep_dir, self.trials, self.maximize, self._recommendation())

    def _recommendation(self) -> Optional[Tuple[Trial, float]]:
        """The successful trial the model expects to be best, and its predicted value."""
        if self.proposer is None:
            return None
        candidates = []
        for trial in self.trials:
            if trial.ok and trial.value is not None:
                try:
                    candidates.append((trial, self.space.to_point(trial.params)))
                except ValueError:  # not told to the GP (see _replay)
                    continue
        if not candidates:
            return None
        index, loss = self.proposer.recommend([point for _, point in candidates])
        return candidates[index][0], to_loss(loss, self.maximize)  # to_loss is its own inverse

    # -- failures -------------------------------------------------------------------------------

    def _apply_failure_policy(self, batch: Sequence[Trial]) -> None:
        failed = [t for t in batch if t.failed]  # a pruned trial is not a failure
        if not failed:
            return
        if self.settings.on_failure == "raise":
            first = failed[0]
            raise SweepStoppedError(
                f"Trial #{first.number} failed and hydra.sweeper.on_failure=raise: {first.error}"
                + (f" (job dir {first.job_dir})" if first.job_dir else "")
                + f". The {len(self.trials)} trial(s) so far are in {self.journal.path}."
            )
        n_failed = sum(1 for t in self.trials if t.failed)
        limit = self.settings.max_failures
        if limit is not None and n_failed >= limit:
            raise SweepStoppedError(
                f"Stopping: {n_failed} trial(s) failed, hydra.sweeper.max_failures={limit}. "
                f"Last error (trial #{failed[-1].number}): {failed[-1].error}. "
                f"Every trial is in {self.journal.path}."
            )

    def _tell(self, points: List[Any], losses: List[float]) -> None:
        assert self.proposer is not None
        if losses:
            worst = max(losses)
            self._worst_loss = worst if self._worst_loss is None else max(self._worst_loss, worst)
        self.proposer.tell(points, losses)
        if self._unpenalised and self._worst_loss is not None:
            waiting, self._unpenalised = self._unpenalised, []
            self.proposer.tell(waiting, [self._worst_loss] * len(waiting))

    def _on_failed_point(self, point: List[Any]) -> None:
        """penalize: tell the worst loss seen (once there is one); skip: never propose it again."""
        assert self.proposer is not None
        if self.settings.on_failure == "penalize":
            if self._worst_loss is None:
                self._unpenalised.append(point)
            else:
                self.proposer.tell([point], [self._worst_loss])
        else:
            self.proposer.exclude([point])

    def _finish(self) -> None:
        best = best_trial(self.trials, self.maximize)
        n_failed = sum(1 for t in self.trials if t.failed)
        n_pruned = sum(1 for t in self.trials if t.pruned)
        self._write_results()
        if best is not None:
            self.plots.refresh(self.sweep_dir, version=len(self.trials))  # no-op if asked already
        plots_drawn = self.plots.wait(timeout=_PLOTS_WAIT_S)
        self.plots.close()
        if best is not None:
            log.info("Sweep finished: %d trial(s), %d failed%s. Best #%d: %s = %.6g",
                     len(self.trials), n_failed, f", {n_pruned} pruned" if n_pruned else "",
                     best.number, format_params(best.params), best.value)
            if best.job_dir:
                log.info("Best trial's job dir: %s", best.job_dir)
        log.info("Results: %s, every trial: %s", self.sweep_dir / RESULTS_NAME,
                 self.journal.path)
        if self.plots.started:
            names = [CONVERGENCE_NAME, OBJECTIVE_NAME] + ([CURVES_NAME] if read_curves(self.sweep_dir) else [])
            late = "" if plots_drawn else (f" (still being drawn after {_PLOTS_WAIT_S:g} s: the drawing "
                                           "goes on in the background and finishes by itself)")
            log.info("Plots: %s%s", ", ".join(str(self.sweep_dir / name) for name in names), late)
        # as Hydra's Optuna sweeper raises the first trial's error: a sweep whose every trial is
        # broken must not pass for a finished one (CI checks the exit status). With nothing to
        # search, as Hydra's basic sweeper: only a run that raised fails (an app may return None)
        broken = self.space.params or any(t.number not in self._unusable for t in self.trials)
        if best is None and self.trials and broken and all(t.failed for t in self.trials):
            raise SweepStoppedError(
                f"Every trial failed ({len(self.trials)}), so there is nothing to optimise: "
                f"{_error_summary(self.trials)}. Every trial is in {self.journal.path}."
            )


def _told_value(trial: Trial) -> Optional[float]:
    """The value the GP learns from a trial: a completed trial's, or a pruned trial's best value
    before it was stopped (an honest, pessimistic reading of where it was heading); None for a
    failed trial, which the failure policy handles."""
    if trial.ok or trial.pruned:
        return trial.value
    return None


def _describe(best: Optional[Trial]) -> str:
    return "none" if best is None else f"#{best.number} {best.value:.6g} {format_params(best.params)}"


def _error_summary(trials: Sequence[Trial], limit: int = 3) -> str:
    """The distinct first lines of the trials' errors, each with the trials that hit it."""
    by_error: Dict[str, List[int]] = {}
    for trial in trials:
        by_error.setdefault(trial.error_line, []).append(trial.number)
    parts = [f"{error} (trial {', '.join(f'#{n}' for n in numbers[:5])}{', ...' if len(numbers) > 5 else ''})"
             for error, numbers in list(by_error.items())[:limit]]
    if len(by_error) > limit:
        parts.append(f"and {len(by_error) - limit} other error(s)")
    return "; ".join(parts)
