"""What a job leaves for the sweeper: what its task returned, and its outcome file.

A job's task returns a :class:`TimedReturn` through the launcher; the same outcome (the value
or values read, or the error, the duration and the job dir) is also left in
``SWEEP_DIR/.outcomes/<job number>.json`` before the job returns (:func:`write_outcome`), so a
batch the launcher loses (a worker killed, out of memory) is not lost: the sweeper reads it back
with :func:`read_outcome`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from .sweep_dir import atomic_write_text, outcome_file


@dataclass
class TimedReturn:
    """A task function's return value and the seconds the call took, measured in the job;
    ``pruned_step``: the step at which ``pruning.report`` stopped the trial, if it did."""

    value: Any
    duration_s: float
    pruned_step: Optional[int] = None


def write_outcome(outcomes_dir: Path, job_number: int, outcome: Dict[str, Any]) -> None:
    """Leave job ``job_number``'s outcome, whole or not at all (written aside, then renamed)."""
    atomic_write_text(outcome_file(outcomes_dir, job_number), json.dumps(outcome))


def read_outcome(outcomes_dir: Path, job_number: int) -> Optional[Dict[str, Any]]:
    """The outcome a job left (:class:`..trial.task.TimedTask` writes it), or None when it left none."""
    path = outcome_file(outcomes_dir, job_number)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
