"""What a sweep dir says about its sweep, read from the directory alone.

It owns :class:`SweepRecord` and :func:`load_sweep`: the journal's trials (a torn last line
skipped), the search space, the objectives and their directions, the metric constraints, the
results and the sweeper's resolved settings (``multirun.yaml``). The pictures
(:mod:`.pictures`), the model refitted for them (:mod:`.surface`), the importance
(:mod:`.importance`), ``skopt-report`` and the report page all start from it. A finished
sweep, a running one and a killed one are read alike; any piece may be missing.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..errors import SweeperConfigError
from ..problem.metrics import MetricConstraints
from ..problem.objectives import Objectives
from ..records.curves import StepSpending, step_spending, whole_curves
from ..records.journal import Trial, best_trial, read_trials
from ..records.sweep_dir import SweepDir
from .solutions import Front

log = logging.getLogger(__name__)


@dataclass
class SweepRecord:
    """What a sweep dir says about its sweep; any piece may be missing while it runs."""

    sweep_dir: Path
    trials: List[Trial]
    space: Optional[Any] = None  # SearchSpace, or None before search_space.json exists
    maximize: bool = False
    objective_name: str = "objective"
    n_calls: Optional[int] = None
    results: Dict[str, Any] = field(default_factory=dict)
    sweeper: Dict[str, Any] = field(default_factory=dict)  # multirun.yaml's hydra.sweeper
    objectives: Objectives = field(default_factory=Objectives)
    # hydra.sweeper.metric_constraints, compiled; None when the sweep has none
    constraints: Optional[MetricConstraints] = None

    @property
    def several(self) -> bool:
        return self.objectives.several

    @property
    def exhausted(self) -> bool:
        """The sweep ended before ``n_calls`` because every allowed point had been tried."""
        return self.results.get("exhausted") is True

    @property
    def spending(self) -> StepSpending:
        """Where the trials' reported steps went (:func:`..records.curves.step_spending`)."""
        return step_spending(whole_curves(self.sweep_dir, self.trials), [t.number for t in self.trials if t.ok],
                             [t.number for t in self.trials if t.pruned])

    @property
    def step_budget(self) -> Optional[int]:
        """The sweep's ``step_budget`` as its results recorded it; None without one."""
        budget = (self.results.get("steps") or {}).get("budget")
        return budget if isinstance(budget, int) else None

    @property
    def budget_spent(self) -> bool:
        """The trials reported the sweep's ``step_budget`` steps: it launched no more."""
        return self.step_budget is not None and self.spending.spent >= self.step_budget

    @property
    def complete(self) -> bool:
        """The sweep ran all its trials, every allowed point, or its step budget (it is not to
        be resumed)."""
        return self.n_calls is None or len(self.trials) >= self.n_calls or self.exhausted or self.budget_spent

    def feasible(self, trial: Trial) -> bool:
        """Whether a trial satisfied the metric constraints (every trial, without any)."""
        return self.constraints is None or self.constraints.feasible(trial.metrics)

    @property
    def infeasible(self) -> List[Trial]:
        """The completed trials that broke the metric constraints."""
        return [t for t in self.trials if t.ok and not self.feasible(t)]

    @property
    def finished(self) -> List[Trial]:
        return [t for t in self.trials if usable(t)]

    @property
    def n_failed(self) -> int:
        return sum(1 for t in self.trials if t.failed)

    @property
    def n_pruned(self) -> int:
        return sum(1 for t in self.trials if t.pruned)

    @property
    def continued(self) -> Dict[int, int]:
        """The paused trials that a later trial continued: paused trial -> its continuation."""
        return {t.continues: t.number for t in self.trials if t.continues is not None}

    @property
    def n_batches(self) -> int:
        """How many distinct launches (batch numbers) the journal's trials carry."""
        return len({t.batch for t in self.trials if t.batch is not None})

    def best(self) -> Optional[Trial]:
        """The best completed trial (the best feasible one, with metric constraints)."""
        return best_trial(self.trials, self.maximize, None if self.constraints is None else self.feasible)

    def front(self) -> Front:
        """The Pareto front of the completed (feasible) trials (several objectives), measured
        from the sweep's ``reference_point`` when it set a usable one."""
        return Front.of([t for t in self.trials if self.feasible(t)], self.objectives, self._reference_point())

    def _reference_point(self) -> Optional[List[float]]:
        reference = self.sweeper.get("reference_point")
        if reference is None:
            return None
        if (not isinstance(reference, list) or len(reference) != self.objectives.count
                or not all(is_finite_number(v) for v in reference)):
            log.warning("hydra.sweeper.reference_point=%r: not one finite number per objective; "
                        "inferring the reference point from the trials instead", reference)
            return None
        return [float(v) for v in reference]


