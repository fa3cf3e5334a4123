"""A trial's learning curve in the sweep dir: written, read, and its best value up to a step.

Each trial's curve is ``SWEEP_DIR/.curves/<job number>.jsonl``, a line ``{"step", "value"}``
per :func:`..trial.pruning.report` call: one file per trial, so concurrent jobs never write the
same file; appended, flushed and fsynced; a torn last line is skipped when read. The trial
writes it, the pruning rule and the sweeper's record read it, and the pictures draw it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Dict, Iterable, List, Mapping, Optional, Tuple

from .journal import Trial, append_lines
from .sweep_dir import SweepDir

Curve = List[Tuple[int, float]]


def value_at(curve: Curve, step: int, maximize: bool) -> Optional[float]:
    """The best value a curve reported up to ``step``; None if it never reached the step."""
    if not curve or curve[-1][0] < step:
        return None
    values = [v for s, v in curve if s <= step]
    if not values:
        return None
    return max(values) if maximize else min(values)


def curve_path(sweep_dir: Path, number: int) -> Path:
    return SweepDir(sweep_dir).curve(number)


def append_point(path: Path, step: int, value: float) -> None:
    """Append one point to a curve file, flushed and fsynced, on a line of its own."""
    append_lines(path, json.dumps({"step": step, "value": value}) + "\n")


def read_curve(path: Path) -> Curve:
    """A curve's whole points, in the order reported; torn or unreadable lines are skipped."""
    points: Curve = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return points
    for line in text.splitlines():
        try:
            record = json.loads(line)
            points.append((int(record["step"]), float(record["value"])))
        except (ValueError, KeyError, TypeError):
            continue
    return points


def read_curves(sweep_dir: Path) -> Dict[int, Curve]:
    """Every trial's curve in a sweep dir, by job number (those with no point left out)."""
    folder = SweepDir(sweep_dir).curves
    curves: Dict[int, Curve] = {}
    if folder.is_dir():
        for path in folder.glob("*.jsonl"):
            if path.stem.isdigit():
                curve = read_curve(path)
                if curve:
                    curves[int(path.stem)] = curve
    return curves


def continued_curves(curves: Mapping[int, Curve], continues: Mapping[int, int]) -> Dict[int, Curve]:
    """Each configuration's whole curve, under the number of the last trial that trained it:
    a trial that continues a paused one (``continues``: its number -> the paused trial's)
    reports only the steps after the pause, so its whole curve is the paused trial's followed
    by its own, and the paused trial no longer stands alone. Without continuations, the
    curves as they are."""
    continued = set(continues.values())
    merged: Dict[int, Curve] = {}
    for number in set(curves) | set(continues):
        if number in continued:
            continue
        whole: Curve = []
        link: Optional[int] = number
        seen = set()
        while link is not None and link not in seen:  # a torn journal must not loop forever
            seen.add(link)
            whole = list(curves.get(link, [])) + whole
            link = continues.get(link)
        if whole:
            merged[number] = whole
    return merged


def whole_curves(sweep_dir: Path, trials: Iterable[Trial], running: Mapping[int, int] = {}) -> Dict[int, Curve]:
    """:func:`continued_curves` of a sweep dir: the continuations are the journal's trials'
    (``continues``) and ``running`` (a running job's number -> the paused trial it continues)."""
    continues = {t.number: t.continues for t in trials if t.continues is not None}
    continues.update(running)
    return continued_curves(read_curves(sweep_dir), continues)


def full_steps(curves: Mapping[int, Curve], completed: Collection[int], max_steps: Optional[int] = None) -> int:
    """The steps of a full trial: ``max_steps`` when given, else one past the last step of the
    longest completed curve (0 while no completed trial has one)."""
    return max_steps or max((curves[n][-1][0] + 1 for n in completed if curves.get(n)), default=0)


@dataclass(frozen=True)
class StepSpending:
    """Where a sweep's steps went: ``spent`` reported by all trials, ``full`` by those that ran
    to their end, ``stopped`` by the pruned ones; ``saved``: the steps the pruned trials did
    not run, each counted up to ``full_steps`` (the longest completed curve)."""

    spent: int
    full: int
    stopped: int
    saved: int
    full_steps: int

    def summary(self) -> Dict[str, int]:
        return {"spent": self.spent, "by_full_trials": self.full, "by_pruned_trials": self.stopped,
                "saved_by_pruning": self.saved}


def step_spending(curves: Mapping[int, Curve], completed: Collection[int], pruned: Collection[int]) -> StepSpending:
    """A sweep's step account from its curves (one step per reported point; a continued
    configuration's whole curve under its last trial, :func:`continued_curves`, so that a paused
    trial that was continued saved nothing)."""
    lengths = {number: len(curve) for number, curve in curves.items()}
    full_steps = max((lengths.get(n, 0) for n in completed), default=0)
    return StepSpending(
        spent=sum(lengths.values()),
        full=sum(lengths.get(n, 0) for n in completed),
        stopped=sum(lengths.get(n, 0) for n in pruned),
        saved=sum(max(0, full_steps - lengths[n]) for n in pruned if n in lengths),
        full_steps=full_steps,
    )
