"""Learning curves and early stopping: ``report(step, value)`` inside a trial, and the rules.

In the trial's process. A trial calls :func:`report` at each step (an epoch); the step and
value are appended to the trial's curve (:mod:`..records.curves`). Then the sweep's rule (``hydra.sweeper.pruner`` in the job's own Hydra
config) looks at every trial's curve in the sweep dir and :class:`TrialPruned` is raised when
it says stop. The sweep dir is the store every launcher's jobs can reach (joblib, Ray and
submitit alike). Outside a multirun of this sweeper, :func:`report` records nothing and never
prunes.

The rules are pure functions of the curves and of which trials completed (:func:`should_prune`):
asynchronous successive halving, the median rule and Hyperband (brackets of successive halving);
and of the trial's stop plan for the forecast rule (:func:`forecast_stop`; the sweeper writes
the plan from its model of the curves before it launches the trial). Values are compared in the sweep's direction; a curve's value at a
step is the best it reported up to that step, as a trial's result is its best epoch.

The sweeper validates the settings before any launch (:func:`..settings.check_pruner`).
Nothing here imports torch, Lightning or skopt.
"""
from __future__ import annotations

import json
import logging
import math
import numbers
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, List, Mapping, Optional, Sequence

from ..records.curves import Curve, append_point, curve_path, full_steps, read_curve, read_curves, value_at
from ..records.forecasts import Check, earlier_curve, forecast, read_continuation, read_plan
from ..records.journal import read_trials
from ..records.sweep_dir import PAUSED_CHECKPOINT, SweepDir
from ..settings import PrunerConf, check_pruner

log = logging.getLogger(__name__)


