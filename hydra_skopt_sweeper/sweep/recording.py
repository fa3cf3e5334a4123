"""The sweep's record: each returned trial built once, journaled, judged and reported.

A :class:`Recorder` turns what the launcher returned for a job (or what the job left in the
sweep dir when the launcher returned nothing: :func:`trial_from`) into a
:class:`..records.journal.Trial`, amended from its learning curve and stamped with its batch, in
one place (:meth:`Recorder.trial`). It appends
the trials to the journal as they return, rewrites the results files, writes the log lines a
user reads per trial and at the end, and applies the failure policy (``on_failure=raise``,
``max_failures``, and a sweep whose every trial failed).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Union

from hydra.core.utils import JobReturn, JobStatus

from ..errors import SweepStoppedError
from ..insight.solutions import Front
from ..problem.metrics import MetricConstraints
from ..problem.objectives import Objectives, TrialValueError
from ..records.curves import read_curve, value_at
from ..records.forecasts import earlier_curve, latest_forecast, read_continuation, read_plan
from ..records.journal import (
    FAILED,
    OK,
    PRUNED,
    TABLE_COLUMNS,
    Journal,
    Recommendation,
    Trial,
    best_trial,
    format_params,
    format_values,
    results_summary,
    trial_counts,
    write_results,
)
from ..records.outcomes import TimedReturn, read_outcome
from ..records.sweep_dir import PAUSED_CHECKPOINT, SweepDir
from ..settings import SkoptSweeperConf
from .scheduler import Launch

log = logging.getLogger(__name__)


class Recorder:
    """The trials of one sweep, in the order they returned, and their journal."""

    def __init__(self, sweep_dir: Path, settings: SkoptSweeperConf, objectives: Objectives,
                 constraints: Optional[MetricConstraints] = None) -> None:
        self.files = SweepDir(sweep_dir)
        self.settings = settings
        self.objectives = objectives
        self.constraints = constraints or None
        self.maximize = objectives.maximize[0]  # the first objective's, which a curve reports
        self.journal = Journal(self.files.journal)
        self.trials: List[Trial] = []
        # trials that ran but returned no usable value (None, NaN, no monitor key)
        self._unusable: Set[int] = set()

    def trial(self, launch: Launch, ret: Optional[JobReturn], error: Optional[str],
              batch: Optional[int] = None) -> Trial:
        """The record of a launched job: from its JobReturn, else from the outcome it left (a
        lost job: ``error`` says how it was lost); its last step and, for a pruned trial that
        returned nothing, its value come from its learning curve."""
        lost = (f"the launcher lost the job ({error})" if error is not None
                else "the launcher returned no result for this job")
        trial = trial_from(launch.number, launch.params, ret, self.files.outcomes, self.objectives, lost)
        trial.batch = batch
        continuation = read_continuation(self.files.root, launch.number)  # a resumed sweep's recovery too
        trial.continues = None if continuation is None else continuation.trial
        if trial.failed and ret is not None and ret.status == JobStatus.COMPLETED:
            self._unusable.add(trial.number)  # it ran, but returned no usable value
        # a continuation's curve goes on from the paused trial's
        curve = earlier_curve(self.files.root, launch.number) + read_curve(self.files.curve(launch.number))
        if curve:
            trial.step = curve[-1][0]
        if trial.pruned and trial.value is None and curve and not self.objectives.several:  # returned nothing once pruned
            trial.value = value_at(curve, curve[-1][0], self.maximize)
        if continuation is not None and trial.value is not None and curve and not self.objectives.several:
            # its configuration's best epoch may lie before the pause, in the paused trial's part
            whole = value_at(curve, curve[-1][0], self.maximize)
            trial.value = max(trial.value, whole) if self.maximize else min(trial.value, whole)
        if trial.pruned and curve and not self.objectives.several:
            final = latest_forecast(read_plan(self.files.root, launch.number), curve, self.maximize)
            if final is not None:  # the forecast rule stopped it: what its plan forecast then
                trial.forecast = -final if self.maximize else final
        if trial.pruned and trial.job_dir and (Path(trial.job_dir) / PAUSED_CHECKPOINT).is_file():
            trial.checkpoint = str(Path(trial.job_dir) / PAUSED_CHECKPOINT)  # paused: it can be continued
        return trial

    def add(self, trials: Sequence[Trial]) -> None:
        """Journal returned trials (fsynced before anything else happens to them).

        Raises
        ------
        SweepStoppedError
            The journal cannot be written (read-only, a full disk): the sweep stops, and the
            trials' outcomes stay in the sweep dir for a resume to record.
        """
        try:
            self.journal.append(trials)
        except OSError as error:
            raise SweepStoppedError(
                f"Cannot write the journal {self.journal.path} ({error}), so the sweep stops. "
                f"What trial(s) {', '.join(f'#{t.number}' for t in trials)} returned is kept in "
                f"{self.files.outcomes}: make the journal writable (permissions, disk space) and "
                f"run the same command with hydra.sweep.dir={self.files.root} to resume; they "
                "are recorded then, not run again"
            ) from None
        self.trials.extend(trials)

    def write_results(self, recommended: Optional[Recommendation], final: bool = False,
                      exhausted: bool = False, steps: Optional[Dict[str, Any]] = None) -> None:
        """Rewrite the results files; they are derived from the journal, so a failure to
        write them is a warning and the next trial's rewrite tries again. ``final``: the
        sweep's end, where the importance of the parameters is added (:meth:`importance`);
        ``exhausted``: it ended early because every allowed point had been tried; ``steps``:
        where the reported steps went, and the step budget."""
        importance = self.importance() if final else None
        added: Dict[str, Any] = {"importance": importance} if importance else {}
        if exhausted:
            added["exhausted"] = True
        if steps is not None:
            added["steps"] = steps
        try:
            feasible = self.feasible if self.constraints is not None else None
            metric_columns = self.constraints.names if self.constraints is not None else ()
            if self.objectives.several:
                front = self.front()
                summary = {"name": "skopt_gp", **front.summary(), "monitor": self.objectives.monitor,
                           "maximize": self.objectives.direction, **trial_counts(self.trials, feasible), **added}
                write_results(self.files.root, self.trials, False, summary=summary,
                              objective_columns=self.objective_columns(),
                              on_front={t.number for t in front.solutions}, feasible=feasible,
                              metric_columns=metric_columns)
            else:
                summary = {**results_summary(self.trials, self.maximize, recommended, feasible=feasible), **added}
                write_results(self.files.root, self.trials, self.maximize, summary=summary, feasible=feasible,
                              metric_columns=metric_columns)
        except OSError as error:
            log.warning("Cannot rewrite %s (%s); every trial is still in %s", self.files.results,
                        error, self.journal.path)

    def importance(self) -> Optional[Dict[str, Any]]:
        """The importance of the parameters (:func:`..insight.importance.importance_of`, on the model
        refitted from the sweep dir) as the results file writes it, its top parameters logged;
        None while too few trials succeeded. It only informs, so a failure is a warning."""
        from ..insight.importance import importance_of, results_entry
        from ..insight.sweep_record import load_sweep

        try:
            found = importance_of(load_sweep(self.files.root))
        except Exception as error:  # a report on the sweep must never fail it
            log.warning("Cannot measure the importance of the parameters (%s: %s); the results "
                        "are written without it", type(error).__name__, error)
            return None
        for importance in found:
            log.info("Importance for %s (total effect ± sd): %s", importance.objective, importance.describe())
        return results_entry(found) if found else None

    def feasible(self, trial: Trial) -> bool:
        """Whether a trial satisfied the metric constraints (every trial, without any)."""
        return self.constraints is None or self.constraints.feasible(trial.metrics)

    def best(self) -> Optional[Trial]:
        """The best completed (feasible) trial (one objective); None with several."""
        if self.objectives.several:
            return None
        return best_trial(self.trials, self.maximize, self.feasible if self.constraints is not None else None)

    def front(self) -> Front:
        """The Pareto front of the completed (feasible) trials (several objectives)."""
        return Front.of([t for t in self.trials if self.feasible(t)], self.objectives, self.settings.reference_point)

    def objective_columns(self) -> List[str]:
        """The table's column per objective: its label, ``objective:`` first on a clash."""
        labels = [self.objectives.label(i) for i in range(self.objectives.count)]
        return [f"objective:{label}" if label in TABLE_COLUMNS or label == "on_front" else label
                for label in labels]

    def describe_best(self) -> str:
        if self.objectives.several:
            return self.front().describe()
        best = self.best()
        if best is None:
            return "none" if self.constraints is None else "none feasible yet"
        return f"#{best.number} {best.value:.6g} {format_params(best.params)}"

    def log_returned(self, trial: Trial, took: str, best: bool = True) -> None:
        if self.constraints is not None and trial.ok and trial.metrics is not None and not self.feasible(trial):
            took += f", infeasible: {'; '.join(self.constraints.violated(trial.metrics))}"
        if trial.continues is not None:
            took += f", continuing #{trial.continues}"
        if trial.pruned:
            log.info("  #%d %s at step %s%s (its own best before it was stopped: %s%s)", trial.number,
                     "pruned" if trial.checkpoint is None else "paused", trial.step, took,
                     "none" if trial.value is None else f"{trial.value:.6g}",
                     "" if trial.forecast is None else f"; the forecast for its end: {trial.forecast:.6g}")
        elif trial.ok and trial.values is not None:
            front = self.front()
            joined = "joins the front" if front.contains(trial) else "dominated"
            message = f"  #{trial.number} -> {format_values(trial.values)}{took}: {joined}"
            if best:
                message += f"; {front.describe()}"
            log.info(message)
        elif trial.ok:
            message = f"  #{trial.number} -> {trial.value:.6g}{took}"
            if best:
                message += f"; best so far: {self.describe_best()}"
            log.info(message)
        else:
            log.warning("  #%d failed%s: %s", trial.number, took, trial.error)

    # -- failures -------------------------------------------------------------------------------

    def apply_failure_policy(self, returned: Sequence[Trial]) -> None:
        """Stop the sweep (:class:`SweepStoppedError`) when ``on_failure=raise`` and a trial
        failed, or when ``max_failures`` trials have failed; a pruned trial is not a failure."""
        failed = [t for t in returned if t.failed]
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

    def refuse_none_feasible(self) -> None:
        """A sweep with metric constraints whose completed trials all broke them has found
        nothing to use: it must not pass for a finished one."""
        done = [t for t in self.trials if t.ok]
        if self.constraints is None or not done or any(self.feasible(t) for t in done):
            return
        raise SweepStoppedError(
            f"No trial satisfied hydra.sweeper.metric_constraints ({self.constraints.describe()}): "
            f"all {len(done)} completed trial(s) broke them, e.g. #{done[-1].number}: "
            f"{'; '.join(self.constraints.violated(done[-1].metrics or {})) or 'no metrics recorded'}. "
            f"Loosen them, widen the search space, or run more trials (resume with the same "
            f"command and a larger hydra.sweeper.n_calls); every trial is in {self.journal.path}."
        )

    def refuse_all_failed(self, searched: bool) -> None:
        """As Hydra's Optuna sweeper raises the first trial's error: a sweep whose every trial
        is broken must not pass for a finished one (CI checks the exit status). With nothing to
        search (``searched`` false), as Hydra's basic sweeper: only a run that raised fails (an
        app may return None)."""
        broken = searched or any(t.number not in self._unusable for t in self.trials)
        if self.trials and broken and all(t.failed for t in self.trials):
            raise SweepStoppedError(
                f"Every trial failed ({len(self.trials)}), so there is nothing to optimise: "
                f"{error_summary(self.trials)}. Every trial is in {self.journal.path}."
            )


