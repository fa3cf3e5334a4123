"""A trial's stop plan in the sweep dir: what the ``forecast`` rule checks at which step.

The sweeper writes ``SWEEP_DIR/.forecasts/<job number>.json`` before it launches the job (from
its model of the learning curves, :mod:`..search.curve_model`); the job reads it at each
:func:`..trial.pruning.report` (:func:`..trial.pruning.forecast_stop` applies it). A plan is a
list of :class:`Check`; values are losses (negated when the sweep maximises). No plan (too few
trials completed when the job was launched, or an unreadable file): the rule never stops it.

A job that continues a paused trial (freeze-thaw) finds its :class:`Continuation` in the same
file: the trial it continues and the checkpoint to resume from. Its own curve file holds only
the steps after the pause; :func:`earlier_curve` gives the steps before it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .curves import Curve, read_curve, value_at
from .sweep_dir import SweepDir, atomic_write_text


@dataclass(frozen=True)
class Check:
    """One step of a stop plan: once the trial reports ``step``, the forecast of its loss at
    ``final_step`` is ``intercept`` plus ``weights`` times its own best-so-far losses at
    ``own_steps``, with standard deviation ``sd``; it stops when that forecast is above
    ``limit``."""

    step: int
    own_steps: Tuple[int, ...]
    weights: Tuple[float, ...]
    intercept: float
    limit: float
    sd: float
    final_step: int


def forecast(check: Check, curve: Curve, maximize: bool) -> Optional[float]:
    """The check's forecast final loss for a curve: ``intercept + sum(weights * own)``, ``own``
    being the curve's best loss up to each of the check's ``own_steps`` (its best value, negated
    when the sweep maximises); None while the curve has not reached the check's step."""
    own = [value_at(curve, s, maximize) for s in check.own_steps]
    if not curve or curve[-1][0] < check.step or any(v is None for v in own):
        return None
    losses = [-v if maximize else v for v in own]  # type: ignore[operator]
    return check.intercept + sum(w * v for w, v in zip(check.weights, losses))


def latest_check(plan: Sequence[Check], curve: Curve) -> Optional[Check]:
    """The last check of the plan the curve reached (None before the first)."""
    reached = [check for check in plan if curve and check.step <= curve[-1][0]]
    return reached[-1] if reached else None


def latest_forecast(plan: Sequence[Check], curve: Curve, maximize: bool) -> Optional[float]:
    """The forecast final loss of the last check the curve reached (None before the first)."""
    check = latest_check(plan, curve)
    return None if check is None else forecast(check, curve, maximize)


@dataclass(frozen=True)
class Continuation:
    """A job that continues paused trial ``trial`` from the ``checkpoint`` it saved."""

    trial: int
    checkpoint: str


def write_plan(sweep_dir: Path, number: int, checks: List[Check],
               continuation: Optional[Continuation] = None) -> Path:
    """Write job ``number``'s plan (whole, atomically), with what it continues, if anything."""
    record: dict = {"checks": [asdict(check) for check in checks]}
    if continuation is not None:
        record["continues"] = asdict(continuation)
    return atomic_write_text(SweepDir(sweep_dir).forecast(number), json.dumps(record))


def read_continuation(sweep_dir: Path, number: int) -> Optional[Continuation]:
    """What job ``number`` continues, or None (a new trial, or an unreadable plan)."""
    try:
        record = json.loads(SweepDir(sweep_dir).forecast(number).read_text(encoding="utf-8"))["continues"]
        return Continuation(int(record["trial"]), str(record["checkpoint"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def earlier_curve(sweep_dir: Path, number: int) -> Curve:
    """The steps job ``number``'s configuration reported before it (the paused trials it
    continues, earliest first); empty for a new trial."""
    earlier: Curve = []
    seen = {number}
    link = read_continuation(sweep_dir, number)
    while link is not None and link.trial not in seen:
        seen.add(link.trial)
        earlier = read_curve(SweepDir(sweep_dir).curve(link.trial)) + earlier
        link = read_continuation(sweep_dir, link.trial)
    return earlier


def read_plan(sweep_dir: Path, number: int) -> List[Check]:
    """Job ``number``'s plan; empty when there is none or it cannot be read."""
    try:
        record = json.loads(SweepDir(sweep_dir).forecast(number).read_text(encoding="utf-8"))
        return [Check(int(c["step"]), tuple(int(s) for s in c["own_steps"]), tuple(float(w) for w in c["weights"]),
                      float(c["intercept"]), float(c["limit"]), float(c["sd"]), int(c["final_step"]))
                for c in record["checks"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