class TrialPruned(Exception):
    """Raised by :func:`report` when the sweep's rule stops this trial; let it propagate (or
    stop training and return): the trial is recorded as pruned, not failed.

    ``checkpoint``: where to save the trial's state before it ends, so that the sweep can
    continue it later (``paused.ckpt`` in its job dir); None unless the app called
    :func:`resume_checkpoint` and the sweep pauses trials (:func:`pause_checkpoint`)."""

    def __init__(self, message: str, checkpoint: Optional[str] = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


@dataclass(frozen=True)
class Pruner:
    """A rule and its settings, as ``hydra.sweeper.pruner`` gives them."""

    rule: str
    min_steps: int = PrunerConf.min_steps
    reduction_factor: int = PrunerConf.reduction_factor
    warmup_steps: int = PrunerConf.warmup_steps
    min_trials: int = PrunerConf.min_trials
    max_steps: Optional[int] = PrunerConf.max_steps
    p_stop: float = PrunerConf.p_stop
    p_resume: Optional[float] = PrunerConf.p_resume

    @classmethod
    def from_config(cls, config: Optional[Mapping[str, Any]]) -> Optional["Pruner"]:
        """The pruner ``hydra.sweeper.pruner`` describes (None, or a null rule: off), checked;
        raises ``ValueError`` naming the field, the value and what is allowed. Each rule reads
        its own settings and ignores the other rule's (:func:`..settings.check_pruner`)."""
        values = check_pruner(config)
        return None if values is None else cls(**values)

    def rungs(self, up_to: int, bracket: int = 0) -> List[int]:
        """Successive halving's rung steps, ``min_steps * reduction_factor**(bracket + k)``, up
        to a step."""
        steps, step = [], self.min_steps * self.reduction_factor ** bracket
        while step <= up_to:
            steps.append(step)
            step *= self.reduction_factor
        return steps

    def brackets(self, full_steps: int) -> List[int]:
        """Hyperband's brackets for trials of ``full_steps`` steps: each bracket's share of
        the trials, bracket ``b`` starting its rungs at ``min_steps * reduction_factor**b``, the
        last one with no rung before the end (its trials are never stopped). Each bracket
        gets Hyperband's own count, ``ceil(n / (s + 1)) * reduction_factor**s`` with ``s = n - 1
        - b``, so that every bracket spends about the same steps."""
        n = 1
        while self.min_steps * self.reduction_factor ** (n - 1) < full_steps:
            n += 1
        return [math.ceil(n / (n - b)) * self.reduction_factor ** (n - 1 - b) for b in range(n)]


# -- the rules (pure) ------------------------------------------------------------------------------


def should_prune(pruner: Pruner, curves: Mapping[int, Curve], trial: int, maximize: bool,
                 completed: Collection[int] = ()) -> bool:
    """Whether ``trial``, whose curve ends at its latest report, stops now; ``completed``: the
    trials that ran to their end (not stopped, not failed).

    ``successive_halving``: when the trial's latest report is its first at or past a rung
    (``min_steps * reduction_factor**k``), it goes on only if its value there is among the best
    ``floor(n / reduction_factor)`` (at least one) of the ``n`` trials that reached that rung,
    itself included, once ``n >= min_trials``. ``median``: from ``warmup_steps`` on, it
    stops when its value is worse than the median of the other trials' values at the same
    step, once ``min_trials`` other trials have reached that step. ``hyperband``: the trial's
    bracket (:func:`hyperband_bracket`) runs successive halving among its own trials, from
    its own first rung; a full trial's steps are ``max_steps``, or else the longest curve of a
    completed trial (before one completed, no trial stops).
    """
    curve = curves.get(trial) or []
    if not curve:
        return False
    step = curve[-1][0]
    if pruner.rule == "hyperband":
        full = full_steps(curves, completed, pruner.max_steps)
        if not full:
            return False
        shares = pruner.brackets(full)
        bracket = hyperband_bracket(trial, shares)
        mates = {n: c for n, c in curves.items() if hyperband_bracket(n, shares) == bracket}
        return _halving(pruner, mates, curve, maximize, bracket)
    if pruner.rule == "median":
        if step < pruner.warmup_steps:
            return False
        others = [v for n, c in curves.items() if n != trial for v in [value_at(c, step, maximize)] if v is not None]
        if len(others) < pruner.min_trials:
            return False
        mine = value_at(curve, step, maximize)
        median = _median(others)
        return mine < median if maximize else mine > median
    return _halving(pruner, curves, curve, maximize, 0)


def _halving(pruner: Pruner, curves: Mapping[int, Curve], curve: Curve, maximize: bool, bracket: int) -> bool:
    """Successive halving at the rungs of ``bracket`` that the curve's latest report crossed."""
    step = curve[-1][0]
    previous = curve[-2][0] if len(curve) > 1 else -1
    crossed = [rung for rung in pruner.rungs(step, bracket) if rung > previous]
    for rung in crossed:
        at_rung = [v for c in curves.values() for v in [value_at(c, rung, maximize)] if v is not None]
        if len(at_rung) < pruner.min_trials:
            continue
        mine = value_at(curve, rung, maximize)
        ranked = sorted(at_rung, reverse=maximize)
        keep = max(1, len(ranked) // pruner.reduction_factor)
        threshold = ranked[keep - 1]
        if (mine < threshold) if maximize else (mine > threshold):
            return True
    return False


def forecast_stop(plan: Sequence[Check], curve: Curve, maximize: bool) -> Optional[float]:
    """The ``forecast`` rule: the forecast final loss when the trial stops now, else None.

    At each check of the plan (:mod:`..records.forecasts`) whose step the curve's latest report
    crossed, the forecast is ``intercept + sum(weights * own)``, ``own`` being the curve's best
    loss up to each of the check's ``own_steps`` (its best value, negated when the sweep
    maximises); the trial stops at the first check whose forecast is above its ``limit``.
    """
    if not curve:
        return None
    previous = curve[-2][0] if len(curve) > 1 else -1
    for check in plan:
        if previous < check.step <= curve[-1][0]:
            final = forecast(check, curve, maximize)
            if final is not None and final > check.limit:
                return final
    return None


def hyperband_bracket(trial: int, shares: Sequence[int]) -> int:
    """The bracket of trial number ``trial``: the brackets take turns within each round of
    ``sum(shares)`` trials, each as often as its share, spread out (smooth weighted round
    robin), so that the first trials of a sweep already reach every bracket."""
    position = trial % sum(shares)
    current = [0] * len(shares)
    for _ in range(position + 1):
        current = [c + s for c, s in zip(current, shares)]
        chosen = max(range(len(shares)), key=lambda b: current[b])
        current[chosen] -= sum(shares)
    return chosen


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


# -- report(), in the trial -------------------------------------------------------------------------


@dataclass
class _Trial:
    sweep_dir: Path
    number: int
    pruner: Optional[Pruner]
    maximize: bool
    job_dir: Path


# the trial running in this process: the step it was pruned at, and whether the app can resume
# it from a checkpoint (a process runs one trial at a time; joblib's workers run many in turn,
# so task.TimedTask resets these per trial)
_pruned_at: Optional[int] = None
_resumable = False


def start_trial() -> None:
    """Forget any earlier trial's pruning (called by ``task.TimedTask`` before each trial)."""
    global _pruned_at, _resumable
    _pruned_at = None
    _resumable = False


def resume_checkpoint() -> Optional[str]:
    """The checkpoint this trial resumes from, or None to start afresh; calling it tells the
    sweep that the app can be paused and continued (freeze-thaw).

    With ``hydra.sweeper.pruner.rule=forecast`` and ``p_resume`` set, a trial whose app called
    this is paused rather than ended when the rule stops it: it saves its state (the Lightning ``PruningCallback``
    does, to ``paused.ckpt`` in its job dir; another app saves to :attr:`TrialPruned.checkpoint`),
    and when the model of the curves later gives it a good chance to end best, the sweep
    launches a job with the same params that starts from that checkpoint. Pass the result to
    Lightning as ``trainer.fit(model, datamodule, ckpt_path=resume_checkpoint())``. Outside a
    multirun of this sweeper, and for a new trial, it returns None.
    """
    global _resumable
    trial = _current_trial()
    if trial is None:
        return None
    _resumable = True
    continuation = read_continuation(trial.sweep_dir, trial.number)
    if continuation is None:
        return None
    # Lightning's ModelCheckpoint keeps no best score across job dirs and says so; the sweep
    # records a continued trial's best over its whole curve instead (docs: pruning.md)
    warnings.filterwarnings("ignore", message="The dirpath has changed from")
    return continuation.checkpoint


def pause_checkpoint() -> Optional[str]:
    """Where this trial saves its state when the ``forecast`` rule stops it, so that the sweep
    can continue it later; None unless the app called :func:`resume_checkpoint` and the sweep
    continues paused trials (``pruner.p_resume`` set; the other rules never continue one)."""
    if not _resumable:
        return None
    trial = _current_trial()
    if trial is None or trial.pruner is None or trial.pruner.rule != "forecast" or trial.pruner.p_resume is None:
        return None
    return str(trial.job_dir / PAUSED_CHECKPOINT)


def pruned_step() -> Optional[int]:
    """The step at which this process's trial was pruned, or None."""
    return _pruned_at


def report(step: int, value: float) -> None:
    """Record ``value`` at ``step`` in this trial's curve; raise :class:`TrialPruned` when the
    sweep's rule says this trial stops.

    Call it once per step (an epoch) with steps that increase. Outside a multirun of this
    sweeper it records nothing and never prunes.

    Raises
    ------
    TrialPruned
        The rule stopped the trial (it is recorded as pruned at ``step``).
    ValueError
        ``value`` is not a finite number, or ``step`` is not an integer above the last one.
    """
    global _pruned_at
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"report(step={step!r}): the step must be an integer >= 0")
    step = int(step)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"report(step={step}, value={value!r}): the value must be a number") from None
    if not math.isfinite(number):
        raise ValueError(f"report(step={step}, value={number}): the value must be finite")
    trial = _current_trial()
    if trial is None:
        return
    path = curve_path(trial.sweep_dir, trial.number)
    # a continued trial's curve goes on from the paused trials' it continues
    curve = earlier_curve(trial.sweep_dir, trial.number) + read_curve(path)
    if curve and step <= curve[-1][0]:
        continued = read_continuation(trial.sweep_dir, trial.number)
        raise ValueError(f"report(step={step}): the steps must increase; trial #{trial.number} "
                         + (f"already reported step {curve[-1][0]}" if continued is None else
                            f"continues #{continued.trial}, which reported up to step {curve[-1][0]}: "
                            "load resume_checkpoint() and go on from the step after it"))
    append_point(path, step, number)
    if trial.pruner is None:
        return
    if trial.pruner.rule == "forecast":  # the sweeper wrote this trial's plan before launching it
        final = forecast_stop(read_plan(trial.sweep_dir, trial.number), curve + [(step, number)], trial.maximize)
        if final is not None:
            _pruned_at = step
            checkpoint = pause_checkpoint()
            raise TrialPruned(f"trial #{trial.number} {'paused' if checkpoint else 'pruned'} at step {step} by "
                              f"the forecast rule (its forecast final value {-final if trial.maximize else final:.6g} "
                              "has too small a chance to beat the best completed trial)", checkpoint)
        return
    curves = read_curves(trial.sweep_dir)
    curves[trial.number] = curve + [(step, number)]
    if should_prune(trial.pruner, curves, trial.number, trial.maximize, _completed(trial)):
        _pruned_at = step
        raise TrialPruned(f"trial #{trial.number} pruned at step {step} by the {trial.pruner.rule} rule")