def load_sweep(sweep_dir: Path) -> SweepRecord:
    """Read a sweep dir: journal (a torn last line is skipped), space, direction, labels."""
    sweep_dir = Path(sweep_dir)
    files = SweepDir(sweep_dir)
    trials = sorted(read_trials(files.journal), key=lambda t: t.number)
    record = SweepRecord(sweep_dir=sweep_dir, trials=trials)

    results = _read_yaml(files.results)
    record.results = results if isinstance(results, dict) else {}
    sweeper: Dict[str, Any] = {}
    multirun = _read_yaml(files.multirun)
    if isinstance(multirun, dict):
        sweeper = _resolved_sweeper(multirun)
    record.sweeper = dict(sweeper)

    maximize: Any = None
    described_monitor: Any = None
    space_file = files.space
    if space_file.is_file():
        try:
            described = json.loads(space_file.read_text(encoding="utf-8"))
            from ..problem.search_space import SearchSpace

            record.space = SearchSpace.from_description(described.get("params", {}))
            maximize = described.get("maximize")
            described_monitor = described.get("monitor")
            sweeper = {**sweeper, **({"n_calls": described["n_calls"]} if "n_calls" in described else {})}
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("%s: unreadable (%s); drawing without the search space", space_file, error)
    if maximize is None:
        maximize = record.results.get("maximize", sweeper.get("maximize"))
    n_calls = sweeper.get("n_calls")
    if isinstance(n_calls, int) and not isinstance(n_calls, bool):
        record.n_calls = n_calls
    record.objectives = _objectives(maximize, [described_monitor, sweeper.get("monitor")], trials)
    record.constraints = _constraints(sweeper.get("metric_constraints"), record.space)
    if record.several:
        record.maximize = record.objectives.maximize[0]
        return record
    record.maximize = bool(maximize[0] if isinstance(maximize, list) and len(maximize) == 1 else maximize)
    # the name of what the trials return: the sweeper's monitor key, else the app's own
    # top-level `monitor` (a Lightning convention, e.g. the example app's val_loss) or
    # `optimized_metric` (lightning-hydra-template's)
    monitor = sweeper.get("monitor")
    for key in ("monitor", "optimized_metric"):
        if not (isinstance(monitor, str) and monitor) and isinstance(multirun, dict):
            monitor = multirun.get(key)
    if isinstance(monitor, str) and monitor and "${" not in monitor:
        record.objective_name = monitor
    return record


def _objectives(maximize: Any, monitors: Sequence[Any], trials: Sequence[Trial]) -> Objectives:
    """The sweep's objectives from its directions (a list of them: several objectives) and the
    first list of monitor keys among ``monitors``; a journal whose trials hold several values
    without a list of directions is read as minimising each."""
    names = next((m for m in monitors if isinstance(m, list)), None)
    if not isinstance(maximize, list):
        counts = {len(t.values) for t in trials if t.values is not None}
        if len(counts) != 1 or max(counts) < 2:
            return Objectives()
        log.warning("the sweep dir names no direction for its %d objectives: drawn as minimised", max(counts))
        maximize = [False] * max(counts)
    try:
        return Objectives.of(names if names is not None and len(names) == len(maximize) else None,
                             [bool(m) for m in maximize])
    except SweeperConfigError:  # an empty list, or keys that are not strings: labelled by position
        return Objectives.of(None, [bool(m) for m in maximize]) if maximize else Objectives()


def _constraints(specs: Any, space: Any) -> Optional[MetricConstraints]:
    """The sweep's ``metric_constraints`` compiled, or None when it has none or they cannot
    be read (then every trial is drawn as feasible, with a warning)."""
    if not specs:
        return None
    try:
        return MetricConstraints([str(spec) for spec in specs], [p.name for p in space.params] if space else ())
    except (SweeperConfigError, TypeError) as error:
        log.warning("%s; drawing every trial as feasible", error)
        return None


def _resolved_sweeper(multirun: Dict[str, Any]) -> Dict[str, Any]:
    """``hydra.sweeper`` of a saved multirun.yaml, each field's interpolations resolved against
    the saved config where they can be (``monitor: ${optimized_metric}``), else left out."""
    from omegaconf import OmegaConf

    config = OmegaConf.create(multirun)
    node = OmegaConf.select(config, "hydra.sweeper")
    if node is None or not OmegaConf.is_dict(node):
        return {}
    sweeper: Dict[str, Any] = {}
    for key in node:
        try:
            value = node[key]
            sweeper[str(key)] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        except Exception:  # e.g. ${hydra:...} needs a running Hydra: that field is unknown here
            continue
    return sweeper


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        import yaml

        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as error:  # a half-written or hand-edited file: labels only, carry on
        log.debug("%s: unreadable (%s)", path, error)
        return None


def usable(trial: Trial) -> bool:
    """Completed with a finite value, or (several objectives) finite values."""
    if trial.values is not None:
        return trial.ok and all(is_finite_number(v) for v in trial.values)
    return trial.ok and trial.value is not None and math.isfinite(trial.value)


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def direction_word(maximize: bool) -> str:
    return "maximised" if maximize else "minimised"

