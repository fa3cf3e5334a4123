"""Resume and warm start: what an earlier run, or an earlier sweep, already knows.

A sweep dir holds one sweep: :func:`open_sweep_dir` reads the trials an earlier run of the
same sweep journaled (refusing a sweep over another space or of another objective, naming what
differs), or moves them aside when the sweep starts afresh, and writes the space file.
:func:`recover_unrecorded` journals the jobs an earlier run launched that finished but were
never journaled (a sweeper killed while they ran), and names those that did not finish.
:func:`replay` tells the model what the journal and the warm-start journals hold, through the
same :class:`..search.feed.ModelFeed` rule the running sweep tells it by.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import SweeperConfigError
from ..problem.search_space import SearchSpace
from ..records.journal import FAILED, Journal, Trial, format_values, read_trials
from ..records.outcomes import read_outcome
from ..records.sweep_dir import SweepDir, atomic_write_text
from ..search.feed import ModelFeed, returned_together, told_loss
from .recording import Recorder
from .scheduler import Launch, reserved, unrecorded

log = logging.getLogger(__name__)

# settings that give the journal's values their meaning; a resume must keep them
_OBJECTIVE_FIELDS = ("maximize", "monitor")


def open_sweep_dir(journal: Journal, description: Dict[str, Any],
                   start_afresh_because: Optional[str] = None) -> List[Trial]:
    """The trials an earlier run of this sweep left in ``journal``, then the space file written.

    ``description`` (``params``: the space's description, ``pinned``: the command line's pins,
    ``maximize``, ``monitor``, ``n_calls``) must match the one the earlier run wrote, but for ``n_calls``. With
    ``start_afresh_because`` (a reason, for the log) an earlier journal is moved aside instead
    and no trial is returned.

    Raises
    ------
    SweeperConfigError
        The sweep dir holds a sweep over another space, with other pins, or of another objective.
    """
    sweep_dir = journal.path.parent
    sweep_dir.mkdir(parents=True, exist_ok=True)
    space_file = SweepDir(sweep_dir).space
    trials: List[Trial] = []
    if journal.exists():
        if start_afresh_because is None:
            previous = json.loads(space_file.read_text()) if space_file.is_file() else None
            if previous is not None:
                _refuse_other_pins(previous.get("pinned", {}), description.get("pinned", {}), sweep_dir)
                _refuse_other_space(previous.get("params", {}), description["params"], sweep_dir)
                _refuse_other_objective(previous, description, sweep_dir)
            trials = journal.read()
        else:
            aside = journal.path.with_name(f"trials.{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
            journal.path.rename(aside)
            log.warning("%s: moved the earlier journal to %s and started afresh", start_afresh_because, aside)
    atomic_write_text(space_file, json.dumps(description, indent=1) + "\n")
    return trials


def _refuse_other_pins(previous: Mapping[str, str], current: Mapping[str, str], sweep_dir: Path) -> None:
    """A pinned key's journaled trials ran at the pinned value: another pin is another sweep."""
    differences = [f"{key} is pinned now ({now!r}), it was not then" if before is None
                   else f"{key} was pinned then ({before!r}), it is not now" if now is None
                   else f"{key} was pinned to {before!r} then, to {now!r} now"
                   for key, before, now in _changed(previous, current)]
    if differences:
        raise SweeperConfigError(
            f"hydra.sweep.dir={sweep_dir} holds a sweep with other command-line pins ("
            + "; ".join(differences)
            + "): its trials ran with other values. Give the same pins as that run, use a new "
            "hydra.sweep.dir, or set hydra.sweeper.resume=false to move the old journal aside"
        )


def _refuse_other_space(previous: Mapping[str, Any], current: Mapping[str, Any], sweep_dir: Path) -> None:
    if dict(previous) == dict(current):
        return
    differences = []
    for name, before, now in _changed(previous, current):
        if before is None:
            differences.append(f"{name} is new")
        elif now is None:
            differences.append(f"{name} is no longer searched")
        else:
            changed = {k: (before.get(k), now.get(k)) for k in set(before) | set(now) if before.get(k) != now.get(k)}
            differences.append(f"{name}: " + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in sorted(changed.items())))
    raise SweeperConfigError(
        f"hydra.sweep.dir={sweep_dir} holds a sweep over a different search space ("
        + "; ".join(differences)
        + "). Use a new hydra.sweep.dir, restore the old space, or set hydra.sweeper.resume=false "
        "to move the old journal aside"
    )


def _changed(previous: Mapping[str, Any], current: Mapping[str, Any]) -> List[Tuple[str, Any, Any]]:
    """``(key, then, now)`` for each key whose value differs (None where absent), sorted."""
    return [(key, previous.get(key), current.get(key)) for key in sorted(set(previous) | set(current))
            if previous.get(key) != current.get(key)]


