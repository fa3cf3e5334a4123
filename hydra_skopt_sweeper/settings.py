"""The sweeper's settings: their schema, closed choices, defaults and range checks.

The one definition of ``hydra.sweeper``'s fields. The shim (``hydra_plugins/.../config.py``)
only registers :class:`SkoptSweeperConf` with Hydra's ConfigStore as ``hydra/sweeper=skopt_gp``;
the sweep loop receives an instance of it. OmegaConf checks each field's type, and each closed
choice against its Enum, when Hydra composes the config (naming the field, the value and what
is allowed); :func:`check_settings` checks the ranges and the fields that depend on one
another. The modules that take a closed choice (the proposer, the pruner) read its allowed
values from the Enums here.
"""
import dataclasses
import logging
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type

from .errors import SweeperConfigError

log = logging.getLogger(__name__)

# where a device pool's override puts the device a trial holds
DEVICE_FIELD = "{device}"


class AcqFunc(StrEnum):
    EI = "EI"
    PI = "PI"
    LCB = "LCB"
    gp_hedge = "gp_hedge"


class AcqOptimizer(StrEnum):
    auto = "auto"
    lbfgs = "lbfgs"
    sampling = "sampling"


class BaseEstimator(StrEnum):
    GP = "GP"
    RF = "RF"
    ET = "ET"


class BatchStrategy(StrEnum):
    fantasies = "fantasies"
    kb_ucb = "kb_ucb"
    cl_min = "cl_min"
    cl_mean = "cl_mean"
    cl_max = "cl_max"


class InitialPointGenerator(StrEnum):
    random = "random"
    sobol = "sobol"
    halton = "halton"
    hammersly = "hammersly"
    lhs = "lhs"
    grid = "grid"


class PrunerRule(StrEnum):
    successive_halving = "successive_halving"
    median = "median"
    hyperband = "hyperband"
    forecast = "forecast"


# built by name: "async" and "raise" are Python keywords
Scheduling = StrEnum("Scheduling", {"async": "async", "batch": "batch"})
OnFailure = StrEnum("OnFailure", {"penalize": "penalize", "skip": "skip", "raise": "raise"})


@dataclass
class PrunerConf:
    """``hydra.sweeper.pruner``: the rule that stops poor trials early (trials that call
    ``hydra_skopt_sweeper.report(step, value)`` or use the Lightning ``PruningCallback``)."""

    # the rule, or `null` (off: the curves are still recorded; see "Pruning")
    rule: Optional[PrunerRule] = PrunerRule.successive_halving
    # `successive_halving`: rungs at `min_steps * reduction_factor**k`; `hyperband`: brackets
    # of that rule whose first rungs are `min_steps * reduction_factor**b`; `forecast`: the
    # first step a trial may be stopped at
    min_steps: int = 4
    # `successive_halving` and `hyperband`: at each rung a trial goes on only if it is among
    # the best `floor(n / reduction_factor)` of the `n` trials that reached it
    reduction_factor: int = 3
    # hyperband: the steps of a full trial (the trainer's max_epochs); null: the longest curve
    # of a completed trial (no trial is stopped before one completed)
    max_steps: Optional[int] = None
    # median: a trial is compared from this step on with the other trials at the same step
    warmup_steps: int = 5
    # forecast: a trial stops once the model of the learning curves gives it less than this
    # chance to end below the best completed trial (checked from min_steps on, once min_trials
    # trials completed; max_steps as for hyperband)
    p_stop: float = 0.05
    # forecast: pause and resume (see "Pausing and resuming"): a trial the rule stops saves a
    # checkpoint (when its app calls resume_checkpoint()), and a paused trial is continued in
    # place of a new trial once the model gives it at least this chance to end below the best
    # completed trial, e.g. 0.2; null: off, no checkpoint is saved and no trial continued
    p_resume: Optional[float] = None
    # successive_halving and hyperband: a rung decides once this many trials (the trial itself
    # included; with hyperband, of its own bracket) have reached it; median: a step decides once this many other trials have reached it
    min_trials: int = 4