def error_summary(trials: Sequence[Trial], limit: int = 3) -> str:
    """The distinct first lines of the trials' errors, each with the trials that hit it."""
    by_error: Dict[str, List[int]] = {}
    for trial in trials:
        by_error.setdefault(trial.error_line, []).append(trial.number)
    parts = [f"{error} (trial {', '.join(f'#{n}' for n in numbers[:5])}{', ...' if len(numbers) > 5 else ''})"
             for error, numbers in list(by_error.items())[:limit]]
    if len(by_error) > limit:
        parts.append(f"and {len(by_error) - limit} other error(s)")
    return "; ".join(parts)


def trial_from(number: int, params: Dict[str, Any], ret: Optional[JobReturn], outcomes_dir: Path,
               objectives: Union[Objectives, str, None], lost: str) -> Trial:
    """The record of job ``number`` from what the launcher returned for it (``ret``), or, when
    it returned nothing (a lost batch, a dead worker), from the outcome the job left in
    ``outcomes_dir``; ``lost`` is the error of a job that left neither. ``objectives`` may be
    a single ``monitor`` key (or None)."""
    if not isinstance(objectives, Objectives):
        objectives = Objectives((objectives,))
    if ret is None:
        outcome = read_outcome(outcomes_dir, number)
        if outcome is None:
            return Trial(number, params, None, FAILED, lost)
        duration, job_dir = outcome.get("duration_s"), outcome.get("job_dir")
        if "pruned_step" in outcome:
            value = outcome.get("value")
            return Trial(number, params, None if value is None else float(value), PRUNED, None, duration, job_dir)
        metrics = outcome.get("metrics")
        metrics = {str(k): float(v) for k, v in metrics.items()} if isinstance(metrics, dict) else None
        if objectives.metrics and metrics is None and ("value" in outcome or "values" in outcome):
            return Trial(number, params, None, FAILED, "metric_constraints: the outcome holds no metrics",
                         duration, job_dir)
        if "value" in outcome:
            return Trial(number, params, float(outcome["value"]), OK, None, duration, job_dir, metrics=metrics)
        if "values" in outcome:
            return Trial(number, params, None, OK, None, duration, job_dir, values=[float(v) for v in outcome["values"]],
                         metrics=metrics)
        return Trial(number, params, None, FAILED, outcome.get("error"), duration, job_dir)
    job_dir = _job_dir(ret)
    if ret.status != JobStatus.COMPLETED:
        error = getattr(ret, "_return_value", None)
        message = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else "the trial did not complete"
        outcome = read_outcome(outcomes_dir, number) or {}
        return Trial(number, params, None, FAILED, message, outcome.get("duration_s"), job_dir)
    returned, duration, pruned_step = ret.return_value, None, None
    if isinstance(returned, TimedReturn):
        returned, duration, pruned_step = returned.value, returned.duration_s, returned.pruned_step
    metrics = None
    try:
        read = objectives.read(returned)
        metrics = objectives.measure(returned)
    except TrialValueError as error:
        if pruned_step is None:
            return Trial(number, params, None, FAILED, str(error), duration, job_dir)
        read = None  # a pruned trial may return nothing: its curve says how far it got
    status = OK if pruned_step is None else PRUNED
    if isinstance(read, list):
        return Trial(number, params, None, status, None, duration, job_dir, values=read, metrics=metrics)
    return Trial(number, params, read, status, None, duration, job_dir, metrics=metrics)


def _job_dir(ret: JobReturn) -> Optional[str]:
    try:
        return str(ret.hydra_cfg.hydra.runtime.output_dir)
    except Exception:  # a launcher that fills no hydra_cfg: the record just has no job dir
        return None