def _refuse_other_objective(previous: Mapping[str, Any], current: Mapping[str, Any], sweep_dir: Path) -> None:
    """The journal's values mean what they meant: the same direction and the same metric."""
    changed = [f"{name} {previous[name]!r} -> {current[name]!r}" for name in _OBJECTIVE_FIELDS
               if name in previous and previous[name] != current[name]]
    if changed:
        raise SweeperConfigError(
            f"hydra.sweep.dir={sweep_dir} holds a sweep of another objective (hydra.sweeper."
            + ", hydra.sweeper.".join(changed)
            + "): its values cannot be resumed. Use a new hydra.sweep.dir, restore the old "
            "setting, or set hydra.sweeper.resume=false to move the old journal aside"
        )


def recover_unrecorded(record: Recorder, recover: bool = True) -> List[Trial]:
    """The jobs an earlier run launched and never journaled: each one that finished with a
    value (it left its outcome, and its reservation its params) is journaled now, not run
    again; the others were running when that run stopped (on a cluster they may still run), or
    ended without a value, and are named in a warning. No number of either kind is reused. With ``recover`` false (a sweep that starts
    afresh: the jobs belong to the journal it moved aside) none is journaled or named."""
    if not recover:
        return []
    outcomes = record.files.outcomes
    recovered: List[Trial] = []
    running: List[int] = []
    for number in unrecorded(outcomes, [t.number for t in record.trials]):
        reservation = reserved(outcomes, number) or {}
        params = reservation.get("params")
        if params is not None and reservation.get("in_process") and read_outcome(outcomes, number) is None:
            # it ran in the sweeper's process (Hydra's basic launcher) and never returned
            trial = Trial(number, params, None, FAILED,
                          "the sweeper's process ended while this trial ran in it (under "
                          "hydra/launcher=basic): the trial called os._exit, crashed, or the "
                          "sweeper was killed")
            recovered.append(trial)
            log.warning("#%d was running in the sweeper's own process when it ended: recorded as "
                        "failed, not run again (a trial that ends its process takes the sweep "
                        "with it under the basic launcher; the joblib launcher isolates it)", number)
            continue
        if params is None or read_outcome(outcomes, number) is None:
            running.append(number)
            continue
        trial = record.trial(Launch(number, None, params, []), None, None)
        if trial.failed:  # nothing to keep: it runs again, as a trial the interrupt stopped
            running.append(number)
            continue
        recovered.append(trial)
        shown = (format_values(trial.values) if trial.values is not None
                 else "no value" if trial.value is None else f"{trial.value:.6g}")
        log.info("#%d finished after the earlier run stopped: recorded from the outcome it left "
                 "(%s, %s), not run again", number, trial.status, shown)
    record.add(recovered)
    if running:
        log.warning("Job(s) %s were launched by an earlier run and never recorded: they were "
                    "running when it stopped (on a cluster they may still run), or ended without "
                    "a value; their numbers and job dirs are not reused, and they run again",
                    ", ".join(f"#{n}" for n in running))
    return recovered


def replay(feed: ModelFeed, space: SearchSpace, trials: Sequence[Trial], warm_start: Sequence[str],
           allowed: Optional[Callable[[List[Any]], bool]] = None, journal: Optional[Path] = None) -> None:
    """Tell the model the warm-start journals' trials, then this sweep's, as they returned.

    A warm-start trial is told by its value alone (failed ones, and those outside the current
    space or constraint ``allowed``, are skipped); this sweep's trials are told as the running
    sweep told them (:class:`..search.feed.ModelFeed`), batch by batch. A warm-start path that is this
    sweep's own ``journal`` is skipped: the resume tells its trials already.
    """
    for path in warm_start:
        if journal is not None and _same_file(Path(path), journal):
            log.info("hydra.sweeper.warm_start: %s is this sweep's own journal, which the resume "
                     "reads already; not told twice", path)
            continue
        _warm_start_from(feed, space, Path(path), allowed)
    for group in returned_together(trials):
        told = []
        for trial in group:
            try:
                told.append((space.to_point(trial.params), trial))
            except ValueError as error:  # the space was checked; a hand-edited journal can differ
                log.warning("Journal trial #%d does not fit the space (%s); not told to the GP",
                            trial.number, error)
        feed.returned(told)


def _same_file(path: Path, other: Path) -> bool:
    try:
        return path.samefile(other)
    except OSError:
        return False


def _warm_start_from(feed: ModelFeed, space: SearchSpace, path: Path,
                     allowed: Optional[Callable[[List[Any]], bool]]) -> None:
    if not path.is_file():
        raise SweeperConfigError(f"hydra.sweeper.warm_start: {path} is not a file")
    points, losses, metrics, skipped = [], [], [], 0
    trials = read_trials(path)
    # a paused trial whose continuation returned a value: the continuation speaks for the point
    superseded = {t.continues for t in trials if t.continues is not None and told_loss(t, feed.objectives) is not None}
    for trial in trials:
        loss = told_loss(trial, feed.objectives)
        if loss is None or trial.number in superseded:
            skipped += 1
            continue
        try:
            point = space.to_point(trial.params)
        except ValueError:
            skipped += 1
            continue
        if allowed is not None and not allowed(point):
            skipped += 1
            continue
        points.append(point)
        losses.append(loss)
        metrics.append(trial.metrics)
    feed.tell(points, losses, metrics)
    log.info("Warm start from %s: %d trial(s) told to the GP, %d skipped (failed, or "
             "outside the current space or constraint)", path, len(points), skipped)