@dataclass
class SkoptSweeperConf:
    _target_: str = "hydra_plugins.hydra_skopt_sweeper.skopt_sweeper.SkoptSweeper"
    # the settings reach the sweeper as written: an Optuna sweeper's sampler (with its own
    # _target_) must not be built, optuna need not be installed
    _recursive_: bool = False
    # the Optuna sweeper's sampler group, empty unless a config keeps its
    # `override hydra/sweeper/sampler: tpe` line (the sampler is then named as ignored)
    defaults: List[Any] = field(default_factory=lambda: ["_self_", {"sampler": None}])

    # the search space: name -> Hydra sweep syntax (`interval`, `range`, `choice`,
    # `tag(log, ...)`) or a mapping `{type: real|int|categorical, low, high, prior, choices}`
    # (see "Search space")
    params: Dict[str, Any] = field(default_factory=dict)

    # total trials, the initial ones and failed ones included
    n_calls: int = 50
    # total steps (epochs) the trials may report (`report()` or the Lightning
    # `PruningCallback`), all trials together: once spent, no trial is launched (the running
    # ones finish); with `n_calls`, whichever comes first ends the sweep; `null`: no budget in
    # steps (see "Pruning")
    step_budget: Optional[int] = None
    # space-filling trials before the GP is used (more than `n_calls` is capped to it, with a
    # log line)
    n_initial_points: int = 10
    # the initial design; with a generated design each categorical still takes each of its
    # options equally often, in a shuffled order (`grid` keeps its own product of options)
    initial_point_generator: InitialPointGenerator = InitialPointGenerator.sobol
    # draw the pictures and `report.html` while the sweep runs and at its end, in a separate
    # process off the sweep's path; `false`: none (`skopt-report` draws them from the sweep
    # dir at any time; see "Pictures and the report page")
    plots: bool = True

    # trials running at once; `null`: the number of `devices` when set, else the launcher's
    # `n_jobs` when it has one (-1: all cores), else 1
    batch_size: Optional[int] = None
    # `async`: each of the `batch_size` slots gets its next trial as soon as its trial
    # returns; `batch`: `batch_size` trials are launched together and all return before the
    # next batch (Hydra's basic launcher runs jobs in this process: `async` falls back to
    # `batch` there; see "Scheduling and devices")
    scheduling: Scheduling = Scheduling["async"]
    # a device pool for one machine with several GPUs, e.g. `[0, 1, 2, 3]`: each running trial
    # holds one device, never two trials the same; `null`: no pool
    devices: Optional[List[Any]] = None
    # the override a trial receives with the device it holds (`{device}`)
    device_override: str = "trainer.devices=[{device}]"
    # stops poor trials early, for trials that call `report()` or use the Lightning
    # `PruningCallback` (the fields below); `null`: never prune
    pruner: Optional[PrunerConf] = field(default_factory=PrunerConf)
    # how a batch's later points account for its earlier ones, whose losses are unknown:
    # `fantasies` (EI averaged over joint draws of their outcomes: the batch's joint EI), or
    # one lie each: `kb_ucb` (the GP's upper confidence bound there), a constant liar
    # `cl_min`, `cl_mean`, `cl_max`; late in the budget all but the first point of a batch are
    # chosen near the best point so far (the numbers are policy.Policy's: n_fantasies,
    # local_from, local_radius)
    batch_strategy: BatchStrategy = BatchStrategy.fantasies

    # the acquisition function
    acq_func: AcqFunc = AcqFunc.EI
    # how the acquisition function is optimised
    acq_optimizer: AcqOptimizer = AcqOptimizer.auto
    # the surrogate model (scikit-optimize's `GBRT` and `dummy` are refused: broken on numpy
    # 2.4 / scikit-learn 1.9)
    base_estimator: BaseEstimator = BaseEstimator.GP

    # `true` when larger is better (accuracy); `null`: `false`, unless the Optuna sweeper's
    # `direction: maximize` says otherwise. Several objectives: a list, one per objective
    maximize: Any = None
    # the key to read when a trial returns a mapping (e.g. Lightning's `callback_metrics`);
    # several objectives: a list of keys (`[val_loss, n_params]`), or `null` when the trial
    # returns a list or tuple of values in the objectives' order (see "Objectives")
    monitor: Any = None
    # constraints on what each trial measured: inequalities over the keys of the mapping it
    # returns, e.g. `["n_params <= 1e6", "latency_ms < 20"]`; the best trial is the best
    # feasible one (see "Metric constraints")
    metric_constraints: List[str] = field(default_factory=list)
    # several objectives: the point (one value per objective, in its own units and
    # direction) the hypervolume is measured from; `null`: inferred from the trials
    reference_point: Optional[List[float]] = None
    # an expression over the params (`"hidden_size % 32 == 0 and lr <= 0.01"`) or a dotted
    # path to a callable taking the params dict and returning a bool; a point that breaks it
    # is never launched (see "Search space and constraints")
    constraint: Optional[str] = None

    # what a failed trial tells the GP: `penalize` (the worst value seen), `skip` (nothing),
    # or `raise` (stop the sweep)
    on_failure: OnFailure = OnFailure.penalize
    # stop with an error after this many failed trials
    max_failures: Optional[int] = None

    # the seed: the same seed and the same results give the same proposals
    random_state: Optional[int] = None
    # continue from `trials.jsonl` in the sweep dir when one is there (see "Failures and resume")
    resume: bool = True
    # earlier `trials.jsonl` files whose trials seed the GP
    warm_start: List[str] = field(default_factory=list)

    # Hydra's Optuna sweeper's keys, so that its config files run here too (see "Coming from
    # the Optuna sweeper"): `direction` -> `maximize`, `n_trials` -> `n_calls`, `n_jobs` ->
    # `batch_size`, `sampler.seed` -> `random_state`, `sampler.n_startup_trials` ->
    # `n_initial_points`, `max_failure_rate` -> `max_failures`; `storage`, `study_name` and
    # `experiment_sequence` are ignored
    direction: Any = None
    n_trials: Optional[int] = None
    n_jobs: Optional[int] = None
    sampler: Optional[Dict[str, Any]] = None
    max_failure_rate: Optional[float] = None
    storage: Any = None
    study_name: Optional[str] = None
    search_space: Optional[Dict[str, Any]] = None
    custom_search_space: Optional[str] = None
    experiment_sequence: Optional[str] = None