def _completed(trial: _Trial) -> List[int]:
    """The numbers of the sweep's trials that ran to their end, for the rules that need them."""
    if trial.pruner is None or trial.pruner.rule != "hyperband" or trial.pruner.max_steps:
        return []
    return [t.number for t in read_trials(SweepDir(trial.sweep_dir).journal) if t.ok]


def _current_trial() -> Optional[_Trial]:
    """This job's trial, when it runs in a multirun of this sweeper; else None."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    sweeper = hydra_cfg.get("sweeper") or {}
    if hydra_cfg.mode != RunMode.MULTIRUN or not str(sweeper.get("_target_", "")).endswith(".SkoptSweeper"):
        return None
    sweep_dir = Path(hydra_cfg.sweep.dir)
    if not sweep_dir.is_absolute():  # relative to where the sweep was started, not the job's cwd
        sweep_dir = Path(hydra_cfg.runtime.cwd) / sweep_dir
    from omegaconf import OmegaConf

    pruner_config = sweeper.get("pruner")
    if OmegaConf.is_config(pruner_config):
        pruner_config = OmegaConf.to_container(pruner_config, resolve=True)
    maximize = _maximize(sweep_dir)
    if maximize is None:  # several objectives: the curves are recorded, no trial is pruned
        pruner_config = None
    return _Trial(sweep_dir, int(hydra_cfg.job.num), Pruner.from_config(pruner_config), bool(maximize),
                  Path(hydra_cfg.runtime.output_dir))


def _maximize(sweep_dir: Path) -> Optional[bool]:
    """The sweep's direction as the sweeper resolved it (an Optuna-style direction included);
    None for a sweep of several objectives."""
    try:
        maximize = json.loads(SweepDir(sweep_dir).space.read_text()).get("maximize")
    except (OSError, ValueError):
        return False
    return None if isinstance(maximize, list) else bool(maximize)
