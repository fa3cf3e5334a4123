"""The sweep loop: ask -> launch -> record -> tell, batch after batch or slot by slot.

This is the only module that knows all the others. :class:`SweepLoop` checks the settings
(:mod:`..settings`), opens the sweep dir and replays what it holds (:mod:`.resume`), then runs
one of the two schedulings: it asks the :class:`..search.proposer.BatchProposer` for points, hands
their overrides to a launch function (Hydra's launcher, through the shim) as :mod:`.scheduler`
says when, has each return recorded (:mod:`.recording`) and told to the model
(:mod:`..search.feed`), and keeps the results file and the pictures up to date.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from hydra.core.utils import JobReturn

from ..errors import SweepStoppedError
from ..insight.plot_refresher import PlotRefresher, pictures
from ..problem.objectives import Objectives, to_loss
from ..problem.search_space import SearchSpace
from ..records.curves import step_spending, whole_curves
from ..records.forecasts import Continuation
from ..records.journal import Recommendation, Trial, format_params, format_values
from ..records.sweep_dir import SweepDir, atomic_write_text, outcome_file, reservation_file
from ..search.feed import ModelFeed
from ..search.pareto_proposer import ParetoProposer
from ..search.proposer import BatchProposer, SearchSpaceExhausted
from ..settings import SkoptSweeperConf, check_pruner, check_settings
from .forecasting import StopPlanner
from .lock import SweepLock
from .recording import Recorder
from .resume import open_sweep_dir, recover_unrecorded, replay
from .scheduler import (
    ConcurrentLauncher,
    DevicePool,
    Handover,
    Launch,
    LaunchFn,
    launcher_error,
    next_job_number,
    release_in_process,
    reserve,
    wait_for_outcomes,
)

log = logging.getLogger(__name__)

# How long the end of a sweep waits for its last plots; a later drawing finishes by itself.
_PLOTS_WAIT_S = 5.0
# How long a batch whose launcher raised waits for its other jobs' outcomes.
_LOST_BATCH_WAIT_S = 15.0


class SweepLoop:
    """One sweep: owns the proposer and what it is told (:class:`..search.feed.ModelFeed`), the
    record of the trials (:class:`~.recording.Recorder`) and the launches.

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
    saved_config : str, optional
        The composed config as YAML, written to ``multirun.yaml`` once the sweep holds its dir.
    constraint : callable, optional
        A Python door's constraint on the params dict, in place of ``settings.constraint``.
    resume_hint : str, optional
        What the user does to resume after an interrupt (``{sweep_dir}`` is filled in); by
        default the Hydra command line's words.
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
        saved_config: Optional[str] = None,
        constraint: Optional[Callable[[Dict[str, Any]], Any]] = None,
        resume_hint: str = "run the same command with hydra.sweep.dir={sweep_dir} to resume",
    ) -> None:
        check_settings(settings)
        space.check_conditions()
        # maximize null: minimise, unless the Optuna keys said otherwise
        self.objectives, self.constraints = Objectives.of_settings(settings, [p.name for p in space.params])
        if self.objectives.several:
            self.objective_name = ", ".join(self.objectives.labelled(i) for i in range(self.objectives.count))
        else:
            self.objective_name = self.objectives.names[0] or objective_name or "the value each trial returns"
        self.settings = settings
        self.maximize = self.objectives.maximize[0]
        self.space = space
        self.launch = launch
        self.sweep_dir = Path(sweep_dir)
        self.outcomes_dir = SweepDir(self.sweep_dir).outcomes
        n_devices = len(settings.devices) if settings.devices is not None else None
        self.batch_size = settings.batch_size or n_devices or max(1, default_batch_size)
        self.devices = DevicePool(settings.devices, settings.device_override)
        self.scheduling = settings.scheduling
        self.in_process = not concurrent
        if self.scheduling == "async" and not concurrent:
            log.info("hydra.sweeper.scheduling=async needs a launcher that runs jobs outside this "
                     "process; this one runs them here, one call at a time: using batch")
            self.scheduling = "batch"
        self.handover = handover
        self.validate = validate
        self.saved_config = saved_config
        self.record = Recorder(self.sweep_dir, settings, self.objectives, self.constraints)
        self.returns: List[Sequence[JobReturn]] = []
        # the search space ran out of allowed points before n_calls
        self.exhausted = False
        # the trials reported hydra.sweeper.step_budget steps: nothing more is launched
        self.budget_spent = False
        self.constraint = space.compile_constraint(constraint if constraint is not None else settings.constraint)
        self.resume_hint = resume_hint
        # the pictures (plots.draw_plots), redrawn in the background once the GP is in use
        self.plots = PlotRefresher(enabled=bool(space.params) and settings.plots)
        self.proposer: Optional[BatchProposer] = None
        self.feed: Optional[ModelFeed] = None
        if space.params:
            several = self.objectives.several
            proposer_class = ParetoProposer if several else BatchProposer
            self.proposer = proposer_class(
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
                n_constraints=len(self.constraints),
                **({"n_objectives": self.objectives.count, "reference_point": self._reference_losses()}
                   if several else {}),
            )
            self.feed = ModelFeed(self.proposer, self.objectives, settings.on_failure, self.constraints)
        # the forecast rule's stop plans (one objective; with several, pruning is off)
        self.planner: Optional[StopPlanner] = None
        pruner = check_pruner(dataclasses.asdict(settings.pruner) if settings.pruner is not None else None)
        if self.proposer is not None and pruner is not None and pruner["rule"] == "forecast" and not self.objectives.several:
            self.planner = StopPlanner(self.sweep_dir, self.proposer.columns, self.maximize,
                                       random_state=settings.random_state or 0, **pruner)
        # every launched trial's point, by job number, for the stop plans
        self.points: Dict[int, Any] = {}
        # the running jobs that continue a paused trial, by job number
        self.continuing: Dict[int, Continuation] = {}
        # whether the log said that a stopped trial cannot be paused (its app saves no checkpoint)
        self._said_no_checkpoint = False

    # -- set-up -------------------------------------------------------------------------------

    def _reference_losses(self) -> Optional[List[float]]:
        """``reference_point`` as losses (several objectives), or None to infer it."""
        reference = self.settings.reference_point
        return None if reference is None else self.objectives.losses(list(reference))

    def _point_allowed(self, point: Sequence[Any]) -> bool:
        assert self.constraint is not None
        return self.constraint(self.space.full_params(point))

    def _prepare_sweep_dir(self) -> None:
        """Resume from the journal there, or move an old one aside; write the space file."""
        # n_calls as the sweep reads it (an Optuna-style n_trials included), for the report
        description = {"params": self.space.describe(), "pinned": self.space.describe_pins(),
                       "maximize": self.objectives.direction,
                       "monitor": self.objectives.monitor, "n_calls": self.settings.n_calls}
        afresh = None
        if not self.space.params:
            # nothing to resume: a rerun runs again, as Hydra's basic sweeper does
            afresh = "No search space"
        elif not self.settings.resume:
            afresh = "hydra.sweeper.resume=false"
        trials = open_sweep_dir(self.record.journal, description, start_afresh_because=afresh)
        self.record.trials = trials
        if trials:
            log.info("Resuming %s: %d trial(s) in the journal (%d failed, %d pruned), %d to go",
                     self.record.journal.path, len(trials), sum(t.failed for t in trials),
                     sum(t.pruned for t in trials), max(0, self.settings.n_calls - len(trials)))
        if self.space.params:
            recover_unrecorded(self.record, recover=afresh is None)

    @property
    def trials(self) -> List[Trial]:
        return self.record.trials

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> List[Trial]:
        """Run the sweep, holding its sweep dir (:class:`~.lock.SweepLock`) from before the
        journal is read until the end."""
        with SweepLock(self.sweep_dir):
            self._run()
        return self.trials

    def _run(self) -> None:
        if self.saved_config is not None:
            atomic_write_text(SweepDir(self.sweep_dir).multirun, self.saved_config)
        for note in self.space.command_line_notes():
            log.info("Search space: %s", note)
        self._prepare_sweep_dir()
        if not self.space.params:
            log.info("No search space (no sweep in hydra.sweeper.params or on the command "
                     "line): running the composed config once")
            # job 0, as with Hydra's basic sweeper; an earlier run's outcome must not stand in for it
            outcome_file(self.outcomes_dir, 0).unlink(missing_ok=True)
            reservation_file(self.outcomes_dir, 0).unlink(missing_ok=True)
            self._run_batch([self._launch_record(0, [], {})])
            self._finish()
            return
        assert self.feed is not None
        replay(self.feed, self.space, self.trials, self.settings.warm_start,
               self._point_allowed if self.constraint is not None else None, self.record.journal.path)
        n_calls = self.settings.n_calls
        several = self.objectives.several
        log.info(
            "skopt_gp: %s %s; %d trials, %d initial, %s, %s with %s%s%s; searching %s",
            "the Pareto front of" if several else "maximising" if self.maximize else "minimising",
            self.objective_name, n_calls, self.settings.n_initial_points,
            f"{self.batch_size} at a time, each slot refilled as its trial returns"
            if self.scheduling == "async" else f"batches of {self.batch_size}",
            "a GP per objective" if several else self.settings.base_estimator,
            ("expected hypervolume improvement" if self.objectives.count <= 3 else "ParEGO's random scalarisations")
            if several else self.settings.acq_func,
            ("" if self.constraint is None else f", constraint {self.constraint.source!r}")
            + ("" if not self.constraints else f", metric constraints {self.constraints.describe()}"),
            "" if not self.devices.enabled else f", devices {self.devices.devices}",
            ", ".join(p.source if p.source.startswith(f"{p.name}=") else f"{p.name}: {p.source or p.kind}"
                      for p in self.space.params),
        )
        if several and self.settings.pruner is not None and self.settings.pruner.rule is not None:
            log.info("Pruning is off with several objectives: no single learning curve says which "
                     "trial is hopeless (report() still records the curves)")
        try:
            if self.scheduling == "async":
                self._run_async()
            else:
                self._run_batches()
        except KeyboardInterrupt:
            if self.trials:
                # Hydra's default sweep dir is timestamped: the same command alone would start afresh
                log.warning("Interrupted: %d trial(s) are safe in %s; %s", len(self.trials),
                            self.record.journal.path, self.resume_hint.format(sweep_dir=self.sweep_dir))
            else:
                log.warning("Interrupted before any trial finished: nothing was recorded; %s",
                            self.resume_hint.format(sweep_dir=self.sweep_dir))
            raise
        self._finish()

    def _run_batches(self) -> None:
        assert self.proposer is not None
        while len(self.trials) < self.settings.n_calls and self._budget_allows():
            size = min(self.batch_size, self.settings.n_calls - len(self.trials))
            started = time.perf_counter()
            launches: List[Launch] = []
            while len(launches) < size:
                continuation = self._continuation()
                if continuation is None:
                    break
                launches.append(continuation)
            try:
                points = self.proposer.ask(size - len(launches)) if len(launches) < size else []
            except SearchSpaceExhausted:
                if not launches:
                    self._exhausted()
                    return
                points = []
            choose_s = time.perf_counter() - started
            first = next_job_number(self.outcomes_dir, [t.number for t in self.trials] + [l.number for l in launches])
            launches += [self._launch_record(number, point, self.space.to_params(point))
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
                       and len(self.trials) + len(runner.running) < self.settings.n_calls
                       and self._budget_allows(len(runner.running))):
                    started = time.perf_counter()
                    launch = self._continuation()
                    if launch is None:
                        try:
                            point = self.proposer.ask(1)[0]
                        except SearchSpaceExhausted:
                            exhausted = True
                            break
                        number = next_job_number(self.outcomes_dir, [t.number for t in self.trials])
                        launch = self._launch_record(number, point, self.space.to_params(point))
                    self._before_launch([launch])
                    log.info("#%d launched (%d of %d running, chosen in %.2f s): %s%s", launch.number,
                             len(runner.running) + 1, self.batch_size, time.perf_counter() - started,
                             format_params(launch.params),
                             "" if launch.device is None else f", device {launch.device}")
                    runner.start(launch)
                if not runner.running:
                    break
                launch, ret, error = runner.next_finished()
                if ret is not None:
                    self.returns.append([ret])
                trial = self.record.trial(launch, ret, error)
                self._conclude([launch], [trial])
                self.record.log_returned(trial, f" in {time.perf_counter() - launch.started:.1f} s")
                try:
                    self.record.apply_failure_policy([trial])
                except SweepStoppedError as error_stop:
                    stop = error_stop
                    if runner.running:
                        log.warning("Stopping: no new trials; waiting for the %d running trial(s) "
                                    "to return", len(runner.running))
        except KeyboardInterrupt:
            self._drain_after_interrupt(runner)
            raise
        if exhausted:
            self._exhausted()
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
            trial = self.record.trial(launch, ret, error)
            if not trial.failed:
                self._conclude([launch], [trial])
                self.record.log_returned(trial, "")
            else:
                self.devices.give_back(launch.device)

    def _exhausted(self) -> None:
        """No allowed point is left: the sweep ends before n_calls, and its results say so."""
        self.exhausted = True
        log.info("The search space is exhausted after %d trial(s): every allowed point has been "
                 "tried (or excluded after a failure)", len(self.trials))

    def _trial_points(self) -> Dict[int, Any]:
        """Every trial's point by job number: those launched here, and an earlier run's that
        are still in the space."""
        points = dict(self.points)
        for trial in self.trials:
            if trial.number not in points:
                try:
                    points[trial.number] = self.space.to_point(trial.params)
                except ValueError:  # outside today's space (see resume.replay)
                    continue
        return points

    def _budget_allows(self, running: int = 0) -> bool:
        """Whether ``hydra.sweeper.step_budget`` (if set) leaves steps for another trial: the
        steps every trial of the sweep dir reported so far, the running ones' included; says
        so once when it is spent."""
        budget = self.settings.step_budget
        if self.budget_spent:
            return False
        if budget is None:
            return True
        curves = self._whole_curves()
        spent = step_spending(curves, (), ()).spent
        if spent < budget:
            return True
        self.budget_spent = True
        log.info("Step budget spent: %d of hydra.sweeper.step_budget=%d step(s) reported by %d trial(s); "
                 "launching no more trials%s", spent, budget, len(curves),
                 f" ({running} still running)" if running else "")
        return False

    def _whole_curves(self) -> Dict[int, Any]:
        """Every configuration's whole curve (:func:`..records.curves.whole_curves`)."""
        return whole_curves(self.sweep_dir, self.trials, {n: c.trial for n, c in self.continuing.items()})

    def _step_account(self) -> Optional[Dict[str, Any]]:
        """Where the trials' reported steps went (:func:`..records.curves.step_spending`) and
        the budget; None for a sweep with neither curves nor a budget."""
        curves = self._whole_curves()
        if not curves and self.settings.step_budget is None:
            return None
        spending = step_spending(curves, [t.number for t in self.trials if t.ok],
                                 [t.number for t in self.trials if t.pruned])
        return {**spending.summary(), "budget": self.settings.step_budget}

    def _continuation(self) -> Optional[Launch]:
        """The launch of the paused trial the forecast rule would now continue from its
        checkpoint (:meth:`..forecasting.StopPlanner.resume_choice`), or None: launch a new
        point. A paused trial is one stopped with a checkpoint that is still there and that
        no trial has continued or is continuing."""
        if self.planner is None:
            return None
        continued = {t.continues for t in self.trials if t.continues is not None} | {
            c.trial for c in self.continuing.values()}
        paused = {t.number: t for t in self.trials if t.pruned and t.checkpoint is not None
                  and t.number not in continued and Path(t.checkpoint).is_file()}
        if not paused:
            return None
        points = self._trial_points()
        curves = self._whole_curves()
        choice = self.planner.resume_choice(sorted(paused), curves, [t.number for t in self.trials if t.ok], points)
        if choice is None:
            return None
        trial, chance = paused[choice[0]], choice[1]
        taken = [t.number for t in self.trials] + list(self.continuing)
        number = next_job_number(self.outcomes_dir, taken)
        launch = self._launch_record(number, points[trial.number], dict(trial.params))
        self.continuing[number] = Continuation(trial.number, str(trial.checkpoint))
        log.info("#%d continues #%d from its checkpoint at step %s (the model of the curves now gives it "
                 "a %.0f%% chance to end below the best completed trial)", number, trial.number, trial.step,
                 100 * chance)
        return launch

    def _launch_record(self, number: int, point: Any, params: Dict[str, Any]) -> Launch:
        """The trial's launch: its overrides, and a device from the pool when there is one."""
        self.points[number] = point
        device = self.devices.take()
        overrides = self.space.to_overrides(params) + self.devices.overrides(device)
        return Launch(number, point, params, overrides, device)

    def _before_launch(self, launches: Sequence[Launch]) -> None:
        """Compose the first trial's config (a bad key fails before any trial runs) and reserve
        the job numbers."""
        if self.validate is not None:
            validate, self.validate = self.validate, None
            validate([launch.overrides for launch in launches])
        reserve(self.outcomes_dir, [launch.number for launch in launches], [launch.params for launch in launches],
                in_process=self.in_process)
        if self.planner is not None:
            numbers = {launch.number for launch in launches}
            self.planner.plan([(launch.number, launch.point) for launch in launches], self.trials, self._trial_points(),
                              {n: c for n, c in self.continuing.items() if n in numbers})

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
        except KeyboardInterrupt:
            release_in_process(self.outcomes_dir, [l.number for l in launches])
            raise
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
        trials = [self.record.trial(launch, ret, error, batch_number) for launch, ret in zip(launches, padded)]
        self._conclude(launches, trials)
        for trial in trials:
            self.record.log_returned(trial, "", best=False)
        log.info("Batch %d returned in %.1f s; best so far: %s", batch_number, elapsed,
                 self.record.describe_best())
        self.record.apply_failure_policy(trials)

    def _conclude(self, launches: Sequence[Launch], trials: List[Trial]) -> None:
        """Journal the returned trials, free their devices, tell the model, rewrite the results."""
        self.record.add(trials)
        for launch in launches:
            self.devices.give_back(launch.device)
            self.continuing.pop(launch.number, None)
        self._say_if_not_pausable(trials)
        if self.feed is not None:
            self.feed.returned([(launch.point, trial) for launch, trial in zip(launches, trials)])
        self._write_results()
        # redrawn once per batch_size results: a drawing takes a core the trials may need
        if (self.proposer is not None and self.proposer.model_ready
                and len(self.trials) % self.batch_size < len(trials)):
            self.plots.refresh(self.sweep_dir, version=len(self.trials))

    def _say_if_not_pausable(self, trials: Sequence[Trial]) -> None:
        """Once a sweep: a trial the forecast rule stopped saved no checkpoint, so no stopped
        trial will be continued (the app does not call resume_checkpoint())."""
        if self.planner is None or self._said_no_checkpoint or self.planner.p_resume is None:
            return
        for trial in trials:
            if trial.pruned and trial.forecast is not None and trial.checkpoint is None:
                self._said_no_checkpoint = True
                log.info("#%d was stopped without a checkpoint, so it cannot be continued later: stopped trials "
                         "are pausable when the app passes ckpt_path=hydra_skopt_sweeper.resume_checkpoint() to "
                         "trainer.fit (docs: pruning.md, 'Pausing and resuming')", trial.number)
                return

    def _write_results(self, final: bool = False) -> None:
        self.record.write_results(self._recommendation(), final, exhausted=self.exhausted,
                                  steps=self._step_account())

    def _recommendation(self) -> Optional[Recommendation]:
        """The successful trial the model expects to be best, and its predicted value."""
        if self.proposer is None or self.objectives.several:
            return None  # several objectives: the results name the front's trials instead
        candidates = []
        for trial in self.trials:
            if trial.ok and trial.value is not None and self.record.feasible(trial):
                try:
                    candidates.append((trial, self.space.to_point(trial.params)))
                except ValueError:  # not told to the GP (see resume.replay)
                    continue
        if not candidates:
            return None
        try:
            index, loss = self.proposer.recommend([point for _, point in candidates])
        except ValueError:  # no model yet, and no candidate told yet (an interrupt between the two)
            return None
        return candidates[index][0], to_loss(loss, self.maximize)  # to_loss is its own inverse

    def _finish(self) -> None:
        best = self.record.best()
        n_failed = sum(1 for t in self.trials if t.failed)
        n_pruned = sum(1 for t in self.trials if t.pruned)
        continued = {t.continues for t in self.trials if t.continues is not None}  # paused, then continued
        pruned = (f", {n_pruned} pruned" if n_pruned else "") + (
            f" ({len(continued)} of them paused and continued later)" if continued else "")
        self._write_results(final=True)
        if best is not None or (self.objectives.several and any(t.ok for t in self.trials)):
            self.plots.refresh(self.sweep_dir, version=len(self.trials))  # no-op if asked already
        plots_drawn = self.plots.wait(timeout=_PLOTS_WAIT_S)
        self.plots.close()
        if best is not None:
            n_infeasible = sum(1 for t in self.trials if t.ok and not self.record.feasible(t))
            log.info("Sweep finished: %d trial(s), %d failed%s%s. Best%s #%d: %s = %.6g",
                     len(self.trials), n_failed, pruned,
                     f", {n_infeasible} infeasible" if self.constraints else "",
                     " feasible" if self.constraints else "", best.number, format_params(best.params), best.value)
            if best.job_dir:
                log.info("Best trial's job dir: %s", best.job_dir)
        elif self.objectives.several and self.space.params:
            front = self.record.front()
            log.info("Sweep finished: %d trial(s), %d failed%s. Pareto front (%s): %s",
                     len(self.trials), n_failed, pruned,
                     self.objective_name, front.describe())
            for trial in front.solutions:
                log.info("  #%d %s: %s", trial.number, format_values(trial.values or []), format_params(trial.params))
        steps = self._step_account()
        if steps is not None:
            n_stopped = sum(1 for t in self.trials if t.pruned and t.number not in continued)
            log.info("Steps: %d reported%s: %d by %d trial(s) run to the end, %d by %d pruned one(s) "
                     "(about %d saved by pruning)%s", steps["spent"],
                     "" if steps["budget"] is None else f" of hydra.sweeper.step_budget={steps['budget']}",
                     steps["by_full_trials"], sum(1 for t in self.trials if t.ok), steps["by_pruned_trials"],
                     n_stopped, steps["saved_by_pruning"],
                     "" if not continued else f"; {len(continued)} paused trial(s) were continued, "
                     "a continued configuration counted once")
        log.info("Results: %s, every trial: %s", self.record.files.results, self.record.journal.path)
        drawn = ", ".join(map(str, pictures(self.sweep_dir, self.objectives.several)))
        if self.plots.started and not plots_drawn:
            log.info("Plots: %s (still being drawn after %g s: the drawing goes on in the background "
                     "and finishes by itself)", drawn or f"none yet in {self.sweep_dir}", _PLOTS_WAIT_S)
        elif self.plots.started and drawn:
            log.info("Plots: %s", drawn)
        self.record.refuse_all_failed(searched=bool(self.space.params))
        self.record.refuse_none_feasible()