def choices(enum: Type[StrEnum]) -> Tuple[str, ...]:
    """A closed choice's allowed values, in the schema's order."""
    return tuple(member.value for member in enum)


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
    for name in ("batch_size", "max_failures", "step_budget"):
        if getattr(settings, name) is not None:
            _require_int(name, getattr(settings, name), minimum=1)
    if settings.random_state is not None:
        _require_int("random_state", settings.random_state, minimum=0, maximum=2**32 - 1)
    check_devices(settings.devices, settings.device_override, settings.batch_size)
    check_objectives(settings)
    try:
        check_pruner(dataclasses.asdict(settings.pruner) if settings.pruner is not None else None)
    except ValueError as error:
        raise SweeperConfigError(str(error)) from None


def check_objectives(settings: SkoptSweeperConf) -> None:
    """``monitor``, ``maximize`` and ``reference_point`` declare the objectives consistently;
    several objectives are searched by the GP's expected hypervolume improvement only."""
    # imported here: the plugin scanner imports this schema at every app start, and a trial's
    # process with it, and neither needs the objectives' reader
    from .problem.objectives import Objectives

    objectives = Objectives.of(settings.monitor, settings.maximize)
    reference = settings.reference_point
    if reference is not None:
        if not objectives.several:
            raise SweeperConfigError(
                f"hydra.sweeper.reference_point={list(reference)!r}: only a sweep of several objectives "
                "has one; declare them (hydra.sweeper.monitor or maximize as lists), or leave it out")
        if len(reference) != objectives.count:
            raise SweeperConfigError(
                f"hydra.sweeper.reference_point={list(reference)!r}: must have one value per objective "
                f"({objectives.count}: {', '.join(objectives.label(i) for i in range(objectives.count))}), "
                "each the worst value worth counting; leave it out to infer it from the trials")
        for value in reference:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise SweeperConfigError(
                    f"hydra.sweeper.reference_point={list(reference)!r}: each value must be a finite number")
    if objectives.several:
        if settings.base_estimator != BaseEstimator.GP:
            raise SweeperConfigError(
                f"hydra.sweeper.base_estimator={settings.base_estimator}: several objectives are "
                "searched with one GP each; use GP (the default)")
        if settings.acq_func != AcqFunc.EI:
            raise SweeperConfigError(
                f"hydra.sweeper.acq_func={settings.acq_func}: several objectives are searched by the "
                "expected improvement of the front's hypervolume; leave acq_func at EI")
        if settings.batch_strategy != BatchStrategy.fantasies:
            raise SweeperConfigError(
                f"hydra.sweeper.batch_strategy={settings.batch_strategy}: with several objectives the "
                "running trials' outcomes are always fantasised (drawn from the GPs); leave it at fantasies")


def check_pruner(config: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The pruner ``hydra.sweeper.pruner`` describes, as ``Pruner``'s keyword arguments (None,
    or a null rule: off), checked; raises ``ValueError`` naming the field, the value and what is
    allowed. Read in the sweeper before any launch, and in each job by ``report()``."""
    rules = choices(PrunerRule)
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise ValueError(f"hydra.sweeper.pruner={config!r}: must be a mapping with a rule "
                         f"({', '.join(rules)}), or null (off)")
    rule = config.get("rule")
    if rule is None:
        return None
    if rule not in rules:
        raise ValueError(f"hydra.sweeper.pruner.rule={rule!r}: must be one of {', '.join(rules)}, "
                         "or null (off)")
    minimums = {"min_steps": 1, "reduction_factor": 2, "warmup_steps": 0, "min_trials": 1, "max_steps": 1}
    values: Dict[str, Any] = {"rule": str(rule)}
    for key, minimum in minimums.items():
        value = config.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"hydra.sweeper.pruner.{key}={value!r}: must be an integer >= {minimum}")
        values[key] = value
    p_stop = config.get("p_stop")
    if p_stop is not None:
        if isinstance(p_stop, bool) or not isinstance(p_stop, (int, float)) or not 0 < p_stop < 0.5:
            raise ValueError(f"hydra.sweeper.pruner.p_stop={p_stop!r}: must be a number above 0 and below 0.5 "
                             "(the chance to end below the best under which a trial stops)")
        values["p_stop"] = float(p_stop)
    if "p_resume" in config:
        p_resume = config["p_resume"]
        if p_resume is not None and (isinstance(p_resume, bool) or not isinstance(p_resume, (int, float))
                                     or not 0 <= p_resume < 1):
            raise ValueError(f"hydra.sweeper.pruner.p_resume={p_resume!r}: must be a number from 0 to below 1 "
                             "(the chance to end below the best from which a paused trial is continued), "
                             "or null (paused trials are never continued)")
        values["p_resume"] = None if p_resume is None else float(p_resume)
    return values


def check_devices(devices: Any, template: Any, batch_size: Optional[int]) -> None:
    """Refuse a bad device pool up front, naming the field, the value and what is allowed."""
    if devices is None:
        return
    if not isinstance(devices, (list, tuple)) or not devices:
        raise SweeperConfigError(
            f"hydra.sweeper.devices={devices!r}: must be a non-empty list of device ids, e.g. "
            "[0, 1, 2, 3], or null (no device pool)"
        )
    for device in devices:
        if isinstance(device, bool) or not isinstance(device, (int, str)) or device == "":
            raise SweeperConfigError(
                f"hydra.sweeper.devices={list(devices)!r}: {device!r} is not a device id "
                "(an integer such as 0, or a name)"
            )
    repeated = sorted({str(d) for d in devices if list(devices).count(d) > 1})
    if repeated:
        raise SweeperConfigError(
            f"hydra.sweeper.devices={list(devices)!r}: {', '.join(repeated)} listed more than once; "
            "each device is held by one trial at a time"
        )
    if not isinstance(template, str) or DEVICE_FIELD not in template or "=" not in template:
        raise SweeperConfigError(
            f"hydra.sweeper.device_override={template!r}: must be an override with {DEVICE_FIELD} "
            "where the device goes, e.g. 'trainer.devices=[{device}]'"
        )
    if batch_size is not None and batch_size > len(devices):
        raise SweeperConfigError(
            f"hydra.sweeper.batch_size={batch_size}: must be <= the {len(devices)} device(s) in "
            f"hydra.sweeper.devices={list(devices)!r} (each running trial holds one)"
        )


def _require_int(name: str, value: Any, minimum: int, maximum: Optional[int] = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or (maximum is not None and value > maximum)):
        allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise SweeperConfigError(f"hydra.sweeper.{name}={value!r}: must be an integer {allowed}")
